/**
 * @module bench/tracker/announce
 * Announces per second over HTTP and UDP: ALTOkit's tracker (ALTO-guided selection) against the
 * stock `bittorrent-tracker` server (random selection), side by side in the same run (issue 5).
 *
 *   npm run bench:tracker -- [--quick] [--profile] [--reps 3] [--duration 5] [--warmup 1]
 *     [--peers 10000] [--pids 20] [--hosts-per-pid 16] [--numwant 50] [--concurrency 32]
 *     [--stock-peers-cache <peers>] [--out bench/results-tracker.json]
 *
 * Each tracker runs in its own process; the load generator and the ALTO server run here. Both
 * trackers get the same swarm (10,000 peers of one torrent over 20 PIDs, announcing `started`
 * over HTTP), then steady-state announces (no event, numwant 50) from those peers with a bounded
 * number in flight, alternating trackers. Medians, the ratio ours/stock and locality are printed
 * and written to bench/results-tracker.json. `--profile` runs both trackers under --cpu-prof and
 * prints where their time goes.
 */
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { benchAltoServer } from './alto-lab.ts'
import { cpuPressureSeconds, spawnTracker, type TrackerChild } from './children.ts'
import { getJson, httpLoad, populateHttp, udpLoad, type LoadOptions, type LoadResult } from './load.ts'
import { formatProfile, summarizeProfile, type ProfileSummary } from './profile-summary.ts'
import { swarmPlan } from './swarm-plan.ts'
import { figure, versus, writeReport, type BenchReport, type Figure } from '../lib/report.ts'

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    peers: { type: 'string' },
    pids: { type: 'string', default: '20' },
    'hosts-per-pid': { type: 'string', default: '16' },
    numwant: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '32' },
    reps: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string', default: '1' },
    'stock-peers-cache': { type: 'string' },
    out: { type: 'string' },
  },
})

const quick = flags.quick!
const config = {
  peers: Number(flags.peers ?? (quick ? 2000 : 10_000)),
  pidCount: Number(flags.pids),
  hostsPerPid: Number(flags['hosts-per-pid']),
  numwant: Number(flags.numwant),
  concurrency: Number(flags.concurrency),
  reps: Number(flags.reps ?? (quick ? 1 : 3)),
  durationS: Number(flags.duration ?? (quick ? 2 : 5)),
  warmupS: Number(flags.warmup),
  /** The stock swarm's LRU size (its default, 1000, would cap the swarm below `peers`). */
  stockPeersCache: Number(flags['stock-peers-cache'] ?? flags.peers ?? (quick ? 2000 : 10_000)),
}
const root = fileURLToPath(new URL('../../', import.meta.url))
const outFile = flags.out ?? join(root, 'bench', 'results-tracker.json')

type Kind = 'altokit' | 'stock'
type Protocol = 'http' | 'udp'

interface Run extends LoadResult {
  tracker: Kind
  protocol: Protocol
  rep: number
  /** Tracker process CPU in the window, as a share of one core. */
  trackerCpu: number
  announcesPerCpuSecond: number
  /** Share of the window in which some task on the machine waited for a CPU (Linux PSI). */
  cpuPressure: number
  /** ALTOkit only: samePidReturned / peersReturned from /stats, over this run. */
  statsLocality?: number
}

const median = (xs: number[]): number => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const log = (line: string) => process.stderr.write(`${line}\n`)

async function main(): Promise<void> {
  const started = Date.now()
  for (const [name, value] of Object.entries(config)) if (!(value > 0)) throw new Error(`--${name}: expected a positive number`)
  if (config.pidCount > 254) throw new Error('--pids: at most 254 (PID p is 127.p.0.0/16)')
  if (config.pidCount * config.hostsPerPid < config.concurrency) throw new Error('--pids x --hosts-per-pid must be at least --concurrency (one source address per connection)')
  const plan = swarmPlan({ peers: config.peers, pidCount: config.pidCount, hostsPerPid: config.hostsPerPid, numwant: config.numwant })
  const profileDir = flags.profile ? mkdtempSync(join(tmpdir(), 'altokit-tracker-prof-')) : undefined
  const profFlags = (name: string) => (profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, name)}`] : [])
  if (profileDir) for (const name of ['altokit', 'stock']) mkdirSync(join(profileDir, name))

  const alto = benchAltoServer(config.pidCount)
  const altoUrl = await alto.listen()
  const children: TrackerChild[] = []
  try {
    const [ours, stock] = await Promise.all([
      spawnTracker({
        name: 'altokit',
        nodeFlags: profFlags('altokit'),
        args: ['bin/alto.js', 'tracker', '--port', '0', '--alto', altoUrl, '--numwant', String(config.numwant), '--log-level', 'warn'],
      }).then((c) => (children.push(c), c)),
      spawnTracker({
        name: 'stock',
        nodeFlags: profFlags('stock'),
        args: ['--import', 'tsx', 'bench/tracker/stock-tracker.ts', '--peers-cache', String(config.stockPeersCache)],
      }).then((c) => (children.push(c), c)),
    ])
    const statsUrl = ours.http.replace(/\/announce$/, '/stats')
    const guidance = (await getJson(statsUrl)).guidance as { guided?: boolean } | undefined
    if (!guidance?.guided) throw new Error(`ALTOkit tracker is not guided: ${JSON.stringify(guidance)}`)
    log(`ALTO ${altoUrl}; ALTOkit ${ours.http} ${ours.udp}; stock ${stock.http} ${stock.udp}`)

    const populate: Record<Kind, { ms: number; perSecond: number }> = {} as never
    for (const [kind, child] of [['altokit', ours], ['stock', stock]] as const) {
      const p = await populateHttp(plan, child.http, config.concurrency)
      if (p.failures > 0) throw new Error(`${kind}: ${p.failures} started announces failed: ${p.firstFailure}`)
      populate[kind] = { ms: Math.round(p.ms), perSecond: Math.round(config.peers / (p.ms / 1000)) }
      log(`${kind}: ${config.peers} peers announced started in ${Math.round(p.ms)} ms`)
    }
    const oursPeers = (await getJson(statsUrl)).peers as number
    if (oursPeers !== config.peers) throw new Error(`ALTOkit swarm holds ${oursPeers} peers, expected ${config.peers}`)

    const runs: Run[] = []
    const load: LoadOptions = { concurrency: config.concurrency, warmupMs: config.warmupS * 1000, durationMs: config.durationS * 1000, drainMs: 1000, udpTimeoutMs: 1000 }
    for (let rep = 0; rep < config.reps; rep++) {
      for (const protocol of ['http', 'udp'] as const) {
        const order: [Kind, TrackerChild][] = rep % 2 === 0 ? [['altokit', ours], ['stock', stock]] : [['stock', stock], ['altokit', ours]]
        for (const [kind, child] of order) {
          const before = kind === 'altokit' ? await getJson(statsUrl) : undefined
          let cpuAt = Number.NaN
          let cpuUsed = Number.NaN
          let pressureAt = Number.NaN
          let pressure = Number.NaN
          const mark = (phase: 'start' | 'end') => {
            if (phase === 'start') {
              cpuAt = child.cpuSeconds()
              pressureAt = cpuPressureSeconds()
            } else {
              cpuUsed = child.cpuSeconds() - cpuAt
              pressure = cpuPressureSeconds() - pressureAt
            }
          }
          const result = protocol === 'http' ? await httpLoad(plan, child.http, { ...load, mark }) : await udpLoad(plan, child.udp, { ...load, mark })
          const run: Run = {
            tracker: kind,
            protocol,
            rep,
            ...result,
            trackerCpu: cpuUsed / result.windowS,
            announcesPerCpuSecond: result.answered / cpuUsed,
            cpuPressure: pressure / result.windowS,
          }
          if (before) {
            const after = await getJson(statsUrl)
            run.statsLocality = (after.samePidReturned - before.samePidReturned) / (after.peersReturned - before.peersReturned)
          }
          runs.push(run)
          log(
            `rep ${rep + 1}/${config.reps} ${protocol.toUpperCase().padEnd(4)} ${kind.padEnd(7)} ${Math.round(run.perSecond)} announces/s, ` +
              `failures ${run.failures}, lost ${run.lost}, peers/answer ${run.peersPerAnswer.toFixed(1)}, swarm ${run.swarmSize}, ` +
              `tracker CPU ${(run.trackerCpu * 100).toFixed(0)}%, generator CPU ${(run.generatorCpu * 100).toFixed(0)}%, CPU pressure ${(run.cpuPressure * 100).toFixed(0)}%` +
              (run.firstFailure ? ` (first failure: ${run.firstFailure})` : ''),
          )
          await new Promise((resolve) => setTimeout(resolve, 200))
        }
      }
    }

    const finalStats = await getJson(statsUrl)
    await Promise.all(children.map((c) => c.stop()))

    const summary = summarize(runs)
    const profiles: Record<string, ProfileSummary> = {}
    if (profileDir) {
      for (const name of ['altokit', 'stock']) {
        // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (tsx's loader has its own).
        const files = readdirSync(join(profileDir, name)).filter((f) => f.endsWith('.cpuprofile'))
        const file = files.find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)) ?? files[0]
        if (!file) {
          log(`${name}: no CPU profile written`)
          continue
        }
        profiles[name] = summarizeProfile(join(profileDir, name, file), 25)
        log(`\n${formatProfile(`${name} (${join(profileDir, name, file)})`, profiles[name])}`)
      }
    }
    process.stdout.write(`\n${table(summary)}\n`)
    const results = {
      benchmark: 'tracker announces per second (issue 5)',
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, platform: `${process.platform} ${process.arch}` },
      config: { ...config, stock: `bittorrent-tracker/server 11.2.3 (peersCacheLength ${config.stockPeersCache})`, ours: 'alto tracker --numwant 50 --alto <in-process ALTO server>' },
      populate,
      summary,
      oursFinalStats: { ...finalStats, locality: Number(finalStats.locality.toFixed(4)) },
      runs,
      ...(profileDir ? { profiles } : {}),
      wallSeconds: Math.round((Date.now() - started) / 1000),
    }
    writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`)
    writeReport(suiteReport(runs, summary))
    log(`wrote ${outFile} (${results.wallSeconds} s)`)
  } finally {
    await Promise.all(children.map((c) => c.stop()))
    await alto.close()
  }
}

interface TrackerStat {
  announcesPerSecond: number
  runs: number[]
  p50Ms: number
  p99Ms: number
  trackerCpu: number
  announcesPerCpuSecond: number
  generatorCpu: number
  peersPerAnswer: number
  clientLocality: number
  statsLocality?: number
  failures: number
  lost: number
  swarmSize: number
}

interface ProtocolSummary {
  altokit: TrackerStat
  stock: TrackerStat
  /** Median announces/s of ours over the stock tracker's. */
  ratio: number
  ratioPerRep: number[]
  medianRatioPerRep: number
  /** Announces per tracker CPU-second, ours over stock. */
  cpuEfficiencyRatio: number
}

function summarize(runs: Run[]): Record<Protocol, ProtocolSummary> {
  const out = {} as Record<Protocol, ProtocolSummary>
  for (const protocol of ['http', 'udp'] as const) {
    const of = (kind: Kind) => runs.filter((r) => r.protocol === protocol && r.tracker === kind)
    const stat = (kind: Kind): TrackerStat => {
      const rs = of(kind)
      return {
        announcesPerSecond: Math.round(median(rs.map((r) => r.perSecond))),
        runs: rs.map((r) => Math.round(r.perSecond)),
        p50Ms: Number(median(rs.map((r) => r.latencyMs.p50)).toFixed(2)),
        p99Ms: Number(median(rs.map((r) => r.latencyMs.p99)).toFixed(2)),
        trackerCpu: Number(median(rs.map((r) => r.trackerCpu)).toFixed(3)),
        announcesPerCpuSecond: Math.round(median(rs.map((r) => r.announcesPerCpuSecond))),
        generatorCpu: Number(median(rs.map((r) => r.generatorCpu)).toFixed(3)),
        peersPerAnswer: Number(median(rs.map((r) => r.peersPerAnswer)).toFixed(2)),
        clientLocality: Number(median(rs.map((r) => r.clientLocality)).toFixed(4)),
        ...(kind === 'altokit' ? { statsLocality: Number(median(rs.map((r) => r.statsLocality ?? Number.NaN)).toFixed(4)) } : {}),
        failures: rs.reduce((a, r) => a + r.failures, 0),
        lost: rs.reduce((a, r) => a + r.lost, 0),
        swarmSize: median(rs.map((r) => r.swarmSize)),
      }
    }
    const ours = stat('altokit')
    const stock = stat('stock')
    // Ratio of medians, and the median of the per-repetition ratios (each pair measured back to back).
    const pairs = of('altokit').map((r, i) => r.perSecond / of('stock')[i]!.perSecond)
    out[protocol] = {
      altokit: ours,
      stock,
      ratio: Number((ours.announcesPerSecond / stock.announcesPerSecond).toFixed(3)),
      ratioPerRep: pairs.map((x) => Number(x.toFixed(3))),
      medianRatioPerRep: Number(median(pairs).toFixed(3)),
      cpuEfficiencyRatio: Number((ours.announcesPerCpuSecond / stock.announcesPerCpuSecond).toFixed(3)),
    }
  }
  return out
}

/** The figures for `npm run bench` (bench/run.ts): announces/s of ours against the stock tracker, per protocol. */
function suiteReport(runs: Run[], summary: Record<Protocol, ProtocolSummary>): BenchReport {
  const figures: Figure[] = []
  for (const protocol of ['http', 'udp'] as const) {
    const rates = (kind: Kind) => runs.filter((r) => r.protocol === protocol && r.tracker === kind).map((r) => r.perSecond)
    figures.push(versus(figure(`tracker.${protocol}`, `Tracker announces/s over ${protocol.toUpperCase()}`, 'ann/s', rates('altokit')), 'stock bittorrent-tracker', rates('stock')))
  }
  figures.push(figure('tracker.locality', 'Tracker: share of returned peers in the requester\'s PID', 'share', runs.filter((r) => r.tracker === 'altokit').map((r) => r.clientLocality)))
  return {
    bench: 'tracker',
    method: `${config.peers} peers of one torrent over ${config.pidCount} PIDs, steady-state announces with numwant ${config.numwant}, ${config.concurrency} in flight, ${config.reps} alternating runs of ${config.durationS} s per tracker and protocol; each tracker in its own process`,
    figures,
    notes: [`stock locality: ${summary.http.stock.clientLocality}`],
  }
}

function table(summary: Record<Protocol, ProtocolSummary>): string {
  const head = ['protocol', 'tracker', 'announces/s', 'runs', 'p50 ms', 'p99 ms', 'tracker CPU', 'ann/CPU-s', 'gen CPU', 'peers/ans', 'locality', 'fail', 'lost']
  const rows: string[][] = [head]
  for (const protocol of ['http', 'udp'] as const) {
    for (const kind of ['altokit', 'stock'] as const) {
      const s = summary[protocol][kind]
      rows.push([
        protocol.toUpperCase(),
        kind === 'altokit' ? 'ALTOkit' : 'stock',
        String(s.announcesPerSecond),
        s.runs.join('/'),
        s.p50Ms.toFixed(2),
        s.p99Ms.toFixed(2),
        `${(s.trackerCpu * 100).toFixed(0)}%`,
        String(s.announcesPerCpuSecond),
        `${(s.generatorCpu * 100).toFixed(0)}%`,
        s.peersPerAnswer.toFixed(1),
        `${(s.clientLocality * 100).toFixed(1)}%${s.statsLocality !== undefined ? ` (/stats ${(s.statsLocality * 100).toFixed(1)}%)` : ''}`,
        String(s.failures),
        String(s.lost),
      ])
    }
  }
  const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  const lines = rows.map((r) => r.map((c, i) => (i < 2 || i === 3 || i === 10 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '))
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '))
  const ratios = (['http', 'udp'] as const).map((p) => {
    const s = summary[p]
    return `${p.toUpperCase()} ${s.ratio.toFixed(2)} (per rep ${s.ratioPerRep.map((x) => x.toFixed(2)).join(', ')}; per CPU-second ${s.cpuEfficiencyRatio.toFixed(2)})`
  })
  return [
    `Tracker announces/s: ${config.peers} peers over ${config.pidCount} PIDs, numwant ${config.numwant}, ${config.concurrency} in flight, median of ${config.reps} x ${config.durationS} s (after ${config.warmupS} s warm-up)`,
    ...lines,
    `ratio ALTOkit/stock: ${ratios.join('; ')}`,
    `locality = share of returned peers in the requester's PID (random selection: ~${(100 / config.pidCount).toFixed(0)}%)`,
  ].join('\n')
}

try {
  await main()
} catch (error) {
  log(`tracker benchmark failed: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
}
