/**
 * @module bench/http/ecs
 * Issue 9, figures 1 and 5: the endpoint cost service over HTTP under load, against this machine's
 * ceiling measured in the same run, and its scaling from one `alto serve` worker to two.
 *
 *   node --import tsx bench/http/ecs.bench.ts [--quick] [--reps 5] [--duration 5] [--connections 50]
 *     [--no-workers] [--before <checkout>]
 *
 * Request: POST /endpointcost/lookup, 1 source and 100 destinations (50 IPv4, 50 IPv6) on a
 * 256-PID network, cost type ordinal routingcost. Load: `wrk`, one thread, 50 keep-alive
 * connections. Ceiling: a bare `node:http` server (bench/lib/ceiling-server.ts) that reads the same
 * request and answers with the very bytes the ALTO server answered, pre-built, each as it is ready;
 * beside it, the same server writing the answers of each event-loop turn together as ALTOkit does
 * (src/server/write-batch.ts), to show what that alone is worth. Each server runs in
 * its own process, started once and warmed up; then the runs alternate (ceiling, ALTO, ...) so that
 * drifts of the machine hit both alike, each repetition starting one entry further along. Figures
 * are medians over the repetitions. Every process is free on both CPUs, as the issue's method has
 * it (wrk shares the two cores with the server); on two CPUs or more, the one-process runs are also
 * made pinned (`-pinned`: the server on one CPU, every thread of it, and wrk on the other).
 *
 * Each request is answered twice over: the same request again and again (the answer cache of
 * src/server/answer-cache.ts serves it after its second sight), and 20,000 distinct requests in
 * turn (none ever a cache hit). `--before DIR` adds another checkout's server to the line-up, to
 * measure a change in the same run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { seededRng } from '../../src/cost/rank.ts'
import { figure, quick, versus, writeReport, type Figure } from '../lib/report.ts'
import { canPin, startAltoServer, startCeiling, type AltoChild as ServerChild } from '../lib/alto-child.ts'
import { runWrk, type WrkResult } from '../lib/wrk.ts'

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string', default: '50' },
    pids: { type: 'string', default: '256' },
    'no-workers': { type: 'boolean', default: false },
    /** Another checkout of ALTOkit (a folder with bin/alto.js and node_modules), measured alongside. */
    before: { type: 'string' },
  },
})
const reps = Number(flags.reps ?? (quick ? 1 : 5))
const durationS = Number(flags.duration ?? (quick ? 1 : 5))
const warmupS = quick ? 1 : 3
const connections = Number(flags.connections)
const pidCount = Number(flags.pids)

const rng = seededRng(9)
const int = (n: number) => Math.floor(rng() * n)

/** A network of `pidCount` PIDs, each one IPv4 /16 and one IPv6 /32, with random routing costs. */
function networkConfig(): string {
  const pids: Record<string, { ipv4: string[]; ipv6: string[] }> = {}
  const names: string[] = []
  for (let i = 0; i < pidCount; i++) {
    const name = `pid${i}`
    names.push(name)
    pids[name] = { ipv4: [`${10 + (i >> 8)}.${i & 255}.0.0/16`], ipv6: [`2001:db8:${i.toString(16)}::/48`] }
  }
  const costs: Record<string, Record<string, number>> = {}
  for (const src of names) {
    const row: Record<string, number> = {}
    for (const dst of names) row[dst] = src === dst ? 1 : 2 + int(200)
    costs[src] = row
  }
  return JSON.stringify({
    // The rate limiter stays on (its cost is part of every request) but never refuses the one load generator.
    server: { limits: { 'rate-limit': { max: 1_000_000_000, 'window-ms': 1000 } } },
    'network-maps': [{ id: 'bench-net', pids }],
    'cost-maps': [{ 'network-map': 'bench-net', 'cost-metric': 'routingcost', costs }],
  })
}

/**
 * Distinct requests sent in turn: each comes back after 19,999 others, while the answer cache
 * keeps a request only if it comes back within as many misses as it holds answers (about 2,300
 * of these in 16 MiB; src/server/answer-cache.ts), so none is kept and none is ever a hit.
 */
const DISTINCT = 20_000

function ecsRequest(): string {
  const host = (i: number) => `${10 + (i >> 8)}.${i & 255}.${int(256)}.${1 + int(254)}`
  const host6 = (i: number) => `2001:db8:${i.toString(16)}:0:${int(65536).toString(16)}::${(1 + int(65534)).toString(16)}`
  const dsts: string[] = []
  for (let k = 0; k < 100; k++) {
    const pid = int(pidCount)
    dsts.push(k % 2 === 0 ? `ipv4:${host(pid)}` : `ipv6:${host6(pid)}`)
  }
  return JSON.stringify({
    'cost-type': { 'cost-mode': 'ordinal', 'cost-metric': 'routingcost' },
    endpoints: { srcs: [`ipv4:${host(int(pidCount))}`], dsts },
  })
}

const ECS_HEADERS = { 'content-type': 'application/alto-endpointcostparams+json', accept: 'application/alto-endpointcost+json,application/alto-error+json' }

interface Run extends WrkResult {
  cpuSeconds: number
}

/**
 * Every server of the line-up. All but the one under load are paused (SIGSTOP) during a run, and
 * each stays paused until its own next run: idle servers still wake (timers) and would take CPU
 * from the measured one. A server is paused and resumed once per run of another, never bounced:
 * two stalls in a row look to its overload guard like a lagging loop (server/overload.ts).
 */
const lineupServers = new Set<ServerChild>()

const paused = new Set<ServerChild>()

/**
 * CPUs of the `-pinned` runs: the server (all its threads) on one, wrk on the other, so that each
 * server has exactly one core for all its work and the scheduler never puts wrk beside it
 * (bench/lib/alto-child.ts `canPin`). The other runs leave every process free on both CPUs.
 */
const SERVER_CPU = '0'
const WRK_CPU = '1'
const pinning = canPin()
/** Whether each server is pinned now (absent: never pinned, free). */
const pinnedNow = new Map<ServerChild, boolean>()

interface Entry {
  name: string
  server: ServerChild
  url: string
  /** Distinct request bodies, one per line (default: the one request). */
  body?: { file: string }
  pinned: boolean
}

async function load(entry: Entry, body: string | { file: string }, seconds: number): Promise<Run> {
  const server = entry.server
  for (const other of lineupServers) {
    if (other === server || paused.has(other)) continue
    other.pause()
    paused.add(other)
  }
  // Moved threads start cold: a server is pinned or freed before it settles, not as its run starts.
  const moved = pinning && pinnedNow.get(server) !== entry.pinned
  if (moved) {
    server.pin(entry.pinned ? SERVER_CPU : undefined)
    pinnedNow.set(server, entry.pinned)
  }
  if (paused.delete(server) || moved) {
    server.resume()
    // A server's overload guard saw the pause as one very late tick; older checkouts (--before)
    // shed the next half second for it, so every resumed server gets a second to settle.
    await new Promise((resolve) => setTimeout(resolve, 1200))
  }
  return measure(server, entry.url, body, seconds, pinning && entry.pinned ? WRK_CPU : undefined)
}

async function measure(server: ServerChild, url: string, body: string | { file: string }, seconds: number, cpus: string | undefined): Promise<Run> {
  const cpuBefore = server.cpuSeconds()
  const bodies = typeof body === 'string' ? { body } : { bodiesFile: body.file }
  const result = await runWrk({ url, method: 'POST', headers: ECS_HEADERS, ...bodies, connections, durationS: seconds, ...(cpus ? { cpus } : {}) })
  const cpuSeconds = server.cpuSeconds() - cpuBefore
  if (result.errors > 0 || result.non2xx3xx > 0 || result.requests === 0) {
    throw new Error(`${url}: ${result.requests} requests, ${result.non2xx3xx} not answered 2xx, ${result.errors} socket errors`)
  }
  return { ...result, cpuSeconds }
}

/** The endpoint cost service's URI, from the server's IRD. */
async function ecsUri(base: string): Promise<string> {
  const ird = (await (await fetch(base, { headers: { accept: 'application/alto-directory+json' } })).json()) as { resources: Record<string, { uri: string; 'media-type': string }> }
  const ecs = Object.values(ird.resources).find((r) => r['media-type'] === 'application/alto-endpointcost+json')
  if (!ecs) throw new Error(`${base}: the IRD lists no endpoint cost service`)
  return ecs.uri
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'alto-bench-ecs-'))
  const servers: ServerChild[] = []
  try {
    const configFile = join(dir, 'alto.json')
    writeFileSync(configFile, networkConfig())
    const body = ecsRequest()
    const distinctFile = join(dir, 'distinct.txt')
    writeFileSync(distinctFile, `${Array.from({ length: DISTINCT }, ecsRequest).join('\n')}\n`)

    const alto = await startAltoServer({ args: ['--config', configFile, '--port', '0'] }).then((s) => (servers.push(s), s))
    const ecsUrl = await ecsUri(alto.url)
    const answer = await fetch(ecsUrl, { method: 'POST', headers: ECS_HEADERS, body })
    const answerBytes = Buffer.from(await answer.arrayBuffer())
    if (answer.status !== 200) throw new Error(`ECS answered ${answer.status}: ${answerBytes.toString()}`)
    const costs = (JSON.parse(answerBytes.toString()) as { 'endpoint-cost-map': Record<string, Record<string, number>> })['endpoint-cost-map']
    const ranked = Object.values(costs)[0]!
    if (Object.keys(ranked).length !== 100) throw new Error(`expected 100 ranked destinations, got ${Object.keys(ranked).length}`)
    const bodyFile = join(dir, 'answer.json')
    writeFileSync(bodyFile, answerBytes)

    const ceiling = await startCeiling(bodyFile).then((s) => (servers.push(s), s))
    const batchedCeiling = await startCeiling(bodyFile, 1, true).then((s) => (servers.push(s), s))
    const lineup: Entry[] = [
      { name: 'ceiling', server: ceiling, url: ceiling.url, pinned: false },
      { name: 'alto', server: alto, url: ecsUrl, pinned: false },
      { name: 'alto-distinct', server: alto, url: ecsUrl, body: { file: distinctFile }, pinned: false },
      { name: 'ceiling-batched', server: batchedCeiling, url: batchedCeiling.url, pinned: false },
    ]
    if (pinning) lineup.push({ name: 'ceiling-pinned', server: ceiling, url: ceiling.url, pinned: true }, { name: 'alto-pinned', server: alto, url: ecsUrl, pinned: true })
    if (flags.before) {
      const before = await startAltoServer({ args: ['--config', configFile, '--port', '0'], root: flags.before }).then((s) => (servers.push(s), s))
      const url = await ecsUri(before.url)
      lineup.push({ name: 'before', server: before, url, pinned: false }, { name: 'before-distinct', server: before, url, body: { file: distinctFile }, pinned: false })
    }
    if (!flags['no-workers']) {
      const alto2 = await startAltoServer({ args: ['--config', configFile, '--port', '0', '--workers', '2'] }).then((s) => (servers.push(s), s))
      const ceiling2 = await startCeiling(bodyFile, 2).then((s) => (servers.push(s), s))
      lineup.push(
        { name: 'ceiling-w2', server: ceiling2, url: ceiling2.url, pinned: false },
        { name: 'alto-w2', server: alto2, url: await ecsUri(alto2.url), pinned: false },
        { name: 'alto-w2-distinct', server: alto2, url: await ecsUri(alto2.url), body: { file: distinctFile }, pinned: false },
      )
    }
    for (const entry of lineup) lineupServers.add(entry.server)
    log(`ECS 1x100 ordinal: request ${body.length} B, answer ${answerBytes.length} B; wrk 1 thread, ${connections} connections, ${reps} x ${durationS} s`)
    for (const entry of lineup) await load(entry, entry.body ?? body, warmupS)

    const runs = new Map<string, Run[]>(lineup.map((e) => [e.name, []]))
    for (let rep = 0; rep < reps; rep++) {
      // Each repetition starts one entry further along the line-up, so that no entry always comes
      // after the same one (a run is a little faster or slower depending on what ran, or how long
      // its server was paused, before it: docs/performance.md).
      const order = lineup.map((_, i) => lineup[(i + rep) % lineup.length]!)
      for (const entry of order) {
        const run = await load(entry, entry.body ?? body, durationS)
        runs.get(entry.name)!.push(run)
        log(`  rep ${rep + 1} ${entry.name.padEnd(10)} ${run.requestsPerSecond.toFixed(0).padStart(7)} req/s  p50 ${run.p50Ms.toFixed(2)} ms  p99 ${run.p99Ms.toFixed(2)} ms  server CPU ${(run.cpuSeconds / run.durationS).toFixed(2)} cores`)
      }
    }

    const of = (name: string, pick: (r: Run) => number) => runs.get(name)!.map(pick)
    const rps = (r: Run) => r.requestsPerSecond
    const p99 = (r: Run) => r.p99Ms
    const cpuUs = (r: Run) => (r.cpuSeconds / r.requests) * 1e6
    const rpsFigure = versus(figure('ecs.rps', 'ECS 1x100 ordinal: requests/s', 'req/s', of('alto', rps)), 'bare node:http, same bytes', of('ceiling', rps))
    const p99Figure = versus(figure('ecs.p99', 'ECS 1x100 ordinal: p99 latency', 'ms', of('alto', p99)), 'bare node:http p99', of('ceiling', p99))
    const figures: Figure[] = [
      { ...rpsFigure, goal: '>= 0.60 x ceiling', met: rpsFigure.ratio! >= 0.6 },
      { ...p99Figure, goal: '<= 2 x ceiling p99', met: p99Figure.ratio! <= 2 },
      versus(figure('ecs.p50', 'ECS 1x100 ordinal: p50 latency', 'ms', of('alto', (r) => r.p50Ms)), 'bare node:http p50', of('ceiling', (r) => r.p50Ms)),
      versus(figure('ecs.cpu', 'ECS 1x100 ordinal: server CPU per request', 'us', of('alto', cpuUs)), 'bare node:http', of('ceiling', cpuUs)),
      versus(figure('ecs.batched.rps', 'ECS 1x100 ordinal: requests/s, against a bare server that batches writes as ALTOkit does', 'req/s', of('alto', rps)), 'bare node:http, batched writes', of('ceiling-batched', rps)),
      versus(figure('ecs.batched.cpu', 'ECS 1x100 ordinal: server CPU per request, against the batching bare server', 'us', of('alto', cpuUs)), 'bare node:http, batched writes', of('ceiling-batched', cpuUs)),
      versus(figure('ecs.distinct.rps', `ECS, ${DISTINCT} distinct requests (no cache hits): requests/s`, 'req/s', of('alto-distinct', rps)), 'bare node:http, same bytes', of('ceiling', rps)),
      versus(figure('ecs.distinct.p99', 'ECS, distinct requests: p99 latency', 'ms', of('alto-distinct', p99)), 'bare node:http p99', of('ceiling', p99)),
      versus(figure('ecs.distinct.cpu', 'ECS, distinct requests: server CPU per request', 'us', of('alto-distinct', cpuUs)), 'bare node:http', of('ceiling', cpuUs)),
    ]
    if (runs.has('alto-pinned')) {
      figures.push(
        versus(figure('ecs.pinned.rps', 'ECS 1x100 ordinal, pinned (server on one CPU, wrk on the other): requests/s', 'req/s', of('alto-pinned', rps)), 'bare node:http, pinned', of('ceiling-pinned', rps)),
        versus(figure('ecs.pinned.p99', 'ECS 1x100 ordinal, pinned: p99 latency', 'ms', of('alto-pinned', p99)), 'bare node:http p99, pinned', of('ceiling-pinned', p99)),
        versus(figure('ecs.pinned.cpu', 'ECS 1x100 ordinal, pinned: server CPU per request', 'us', of('alto-pinned', cpuUs)), 'bare node:http, pinned', of('ceiling-pinned', cpuUs)),
      )
    }
    if (runs.has('before')) {
      figures.push(
        versus(figure('before.rps', 'ECS, same request: requests/s, this checkout', 'req/s', of('alto', rps)), `--before ${flags.before}`, of('before', rps)),
        versus(figure('before.distinct.rps', 'ECS, distinct requests: requests/s, this checkout', 'req/s', of('alto-distinct', rps)), `--before ${flags.before}`, of('before-distinct', rps)),
        versus(figure('before.distinct.cpu', 'ECS, distinct requests: server CPU per request, this checkout', 'us', of('alto-distinct', cpuUs)), `--before ${flags.before}`, of('before-distinct', cpuUs)),
      )
    }
    if (runs.has('alto-w2')) {
      figures.push(
        versus(figure('workers.rps', 'ECS with --workers 2: requests/s', 'req/s', of('alto-w2', rps)), '--workers 1 (same run)', of('alto', rps)),
        versus(figure('workers.ceiling', 'bare node:http, 2 cluster workers', 'req/s', of('ceiling-w2', rps)), 'bare node:http, 1 process', of('ceiling', rps)),
        versus(figure('workers.p99', 'ECS with --workers 2: p99 latency', 'ms', of('alto-w2', p99)), '--workers 1 p99', of('alto', p99)),
        versus(figure('workers.distinct.rps', 'ECS distinct requests, --workers 2: requests/s', 'req/s', of('alto-w2-distinct', rps)), '--workers 1 (same run)', of('alto-distinct', rps)),
      )
    }
    writeReport({
      bench: 'ecs',
      method: `wrk -t1 -c${connections}, ${reps} alternating runs of ${durationS} s after ${warmupS} s warm-up; ECS POST 1 src x 100 dsts (${body.length} B in, ${answerBytes.length} B out), ${pidCount} PIDs, ordinal routingcost; ceiling = bare node:http answering the same bytes; every process free on all CPUs${pinning ? `; -pinned runs: server on CPU ${SERVER_CPU}, wrk on CPU ${WRK_CPU}` : ' (no -pinned runs: fewer than 2 CPUs or no taskset)'}; each repetition starts one entry further along the line-up`,
      figures,
      notes: ['wrk, the servers and this script share the 2 cores: wrk takes about one of them.', 'Servers not under load are paused (SIGSTOP) during each run.'],
    })
    for (const f of figures) log(`${f.name}: ${f.value.toFixed(2)} ${f.unit}${f.ratio === undefined ? '' : ` = ${f.ratio.toFixed(2)} x ${f.baseline!.name} (${f.baseline!.value.toFixed(2)})`}${f.goal ? ` goal ${f.goal}: ${f.met ? 'met' : 'NOT met'}` : ''}`)
  } finally {
    await Promise.all(servers.map((s) => s.stop()))
    rmSync(dir, { recursive: true, force: true })
  }
}

function log(line: string): void {
  process.stdout.write(`${line}\n`)
}

await main()
