/**
 * @module bench/server/cost-map
 * Figure 3 (issue 9): full and filtered cost maps of a 2,000-PID network (4 million pairs) served
 * by the real server over real HTTP on loopback.
 *
 *   node --import tsx bench/server/cost-map.bench.ts [--quick] [--pids 2000] [--reps 3]
 *     [--seconds 5] [--concurrency 4] [--connections 50] [--cpu-prof <dir>] [--root <checkout>]
 *
 * It writes a seeded synthetic network (bench/server/synthetic-network.ts) to a temporary folder
 * and starts `node bin/alto.js serve --config <file> --port 0` as a child process, then measures,
 * each figure a median over repetitions:
 *
 * - start-up: spawn to the `listening` line (config load, snapshot build, full-map bodies), the
 *   RSS then and its peak so far; the embedded default network's start-up is the baseline;
 * - the full numerical cost map GET: bytes identity and gzip, time to first and last byte of the
 *   first request after start-up (cold) and of later ones (warm);
 * - filtered cost maps, 10 sources x 100 destinations drawn at random per request, numerical and
 *   ordinal: latency p50/p99 of sequential requests on one keep-alive connection (undici), and
 *   requests/s with a few connections (wrk: a Node client would saturate its core first);
 * - ETag revalidation: GET with the current ETag in If-None-Match (answered 304), requests/s over
 *   50 connections (wrk).
 *
 * The server logs at `warn` and has its rate limit off (synthetic-network.ts says why). Every
 * child process is killed on the way out, whatever happens. `--cpu-prof <dir>` runs the server
 * under `node --cpu-prof` and prints where its time went; `--root` runs the server of another
 * checkout (e.g. `git worktree add ../before HEAD~1`) to compare versions on the same network.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { Client } from 'undici'
import { seededRng } from '../../src/cost/rank.ts'
import { figure, median, quick, versus, writeReport, type Figure } from '../lib/report.ts'
import { formatProfile, summarizeProfile } from '../tracker/profile-summary.ts'
import { startAltoServer, type AltoChild } from '../lib/alto-child.ts'
import { writeSyntheticNetwork } from './synthetic-network.ts'
import { luaString, runWrk } from '../lib/wrk.ts'

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    pids: { type: 'string' },
    reps: { type: 'string' },
    seconds: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    connections: { type: 'string', default: '50' },
    'cpu-prof': { type: 'string' },
    root: { type: 'string' },
  },
})

const settings = {
  pids: Number(flags.pids ?? (quick ? 200 : 2000)),
  reps: Number(flags.reps ?? (quick ? 1 : 3)),
  seconds: Number(flags.seconds ?? (quick ? 2 : 5)),
  concurrency: Number(flags.concurrency),
  connections: Number(flags.connections),
  warmGets: quick ? 2 : 5,
  srcs: 10,
  dsts: 100,
}
const cpuProfDir = flags['cpu-prof']
const serverRoot = flags.root

// Bound the whole run: a hung server or client must not hang CI.
const deadlineMs = (quick ? 60 : 30 * 60) * 1000
setTimeout(() => {
  process.stderr.write(`cost-map bench: gave up after ${deadlineMs / 1000} s\n`)
  process.exit(1)
}, deadlineMs).unref()

const FILTER_TYPE = 'application/alto-costmapfilter+json'
const FULL_PATH = '/costmap/costmap-num-routingcost'
const FILTERED_PATH = '/costmap/filtered-costmap'
const ACCEPT = 'application/alto-costmap+json,application/alto-error+json'

interface Timed {
  status: number
  ttfbMs: number
  ttlbMs: number
  bytes: number
  headers: Record<string, string | string[] | undefined>
  text?: string
}

/** One request on `client`, timed to the response head and to its last body byte. */
async function timedRequest(client: Client, options: { path: string; method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; keepText?: boolean }): Promise<Timed> {
  const t0 = performance.now()
  const res = await client.request({ path: options.path, method: options.method ?? 'GET', headers: options.headers, body: options.body })
  const ttfbMs = performance.now() - t0
  let bytes = 0
  const chunks: Buffer[] = []
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    bytes += chunk.length
    if (options.keepText) chunks.push(chunk)
  }
  const ttlbMs = performance.now() - t0
  const timed: Timed = { status: res.statusCode, ttfbMs, ttlbMs, bytes, headers: res.headers }
  if (options.keepText) timed.text = Buffer.concat(chunks).toString('utf8')
  return timed
}

function expectStatus(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${what}: HTTP ${got}, expected ${want}`)
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

// Every filtered request asks for other PIDs: a repeated question could be answered from a cache
// (server/answer-cache.ts), and this figure is about computing answers.
type Mode = 'numerical' | 'ordinal'

/** Filter requests of `srcs` x `dsts` distinct random PIDs, a new one per call. */
function filterBodies(pids: readonly string[], mode: Mode, seed: number): () => string {
  const rng = seededRng(seed)
  const pick = (n: number) => {
    const chosen = new Set<string>()
    while (chosen.size < Math.min(n, pids.length)) chosen.add(pids[Math.floor(rng() * pids.length)]!)
    return [...chosen]
  }
  return () => JSON.stringify({ 'cost-type': { 'cost-mode': mode, 'cost-metric': 'routingcost' }, pids: { srcs: pick(settings.srcs), dsts: pick(settings.dsts) } })
}

/** The same requests made by wrk: Lua defining `body()` (wrk.ts). */
function filterBodiesLua(pids: readonly string[], mode: Mode): string {
  const pick = (n: number) => Math.min(n, pids.length)
  return `
local pids = { ${pids.map(luaString).join(',')} }
local function pick(n)
  local chosen, list = {}, {}
  while #list < n do
    local pid = pids[math.random(#pids)]
    if not chosen[pid] then
      chosen[pid] = true
      list[#list + 1] = '"' .. pid .. '"'
    end
  end
  return table.concat(list, ',')
end
function body()
  return '{"cost-type":{"cost-mode":"${mode}","cost-metric":"routingcost"},"pids":{"srcs":[' .. pick(${pick(settings.srcs)}) .. '],"dsts":[' .. pick(${pick(settings.dsts)}) .. ']}}'
end`
}

const filterHeaders = { 'content-type': FILTER_TYPE, accept: ACCEPT }

/** Sequential filtered requests for `seconds` on one connection: per-request latencies. */
async function filteredSequential(origin: string, nextBody: () => string, seconds: number): Promise<number[]> {
  const client = new Client(origin, { pipelining: 1 })
  try {
    const latencies: number[] = []
    const end = performance.now() + seconds * 1000
    while (performance.now() < end) {
      const r = await timedRequest(client, { path: FILTERED_PATH, method: 'POST', headers: filterHeaders, body: nextBody() })
      expectStatus('filtered cost map', r.status, 200)
      latencies.push(r.ttlbMs)
    }
    return latencies
  } finally {
    await client.close()
  }
}

const gzipHeaders = { accept: ACCEPT, 'accept-encoding': 'gzip' }

async function main(): Promise<void> {
  const t0 = performance.now()
  const network = writeSyntheticNetwork(settings.pids)
  // Removed on the way out however it goes (a signal exits without running `finally`).
  process.on('exit', () => rmSync(network.dir, { recursive: true, force: true }))
  const pairs = settings.pids ** 2
  console.log(
    `cost map bench: ${settings.pids} PIDs, ${pairs.toLocaleString('en')} pairs; cost map file ${(network.costFileBytes / 2 ** 20).toFixed(1)} MiB; ` +
      `${settings.reps} reps, ${settings.seconds} s runs${quick ? ' (quick)' : ''}; written in ${((performance.now() - t0) / 1000).toFixed(1)} s` +
      `${serverRoot ? `; server from ${serverRoot}` : ''}`,
  )
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true })
  const nodeFlags = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []
  const samples: Record<string, number[]> = {}
  const add = (key: string, value: number) => (samples[key] ??= []).push(value)
  const notes: string[] = []
  let server: AltoChild | undefined
  try {
    // Start-up and the cold full map, once per repetition; the last server stays up for the rest.
    for (let rep = 0; rep < settings.reps; rep++) {
      const baseline = await startAltoServer({ args: ['--port', '0', '--log-level', 'warn'], root: serverRoot })
      add('baseline.start', baseline.startMs)
      await baseline.stop()

      await server?.stop()
      server = await startAltoServer({ args: ['--config', network.config, '--port', '0'], nodeFlags, root: serverRoot, timeoutMs: 300_000 })
      add('start', server.startMs)
      add('start.cpu', server.cpuSeconds())
      add('start.rss', server.memory().rssMb)
      const client = new Client(server.url.replace(/\/$/, ''))
      try {
        const cold = await timedRequest(client, { path: FULL_PATH, headers: { accept: ACCEPT } })
        expectStatus('full cost map', cold.status, 200)
        add('full.cold.ttfb', cold.ttfbMs)
        add('full.cold.ttlb', cold.ttlbMs)
        add('full.bytes', cold.bytes)
        const coldGzip = await timedRequest(client, { path: FULL_PATH, headers: gzipHeaders })
        expectStatus('full cost map (gzip)', coldGzip.status, 200)
        if (coldGzip.headers['content-encoding'] !== 'gzip') notes.push('The server did not gzip the full cost map.')
        add('full.gzip.cold.ttfb', coldGzip.ttfbMs)
        add('full.gzip.cold.ttlb', coldGzip.ttlbMs)
        add('full.gzip.bytes', coldGzip.bytes)
      } finally {
        await client.close()
      }
      const memory = server.memory()
      add('served.rss', memory.rssMb)
      add('served.peak', memory.peakMb)
      console.log(`  start-up ${rep + 1}/${settings.reps}: ${(server.startMs / 1000).toFixed(2)} s, RSS ${memory.rssMb.toFixed(0)} MB (peak ${memory.peakMb.toFixed(0)} MB)`)
    }
    const origin = server!.url.replace(/\/$/, '')

    // The full map, warm.
    const client = new Client(origin)
    let etag = ''
    try {
      for (let i = 0; i < settings.warmGets; i++) {
        const plain = await timedRequest(client, { path: FULL_PATH, headers: { accept: ACCEPT } })
        expectStatus('full cost map', plain.status, 200)
        add('full.warm.ttfb', plain.ttfbMs)
        add('full.warm.ttlb', plain.ttlbMs)
        etag = String(plain.headers.etag)
        const gz = await timedRequest(client, { path: FULL_PATH, headers: gzipHeaders })
        add('full.gzip.warm.ttfb', gz.ttfbMs)
        add('full.gzip.warm.ttlb', gz.ttlbMs)
      }
      // One check that the filtered answer is what was asked for: 10 rows of 100 costs.
      const check = await timedRequest(client, { path: FILTERED_PATH, method: 'POST', headers: filterHeaders, body: filterBodies(network.pids, 'numerical', 99)(), keepText: true })
      expectStatus('filtered cost map', check.status, 200)
      const rows = Object.values((JSON.parse(check.text!) as { 'cost-map': Record<string, Record<string, number>> })['cost-map'])
      const entries = rows.reduce((n, row) => n + Object.keys(row).length, 0)
      if (entries !== Math.min(settings.srcs, settings.pids) * Math.min(settings.dsts, settings.pids)) throw new Error(`filtered cost map has ${entries} entries`)
    } finally {
      await client.close()
    }

    // Filtered cost maps and revalidation, interleaved per repetition.
    // The server's CPU time per request is what the figure costs the server; requests/s also
    // depends on what else the machine runs (the load generator is on the same cores).
    const cpuShare: Record<string, number[]> = {}
    const timedCpu = async <T>(key: string, run: () => Promise<T>): Promise<{ result: T; seconds: number; cpuSeconds: number }> => {
      const cpu0 = server!.cpuSeconds()
      const wall0 = performance.now()
      const result = await run()
      const seconds = (performance.now() - wall0) / 1000
      const cpuSeconds = server!.cpuSeconds() - cpu0
      ;(cpuShare[key] ??= []).push(cpuSeconds / seconds)
      return { result, seconds, cpuSeconds }
    }
    for (let rep = 0; rep < settings.reps; rep++) {
      for (const mode of ['numerical', 'ordinal'] as const) {
        const nextBody = filterBodies(network.pids, mode, 1000 + rep)
        const latencies = (await timedCpu(`filtered.${mode}.seq`, () => filteredSequential(origin, nextBody, settings.seconds))).result.sort((a, b) => a - b)
        add(`filtered.${mode}.p50`, percentile(latencies, 50))
        add(`filtered.${mode}.p99`, percentile(latencies, 99))
        const load = await timedCpu(`filtered.${mode}.rps`, () =>
          runWrk({ url: origin + FILTERED_PATH, method: 'POST', headers: filterHeaders, bodyLua: filterBodiesLua(network.pids, mode), connections: settings.concurrency, durationS: settings.seconds, countStatuses: true }),
        )
        const statuses = Object.keys(load.result.statuses!)
        if (statuses.some((status) => status !== '200')) notes.push(`Filtered ${mode} run ${rep + 1}: statuses ${JSON.stringify(load.result.statuses)}.`)
        add(`filtered.${mode}.rps`, load.result.requestsPerSecond)
        add(`filtered.${mode}.cpu`, (load.cpuSeconds / load.result.requests) * 1e6)
      }
      const revalidation = await timedCpu('revalidate', () =>
        runWrk({ url: origin + FULL_PATH, headers: { 'if-none-match': etag, accept: ACCEPT }, connections: settings.connections, durationS: settings.seconds, countStatuses: true }),
      )
      const wrk = revalidation.result
      const other = Object.entries(wrk.statuses!).filter(([status]) => status !== '304')
      if (other.length > 0 || wrk.errors > 0) {
        notes.push(`Revalidation run ${rep + 1}: statuses ${JSON.stringify(wrk.statuses)}, errors ${JSON.stringify(wrk.errors)}.`)
      }
      add('revalidate.rps', wrk.requestsPerSecond)
      add('revalidate.p99', wrk.p99Ms)
      add('revalidate.cpu', (revalidation.cpuSeconds / wrk.requests) * 1e6)
    }
    for (const [key, shares] of Object.entries(cpuShare)) notes.push(`Server CPU during ${key}: ${median(shares).toFixed(2)} of one core.`)
    const final = server!.memory()
    notes.push(`Server RSS after the load: ${final.rssMb.toFixed(0)} MB (peak ${final.peakMb.toFixed(0)} MB).`)
  } finally {
    await server?.stop()
  }

  const s = (key: string) => samples[key] ?? []
  const { srcs, dsts, concurrency, connections } = settings
  const figures: Figure[] = [
    versus(figure('costmap.start.s', `start-up to listening, ${settings.pids} PIDs`, 's', s('start').map((ms) => ms / 1000)), 'embedded default network', s('baseline.start').map((ms) => ms / 1000)),
    figure('costmap.start.cpu', 'start-up CPU time (user + system)', 's', s('start.cpu')),
    figure('costmap.start.rss', 'RSS at listening', 'MB', s('start.rss')),
    figure('costmap.served.rss', 'RSS after the first two full-map GETs', 'MB', s('served.rss')),
    figure('costmap.served.peak', 'peak RSS (start-up and first GETs)', 'MB', s('served.peak')),
    figure('costmap.full.bytes', 'full map body, identity', 'MB', s('full.bytes').map((b) => b / 1e6)),
    figure('costmap.full.gzip.bytes', 'full map body, gzip', 'MB', s('full.gzip.bytes').map((b) => b / 1e6)),
    figure('costmap.full.cold.ttfb', 'full map cold, time to first byte', 'ms', s('full.cold.ttfb')),
    figure('costmap.full.cold.ttlb', 'full map cold, time to last byte', 'ms', s('full.cold.ttlb')),
    figure('costmap.full.gzip.cold.ttlb', 'full map gzip cold, time to last byte', 'ms', s('full.gzip.cold.ttlb')),
    figure('costmap.full.warm.ttfb', 'full map warm, time to first byte', 'ms', s('full.warm.ttfb')),
    figure('costmap.full.warm.ttlb', 'full map warm, time to last byte', 'ms', s('full.warm.ttlb')),
    figure('costmap.full.gzip.warm.ttlb', 'full map gzip warm, time to last byte', 'ms', s('full.gzip.warm.ttlb')),
  ]
  for (const mode of ['numerical', 'ordinal'] as const) {
    figures.push(
      figure(`costmap.filtered.${mode}.p50`, `filtered ${srcs}x${dsts} ${mode}, sequential p50`, 'ms', s(`filtered.${mode}.p50`)),
      figure(`costmap.filtered.${mode}.p99`, `filtered ${srcs}x${dsts} ${mode}, sequential p99`, 'ms', s(`filtered.${mode}.p99`)),
      figure(`costmap.filtered.${mode}.rps`, `filtered ${srcs}x${dsts} ${mode}, ${concurrency} connections`, 'req/s', s(`filtered.${mode}.rps`)),
      figure(`costmap.filtered.${mode}.cpu`, `filtered ${srcs}x${dsts} ${mode}, server CPU per request`, 'us', s(`filtered.${mode}.cpu`)),
    )
  }
  figures.push(
    figure('costmap.revalidate.rps', `304 revalidation, ${connections} connections (wrk)`, 'req/s', s('revalidate.rps')),
    figure('costmap.revalidate.p99', `304 revalidation p99, ${connections} connections`, 'ms', s('revalidate.p99')),
    figure('costmap.revalidate.cpu', '304 revalidation, server CPU per request', 'us', s('revalidate.cpu')),
  )

  console.log()
  const width = Math.max(...figures.map((f) => f.name.length))
  for (const f of figures) {
    const value = f.value >= 100 ? f.value.toFixed(0) : f.value >= 10 ? f.value.toFixed(1) : f.value.toFixed(2)
    const spread = f.samples.length > 1 ? `  [${Math.min(...f.samples).toPrecision(3)}..${Math.max(...f.samples).toPrecision(3)}]` : ''
    const ratio = f.baseline ? `  (baseline ${f.baseline.name}: ${f.baseline.value.toFixed(2)} ${f.unit})` : ''
    console.log(`  ${f.name.padEnd(width)}  ${value.padStart(8)} ${f.unit}${spread}${ratio}`)
  }
  if (notes.length > 0) console.log(`\n${notes.map((n) => `  ${n}`).join('\n')}`)

  if (cpuProfDir) {
    for (const file of readdirSync(cpuProfDir).filter((f) => f.endsWith('.cpuprofile'))) {
      console.log(`\n${formatProfile(file, summarizeProfile(`${cpuProfDir}/${file}`, 20))}`)
    }
  }

  writeReport({
    bench: 'server/cost-map',
    method:
      `The real server (child process, loopback) serving a seeded ${settings.pids}-PID network with a numerical and an ordinal routingcost map of all ` +
      `${pairs.toLocaleString('en')} pairs; medians over ${settings.reps} repetitions of ${settings.seconds} s runs. Filtered: ${srcs}x${dsts} random PIDs per request ` +
      `(undici sequential; wrk, ${concurrency} connections); revalidation: If-None-Match with the current ETag (wrk, ${connections} connections).`,
    figures,
    notes,
  })
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exitCode = 1
})
