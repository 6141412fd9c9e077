/**
 * @module bench/run
 * `npm run bench`: every benchmark of issue 9, one after another, each in its own process (so
 * that one's memory and JIT state do not colour the next), then one table of all their figures
 * and bench/results.json (bench/results.quick.json with --quick).
 *
 *   npm run bench [-- --quick] [-- --only ecs,libloc] [-- --before <checkout>]
 *
 * `--quick` runs each benchmark briefly, to keep them working (CI runs it); its figures say
 * nothing about performance. `--before DIR` measures another checkout's server (a folder with
 * bin/alto.js and node_modules) alongside in the endpoint cost benchmark, to see a change in one
 * run. Method and reading: docs/performance.md.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, freemem, totalmem, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { BenchReport, Figure } from './lib/report.ts'

const root = fileURLToPath(new URL('..', import.meta.url))

interface Bench {
  name: string
  file: string
  about: string
  args?: string[]
  quickArgs?: string[]
}

const BENCHES: Bench[] = [
  { name: 'ecs', file: 'bench/http/ecs.bench.ts', about: 'figures 1 and 5: endpoint cost service over HTTP vs bare node:http; --workers 1 -> 2' },
  { name: 'libloc', file: 'bench/netmap/libloc.bench.ts', about: 'figure 2: network map from libloc-database (Internet-size)' },
  { name: 'cost-map', file: 'bench/server/cost-map.bench.ts', about: 'figure 3: filtered and full cost maps on 2,000 PIDs' },
  { name: 'tracker', file: 'bench/tracker/announce.bench.ts', about: 'figure 4: tracker announces/s vs stock bittorrent-tracker', args: ['--out', join(tmpdir(), 'alto-bench-tracker.json')] },
  { name: 'trie', file: 'bench/netmap/prefix-trie.bench.ts', about: 'prefix trie alone on synthetic tables (context for figure 2)' },
]

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    before: { type: 'string' },
    out: { type: 'string' },
  },
})
const quick = flags.quick!
const only = flags.only?.split(',').map((s) => s.trim())
const unknown = only?.filter((name) => !BENCHES.some((b) => b.name === name)) ?? []
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')} (known: ${BENCHES.map((b) => b.name).join(', ')})\n`)
  process.exit(2)
}
const outFile = flags.out ?? join(root, 'bench', quick ? 'results.quick.json' : 'results.json')
const selected = BENCHES.filter((b) => !only || only.includes(b.name))

const started = Date.now()
const dir = mkdtempSync(join(tmpdir(), 'alto-bench-'))
const reports: BenchReport[] = []
const failed: string[] = []
try {
  for (const bench of selected) {
    process.stdout.write(`\n=== ${bench.name}: ${bench.about}${quick ? ' (quick)' : ''}\n`)
    const reportFile = join(dir, `${bench.name}.json`)
    const before = bench.name === 'ecs' && flags.before ? ['--before', flags.before] : []
    const args = ['--expose-gc', '--import', 'tsx', bench.file, ...(quick ? ['--quick'] : []), ...(bench.args ?? []), ...before]
    const began = Date.now()
    const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ALTO_BENCH_REPORT: reportFile } })
    const seconds = ((Date.now() - began) / 1000).toFixed(0)
    let report: BenchReport | undefined
    try {
      report = JSON.parse(readFileSync(reportFile, 'utf8')) as BenchReport
    } catch {
      report = undefined
    }
    if (result.status !== 0 || !report) {
      failed.push(bench.name)
      process.stdout.write(`=== ${bench.name} FAILED (exit ${result.status ?? result.signal}, ${seconds} s)${report ? '' : ': no report'}\n`)
      continue
    }
    reports.push(report)
    process.stdout.write(`=== ${bench.name} done in ${seconds} s\n`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}

const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
  freeMemoryGiB: Number((freemem() / 2 ** 30).toFixed(1)),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
}
const results = { date: new Date().toISOString(), quick, machine, wallSeconds: Math.round((Date.now() - started) / 1000), failed, reports }
writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`)

process.stdout.write(`\n${formatTable(reports.flatMap((r) => r.figures))}\n`)
process.stdout.write(`\n${machine.cpus} x ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}; ${results.wallSeconds} s; wrote ${outFile}\n`)
if (quick) process.stdout.write('quick mode: each benchmark ran briefly to check it works; the figures are not measurements\n')
if (failed.length > 0) {
  process.stdout.write(`failed: ${failed.join(', ')}\n`)
  process.exit(1)
}

function formatTable(figures: Figure[]): string {
  const number = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2))
  const rows = [['figure', 'median', 'unit', 'baseline (same run)', 'ratio', 'goal', '']]
  for (const f of figures) {
    rows.push([
      f.name,
      number(f.value),
      f.unit,
      f.baseline ? `${f.baseline.name}: ${number(f.baseline.value)}` : '',
      f.ratio === undefined ? '' : `${f.ratio.toFixed(2)}x`,
      f.goal ?? '',
      f.met === undefined ? '' : f.met ? 'met' : 'NOT MET',
    ])
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)))
  return rows.map((r) => r.map((cell, c) => (c === 1 || c === 4 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n')
}
