/**
 * @module cli/build-map
 * `alto build-map`: MRT routing dumps in, an RFC 7285 network map out (buildNetworkMapFromMrt),
 * with a summary on stderr (or as JSON on stdout) and a progress bar on a terminal.
 */
import { statSync, writeFileSync } from 'node:fs'
import { InvalidArgumentError, type Command } from 'commander'
import { parseAddress } from '../netmap/address.ts'
import { isValidResourceId } from '../protocol/names.ts'
import { NetworkMapError } from '../netmap/network-map.ts'
import { buildNetworkMapFromMrt, type BuildMapResult } from '../provisioning/mrt/build-map.ts'
import type { MrtWarning } from '../provisioning/mrt/reader.ts'
import { loadRulesFile, ORIGIN_AS_RULES, type RuleSet } from '../provisioning/rules.ts'
import { EXIT, ExitError } from './exit.ts'
import { collect } from './options.ts'

interface BuildMapFlags {
  mrt: string[]
  rules?: string
  id?: string
  output: string
  json?: boolean
  strict?: boolean
  progress?: boolean
  peer?: string[]
}

/** Warnings printed one by one; the rest are counted. */
const WARNINGS_SHOWN = 20

function collectAddress(value: string, previous: string[] = []): string[] {
  const address = parseAddress(value.includes(':') ? 'ipv6' : 'ipv4', value)
  if (!address) throw new InvalidArgumentError('an IPv4 or IPv6 address, e.g. 192.0.2.1 or 2001:db8::1')
  return collect(address.text, previous)
}

function parseId(value: string): string {
  if (!isValidResourceId(value)) throw new InvalidArgumentError('a resource id is 1-64 characters of A-Z a-z 0-9 - : @ _ (RFC 7285 §10.2)')
  return value
}

export function registerBuildMap(program: Command): Command {
  return program
    .command('build-map')
    .description('Build an RFC 7285 network map from MRT routing dumps (RIB snapshots, BGP updates) and PID rules')
    .requiredOption('--mrt <file>', 'MRT file: TABLE_DUMP_V2, TABLE_DUMP or BGP4MP, plain, .gz or .bz2 (- for standard input); repeat for several, read in order', collect)
    .option('--rules <file>', 'YAML rules turning routes into PIDs (docs/mrt.md); default: one PID per origin AS (as<N>), the rest in "default"')
    .option('--peer <address>', 'use only routes from this peer (repeatable); default: every peer in the dumps', collectAddress)
    .option('--id <resource-id>', 'resource id of the map (default: the rules\' network-map, else "network-map")', parseId)
    .requiredOption('-o, --output <file>', 'where to write the network map body (JSON)')
    .option('--json', 'print the summary as JSON on stdout instead of text on stderr')
    .option('--strict', 'fail (exit 1, no map written) when any record was corrupt or the input truncated')
    .option('--no-progress', 'no progress bar (it is shown only on a terminal, for inputs that take a while)')
    .addHelpText(
      'after',
      `
Routes are read in order: RIB entries and announcements add a route (per peer and ADD-PATH path),
withdrawals remove it. A prefix gets the PID of the earliest rule any of its routes matches; each
PID's prefixes are aggregated. Corrupt records are skipped with a warning (exit 0; 1 with --strict).

Examples:
  alto build-map --mrt rib.20240101.0000.bz2 -o network-map.json
  curl -s https://data.ris.ripe.net/rrc00/latest-bview.gz | alto build-map --mrt - --peer 192.0.2.1 -o map.json
  alto build-map --mrt rib.mrt --mrt updates.20240101.0005.gz --rules rules.yaml -o map.json --json

Exit status: 0 map written; 1 no route got a PID, or --strict and the input was damaged;
2 bad usage, unreadable files or an invalid rules file.`,
    )
    .action(async (flags: BuildMapFlags) => {
      if (flags.json && flags.output === '-') throw new ExitError(EXIT.usage, '--json prints the summary on stdout: write the map to a file with -o FILE')
      if (flags.mrt.filter((file) => file === '-').length > 1) throw new ExitError(EXIT.usage, 'standard input (--mrt -) can be read only once')
      const sizes = flags.mrt.map((file) => (file === '-' ? 0 : fileSize(file)))
      const sources = flags.mrt.map((file) => (file === '-' ? process.stdin : file))
      const names = new Map<unknown, string>(sources.map((source, i) => [source, flags.mrt[i] === '-' ? 'stdin' : flags.mrt[i]!]))
      const rules = flags.rules ? loadRulesFile(flags.rules) : ORIGIN_AS_RULES
      const warnings: string[] = []
      let warningCount = 0
      const progress = flags.progress !== false && process.stderr.isTTY ? new ProgressBar(sizes) : undefined
      const onWarning = (source: unknown, w: MrtWarning): void => {
        warningCount++
        if (warnings.length < WARNINGS_SHOWN) warnings.push(`${names.get(source)}: offset ${w.offset}: ${w.kind}: ${w.message}`)
      }
      let result: BuildMapResult
      try {
        result = await buildNetworkMapFromMrt(sources, {
          rules,
          ...(flags.id ? { resourceId: flags.id } : {}),
          ...(flags.peer ? { peers: flags.peer } : {}),
          onWarning,
          onProgress: (p) => progress?.update(p.source, p.inputBytes, p.entries),
        })
      } catch (error) {
        if (error instanceof NetworkMapError) throw new ExitError(EXIT.failed, `no network map: ${error.message}`)
        throw error
      } finally {
        progress?.clear()
      }
      const damaged = result.input.total.corrupt + result.input.total.truncated > 0
      if (!flags.json) for (const w of warnings) process.stderr.write(`alto: warning: ${w}\n`)
      if (!flags.json && warningCount > warnings.length) process.stderr.write(`alto: … and ${warningCount - warnings.length} more warnings\n`)
      if (flags.strict && damaged) throw new ExitError(EXIT.failed, `the input is damaged (${result.input.total.corrupt} corrupt, ${result.input.total.truncated} truncated); no map written (--strict)`)

      const body = `${JSON.stringify(result.map.toBody(), null, 2)}\n`
      if (flags.output === '-') process.stdout.write(body)
      else writeFileSync(flags.output, body)

      const summary = {
        output: flags.output,
        resourceId: result.map.resourceId,
        vtag: result.map.vtag,
        rules: flags.rules ?? null,
        input: { files: flags.mrt.length, ...result.input.total },
        warnings: warningCount,
        ...result.summary,
      }
      if (flags.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
      else process.stderr.write(describeSummary(summary, rules))
    })
}

function fileSize(file: string): number {
  try {
    const stat = statSync(file)
    if (!stat.isFile()) throw new ExitError(EXIT.usage, `${file} is not a file`)
    return stat.size
  } catch (error) {
    if (error instanceof ExitError) throw error
    const code = (error as NodeJS.ErrnoException).code
    throw new ExitError(EXIT.usage, `cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(error))}`)
  }
}

const n = (v: number): string => v.toLocaleString('en-US')

type Summary = { output: string; resourceId: string; vtag: string; input: BuildMapResult['input']['total'] & { files: number } } & BuildMapResult['summary']

function describeSummary(s: Summary, rules: RuleSet): string {
  const i = s.input
  const to = [rules.pidPerOriginAs ? 'as<N> PIDs' : '', rules.defaultPid === undefined ? '' : `"${rules.defaultPid}"`].filter(Boolean).join(' or ')
  const left = s.droppedPrefixes === 0 ? '' : `${to ? ', ' : ''}${n(s.droppedPrefixes)} left out (no default-pid)`
  const unmatched = s.unmatchedPrefixes === 0 ? '' : ` (${to ? `to ${to}` : ''}${left})`
  const lines = [
    `wrote ${s.output === '-' ? 'the map to stdout' : s.output}: network map ${s.resourceId}, vtag ${s.vtag}`,
    `  read:     ${n(i.files)} file(s), ${n(i.records)} records: ${n(i.rib)} RIB entries, ${n(i.announce)} announcements, ${n(i.withdraw)} withdrawals`,
    `  skipped:  ${n(i.corrupt)} corrupt, ${n(i.truncated)} truncated, ${n(i.skippedBytes)} bytes resynchronized; ${n(i.ignored)} without routes, ${n(i.unsupported)} unsupported`,
    `  routes:   ${n(s.routes)} held after withdrawals, ${n(s.unmatchedRoutes)} matched no rule`,
    `  prefixes: ${n(s.prefixes)} distinct: ${n(s.matchedPrefixes)} by rules, ${n(s.unmatchedPrefixes)} unmatched${unmatched}`,
    `  map:      ${n(s.pids)} PIDs, ${n(s.mapPrefixes.ipv4)} IPv4 + ${n(s.mapPrefixes.ipv6)} IPv6 prefixes after aggregation`,
  ]
  s.byRule.forEach((r, index) => lines.push(`  rule ${index + 1}${r.line === undefined ? '' : ` (line ${r.line})`} -> ${r.pid}: ${n(r.prefixes)} prefixes`))
  return `${lines.join('\n')}\n`
}

/** A one-line progress bar on stderr, redrawn at most 10 times a second, shown after 0.5 s. */
class ProgressBar {
  readonly #sizes: readonly number[]
  readonly #total: number
  readonly #started = Date.now()
  #drawn = 0
  #visible = false

  constructor(sizes: readonly number[]) {
    this.#sizes = sizes
    this.#total = sizes.reduce((a, b) => a + b, 0)
  }

  update(source: number, inputBytes: number, entries: number): void {
    const now = Date.now()
    if (now - this.#started < 500 || now - this.#drawn < 100) return
    this.#drawn = now
    const done = this.#sizes.slice(0, source).reduce((a, b) => a + b, 0) + inputBytes
    const fraction = this.#total === 0 ? 1 : Math.min(1, done / this.#total)
    const width = 30
    const filled = Math.round(fraction * width)
    const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`
    const mb = (b: number): string => (b / 1e6).toFixed(1)
    process.stderr.write(`\r[${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ${mb(done)}/${mb(this.#total)} MB, ${n(entries)} routes, file ${source + 1}/${this.#sizes.length}\x1b[K`)
    this.#visible = true
  }

  clear(): void {
    if (this.#visible) process.stderr.write('\r\x1b[K')
    this.#visible = false
  }
}
