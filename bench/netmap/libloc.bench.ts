/**
 * @module bench/netmap/libloc
 * Figure 2 (issue 9): a network map of the whole Internet from Debian's libloc database
 * (`libloc-database`, about 1.29 million networks), one PID per origin AS or per country, built
 * through the config path an operator uses (docs/libloc.md).
 *
 *   node --import tsx --expose-gc bench/netmap/libloc.bench.ts [--quick] [--reps 5] [--db FILE]
 *
 * Each repetition runs in a fresh child process that loads a config file with `loadNetwork` (YAML,
 * reading the database, the PIDs, `NetworkMap.fromPrefixes`, the lookup tables): its time, and the
 * peak resident set size (`process.resourceUsage().maxRSS`) of the process at that point, when it
 * has done nothing but build. Then, in the same child: longest-prefix-match lookups/s on one core
 * through `NetworkMap.lookupIndex` (random IPv4 addresses, and addresses drawn from the map's own
 * networks, IPv4 and IPv6: what a server sees), and the full map body: its text from
 * `map.toBodyParts()`, then bytes + SHA-256 ETag + gzip (`prepareBody`), then the text again as the
 * server makes it today, `JSON.stringify(map.toBody())`. Last, the real server (`alto serve
 * --config`) is started once per repetition and timed to its listening line: that includes
 * preparing the full map body, which the server does eagerly. Figures are medians over
 * repetitions. `--quick` (a few seconds): one repetition of the default variant, fewer lookups, no
 * JSON.stringify path, no baseline, no server start.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { figure, quick, writeReport, type Figure } from '../lib/report.ts'
import type { LibLocMapOptions } from '../../src/provisioning/libloc-map.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const self = fileURLToPath(import.meta.url)
const DEFAULT_DB = '/usr/share/libloc-location/location.db'

const GOALS = { buildMs: 5000, maxRssMb: 300, lookupsM: 5 }

/** The configs measured: the `libloc:` options of one network map. */
const VARIANTS: { id: string; name: string; options: LibLocMapOptions }[] = [
  { id: 'as', name: 'PID per AS', options: { pid: 'asn', defaultPid: 'unknown', catchAll: true } },
  { id: 'as-all', name: 'PID per AS, every network', options: { pid: 'asn', defaultPid: 'unknown', catchAll: true, aggregate: false } },
  { id: 'country', name: 'PID per country', options: { pid: 'country', defaultPid: 'unknown', catchAll: true } },
]

function configText(id: string, db: string, options: LibLocMapOptions): string {
  const lines = [`file: ${db}`, `pid: ${options.pid}`]
  if (options.defaultPid !== undefined) lines.push(`default-pid: ${options.defaultPid}`)
  if (options.catchAll !== undefined) lines.push(`catch-all: ${options.catchAll}`)
  if (options.aggregate !== undefined) lines.push(`aggregate: ${options.aggregate}`)
  return `network-maps:\n  - id: world-${id}\n    libloc:\n${lines.map((l) => `      ${l}\n`).join('')}`
}

interface ChildResult {
  buildMs: number
  /** CPU time of the build, all threads (GC helpers included). */
  buildCpuMs: number
  maxRssMb: number
  rssMb: number
  heapMb: number
  pids: number
  prefixes: { ipv4: number; ipv6: number }
  networks: number
  lookups: Record<string, { cpu: number; wall: number }> // kind -> M/s per CPU second and per wall second
  body: { partsMs: number; partsMaxRssMb: number; prepareMs: number; bytes: number; gzipBytes: number; jsonMs?: number; jsonMaxRssMb?: number }
  phases: Record<string, number> // a second, warm build split by phase, ms
}

// ---------------------------------------------------------------------------------------------
// Child: build once, then measure lookups and the body.

/** `full`: also the JSON.stringify path of the body and the warm, phase by phase build (slow). */
async function child(config: string, variant: (typeof VARIANTS)[number], db: string, lookups: number, full: boolean): Promise<void> {
  const { loadNetwork } = await import('../../src/provisioning/load.ts')
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  const loaded = loadNetwork({ config })
  const buildMs = performance.now() - t0
  const cpu = process.cpuUsage(c0)
  const maxRssMb = process.resourceUsage().maxRSS / 1024 // kB on Linux
  global.gc?.()
  const memory = process.memoryUsage()
  const map = loaded.snapshot.defaultNetworkMap
  const set = loaded.config.network.networkMaps[0]!.prefixes!

  const rng = xorshift(0x9e3779b9)
  const result: ChildResult = {
    buildMs,
    buildCpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMb,
    rssMb: memory.rss / 2 ** 20,
    heapMb: memory.heapUsed / 2 ** 20,
    pids: map.pids.length,
    prefixes: map.prefixCounts,
    networks: 0,
    lookups: {},
    body: { partsMs: 0, partsMaxRssMb: 0, prepareMs: 0, bytes: 0, gzipBytes: 0 },
    phases: {},
  }
  // Addresses in one flat array, copied into one reused buffer per lookup: an address just parsed
  // from a request is in cache, a million separate arrays would not be.
  const randomV4 = new Uint8Array(4 * lookups)
  for (let i = 0; i < randomV4.length; i++) randomV4[i] = rng() & 0xff
  result.lookups['random-v4'] = lookupRate(map, 'ipv4', randomV4, 4)
  result.lookups['sampled-v4'] = lookupRate(map, 'ipv4', sampled(set.ipv4!, 4, lookups, rng), 4)
  result.lookups['sampled-v6'] = lookupRate(map, 'ipv6', sampled(set.ipv6!, 16, lookups, rng), 16)

  // The text of the full body, two ways: from the tries in parts (no prefix strings kept), then
  // JSON.stringify(map.toBody()) (formats and keeps a string per prefix), as the server does today.
  const { prepareBody } = await import('../../src/server/prepared-body.ts')
  const t1 = performance.now()
  const text = [...map.toBodyParts()].join('')
  const t2 = performance.now()
  const partsMaxRssMb = process.resourceUsage().maxRSS / 1024
  const body = prepareBody(text)
  const gzip = await body.gzip
  const t3 = performance.now()
  result.body = { partsMs: t2 - t1, partsMaxRssMb, prepareMs: t3 - t2, bytes: body.bytes.length, gzipBytes: gzip?.length ?? 0 }
  const { LibLocDatabase } = await import('../../src/provisioning/libloc.ts')
  result.networks = LibLocDatabase.fromBytes(readFileSync(db)).networkCount
  if (!full) {
    process.stdout.write(`${JSON.stringify(result)}\n`)
    return
  }
  const t4 = performance.now()
  const json = JSON.stringify(map.toBody())
  result.body.jsonMs = performance.now() - t4
  if (json !== text) throw new Error('toBodyParts and JSON.stringify(toBody()) differ')
  result.body.jsonMaxRssMb = process.resourceUsage().maxRSS / 1024

  // Where the build time goes: the same steps again, one by one (warm: JIT compiled, file cached).
  const { libLocPrefixes } = await import('../../src/provisioning/libloc-map.ts')
  const { NetworkMap } = await import('../../src/netmap/network-map.ts')
  let t = performance.now()
  const lap = (name: string) => {
    const now = performance.now()
    result.phases[name] = now - t
    t = now
  }
  const bytes = readFileSync(db)
  lap('read file')
  const database = LibLocDatabase.fromBytes(bytes)
  const { set: again } = libLocPrefixes(database, variant.options)
  lap('walk tree + PIDs')
  NetworkMap.fromPrefixes('again', again)
  lap('NetworkMap.fromPrefixes')
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return x >>> 0
  }
}

/** `count` addresses, each inside a prefix of the map drawn at random (host bits random). */
function sampled(columns: { bytes: Uint8Array; lengths: Uint8Array }, width: number, count: number, rng: () => number): Uint8Array {
  const out = new Uint8Array(width * count)
  const n = columns.lengths.length
  for (let i = 0; i < count; i++) {
    const j = rng() % n
    const length = columns.lengths[j]!
    for (let b = 0; b < width; b++) {
      const host = 0xff >>> Math.max(0, Math.min(8, length - 8 * b)) // host bits of this byte
      out[width * i + b] = (columns.bytes[width * j + b]! & ~host) | (rng() & host)
    }
  }
  return out
}

/**
 * Millions of lookups per CPU second and per wall second: medians of 5 passes over the addresses.
 * The loop allocates nothing, so the process's CPU time is this thread's: on a shared machine it
 * says what one core does, where wall time also counts the time other processes had the core.
 */
function lookupRate(map: { lookupIndex(family: 'ipv4' | 'ipv6', bytes: Uint8Array): number }, family: 'ipv4' | 'ipv6', flat: Uint8Array, width: number): { cpu: number; wall: number } {
  const buffer = new Uint8Array(width)
  const count = flat.length / width
  const cpu: number[] = []
  const wall: number[] = []
  let sink = 0
  for (let pass = 0; pass < 5; pass++) {
    const t0 = performance.now()
    const c0 = process.cpuUsage()
    for (let i = 0; i < count; i++) {
      for (let b = 0; b < width; b++) buffer[b] = flat[i * width + b]!
      sink += map.lookupIndex(family, buffer)
    }
    const used = process.cpuUsage(c0)
    wall.push(count / (performance.now() - t0) / 1000)
    cpu.push(count / ((used.user + used.system) / 1000) / 1000)
  }
  if (sink === 0.5) console.log(sink) // keep the loop's result alive
  const mid = (xs: number[]) => xs.sort((a, b) => a - b)[2]!
  return { cpu: mid(cpu), wall: mid(wall) }
}

// ---------------------------------------------------------------------------------------------
// Parent: configs, children, figures.

function runChild(config: string, variant: string, db: string, lookups: number, full: boolean): ChildResult {
  const args = ['--child', variant, '--config', config, '--db', db, '--lookups', String(lookups), ...(full ? ['--full'] : [])]
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', self, ...args], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    timeout: 300_000,
  })
  if (run.status !== 0) throw new Error(`child failed (${run.status ?? run.signal}):\n${run.stderr}`)
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as ChildResult
}

/** Start `alto serve --config`; time to its listening line, and its RSS and peak RSS then (Linux /proc). */
function serveStartup(config: string): Promise<{ ms: number; rssMb: number; peakMb: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const server = spawn(process.execPath, ['bin/alto.js', 'serve', '--config', config, '--port', '0', '--log-level', 'warn'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    const timer = setTimeout(() => server.kill('SIGKILL'), 120_000)
    server.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err = (err + chunk).slice(-4000)))
    server.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      if (!out.includes('listening on ')) return
      const ms = performance.now() - t0
      const status = readFileSync(`/proc/${server.pid}/status`, 'utf8')
      const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN)
      clearTimeout(timer)
      server.kill('SIGTERM')
      resolve({ ms, rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 })
    })
    server.once('exit', (code, signal) => {
      clearTimeout(timer)
      if (!out.includes('listening on ')) reject(new Error(`alto serve exited (${code ?? signal}) before listening:\n${err}`))
    })
  })
}

async function parent(): Promise<void> {
  const { values: flags } = parseArgs({ options: { quick: { type: 'boolean' }, reps: { type: 'string' }, db: { type: 'string' } } })
  const db = flags.db ?? DEFAULT_DB
  if (!existsSync(db)) {
    process.stderr.write(`libloc bench: ${db} is missing; install it with: apt-get install libloc-database\n`)
    process.exit(1)
  }
  const reps = Number(flags.reps ?? (quick ? 1 : 5))
  const lookups = quick ? 300_000 : 2_000_000
  const variants = quick ? VARIANTS.slice(0, 1) : VARIANTS
  const dir = mkdtempSync(join(tmpdir(), 'alto-libloc-bench-'))
  const started = performance.now()
  const figures: Figure[] = []
  if (!quick) {
    const baseline = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', self, '--baseline'], { cwd: root, encoding: 'utf8', timeout: 60_000 })
    if (baseline.status !== 0) throw new Error(`baseline child failed: ${baseline.stderr}`)
    figures.push(figure('libloc.baseline.max-rss', 'baseline: peak RSS of node + tsx + the modules, no map', 'MB', [(JSON.parse(baseline.stdout) as { maxRssMb: number }).maxRssMb]))
  }
  const summary: string[] = []
  const notes: string[] = []
  try {
    for (const variant of variants) {
      const config = join(dir, `${variant.id}.yaml`)
      writeFileSync(config, configText(variant.id, db, variant.options))
      const results: ChildResult[] = []
      for (let r = 0; r < reps; r++) results.push(runChild(config, variant.id, db, lookups, !quick))
      const startups = quick ? [] : await sequential(reps, () => serveStartup(config))
      const first = results[0]!
      const v = variant.id
      const of = (pick: (r: ChildResult) => number) => results.map(pick)
      const goal = (f: Figure, text: string, met: (value: number) => boolean): Figure => ({ ...f, goal: text, met: met(f.value) })
      const prefixes = first.prefixes.ipv4 + first.prefixes.ipv6
      const add = (...fs: Figure[]) => figures.push(...fs)
      add(
        goal(figure(`libloc.${v}.build`, `${variant.name}: build through the config path`, 'ms', of((r) => r.buildMs)), `< ${GOALS.buildMs} ms`, (x) => x < GOALS.buildMs),
        figure(`libloc.${v}.build.cpu`, `${variant.name}: build, CPU time (all threads)`, 'ms', of((r) => r.buildCpuMs)),
        goal(figure(`libloc.${v}.max-rss`, `${variant.name}: peak RSS of a process that only built`, 'MB', of((r) => r.maxRssMb)), `< ${GOALS.maxRssMb} MB`, (x) => x < GOALS.maxRssMb),
        figure(`libloc.${v}.rss`, `${variant.name}: RSS after the build (after GC)`, 'MB', of((r) => r.rssMb)),
        figure(`libloc.${v}.pids`, `${variant.name}: PIDs`, 'PIDs', [first.pids]),
        figure(`libloc.${v}.prefixes`, `${variant.name}: prefixes (IPv4 + IPv6)`, 'prefixes', [prefixes]),
      )
      for (const kind of ['random-v4', 'sampled-v4', 'sampled-v6']) {
        add(
          goal(figure(`libloc.${v}.lookups.${kind}`, `${variant.name}: lookupIndex, ${kind}, per CPU second`, 'M/s', of((r) => r.lookups[kind]!.cpu)), `> ${GOALS.lookupsM} M/s`, (x) => x > GOALS.lookupsM),
          figure(`libloc.${v}.lookups.${kind}.wall`, `${variant.name}: lookupIndex, ${kind}, per wall second`, 'M/s', of((r) => r.lookups[kind]!.wall)),
        )
      }
      add(
        figure(`libloc.${v}.body.parts`, `${variant.name}: body text by map.toBodyParts()`, 'ms', of((r) => r.body.partsMs)),
        figure(`libloc.${v}.body.parts.max-rss`, `${variant.name}: peak RSS after toBodyParts`, 'MB', of((r) => r.body.partsMaxRssMb)),
        figure(`libloc.${v}.body.prepare`, `${variant.name}: prepareBody (bytes, ETag, gzip)`, 'ms', of((r) => r.body.prepareMs)),
        figure(`libloc.${v}.body.bytes`, `${variant.name}: full map body`, 'MB', [first.body.bytes / 2 ** 20]),
        figure(`libloc.${v}.body.gzip`, `${variant.name}: full map body, gzip`, 'MB', [first.body.gzipBytes / 2 ** 20]),
      )
      if (!quick) {
        add(
          figure(`libloc.${v}.body.json`, `${variant.name}: body text by JSON.stringify(map.toBody())`, 'ms', of((r) => r.body.jsonMs!)),
          figure(`libloc.${v}.body.json.max-rss`, `${variant.name}: peak RSS after also JSON.stringify(toBody())`, 'MB', of((r) => r.body.jsonMaxRssMb!)),
        )
      }
      if (startups.length > 0) {
        add(
          figure(`libloc.${v}.serve.startup`, `${variant.name}: alto serve --config, spawn to listening`, 'ms', startups.map((s) => s.ms)),
          figure(`libloc.${v}.serve.rss`, `${variant.name}: alto serve RSS when listening`, 'MB', startups.map((s) => s.rssMb)),
          figure(`libloc.${v}.serve.peak`, `${variant.name}: alto serve peak RSS when listening`, 'MB', startups.map((s) => s.peakMb)),
        )
      }
      const phases = Object.entries(first.phases).map(([k, ms]) => `${k} ${ms.toFixed(0)} ms`).join(', ')
      if (phases) notes.push(`${variant.name}: a second, warm build in the first child took ${phases}.`)
      summary.push(`${variant.name}: ${first.networks.toLocaleString('en')} networks -> ${first.pids.toLocaleString('en')} PIDs, ${first.prefixes.ipv4.toLocaleString('en')} IPv4 + ${first.prefixes.ipv6.toLocaleString('en')} IPv6 prefixes`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  notes.push(
    'Build time is measured inside the child, from loadNetwork to the snapshot; Node and tsx start-up (about 0.5 s) are not in it but are in the peak RSS.',
    'Lookups: one thread, addresses copied from a flat array into one reused buffer per lookup; "sampled" addresses lie inside the map\'s own networks (random host bits). The goal is judged per CPU second (what one core does, even on a shared machine); per wall second is given too.',
    'alto serve prepares the full map body (JSON.stringify(map.toBody()), ETag, gzip) before it listens, so its start-up includes those figures; toBodyParts gives the same bytes.',
    `${reps} repetition(s), medians; the machine may be shared, so times vary between runs.`,
  )
  const method = 'Each repetition builds the map through loadNetwork (YAML config with a libloc: network map) in a fresh child process and reports the time and peak RSS when built, then lookups/s through NetworkMap.lookupIndex and the full map body serialization; medians over repetitions.'
  writeReport({ bench: 'netmap/libloc', method, figures, notes })
  print(summary, figures, notes, performance.now() - started)
}

async function sequential<T>(count: number, task: () => Promise<T>): Promise<T[]> {
  const out: T[] = []
  for (let i = 0; i < count; i++) out.push(await task())
  return out
}

function print(summary: string[], figures: Figure[], notes: string[], elapsedMs: number): void {
  const lines = [`libloc network map bench (node ${process.version}${quick ? ', quick' : ''})`, ...summary.map((s) => `  ${s}`), '']
  const width = Math.max(...figures.map((f) => f.name.length))
  for (const f of figures) {
    const value = f.unit === 'M/s' || f.unit === 'MB' ? f.value.toFixed(1) : Math.round(f.value).toLocaleString('en')
    const goal = f.goal === undefined ? '' : `  goal ${f.goal}: ${f.met ? 'met' : 'NOT MET'}`
    lines.push(`  ${f.name.padEnd(width)}  ${value.padStart(10)} ${f.unit}${goal}`)
  }
  lines.push('', ...notes.map((n) => `  - ${n}`), '', `done in ${(elapsedMs / 1000).toFixed(1)} s`)
  process.stdout.write(`${lines.join('\n')}\n`)
}

if (process.argv.includes('--baseline')) {
  // What a process that loads the same modules but builds nothing holds: the floor of the RSS figures.
  await import('../../src/provisioning/load.ts')
  global.gc?.()
  process.stdout.write(`${JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`)
} else if (process.argv.includes('--child')) {
  const { values: flags } = parseArgs({ options: { child: { type: 'string' }, config: { type: 'string' }, db: { type: 'string' }, lookups: { type: 'string' }, full: { type: 'boolean' } } })
  const variant = VARIANTS.find((v) => v.id === flags.child)!
  await child(flags.config!, variant, flags.db!, Number(flags.lookups), flags.full === true)
} else {
  await parent()
}
