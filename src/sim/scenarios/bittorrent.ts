/**
 * @module sim/scenarios/bittorrent
 * Seed 000 §4.4.2, the BitTorrent trial: one super-seed; the other peers half seeders (they stay
 * after downloading) and half leechers (they leave); upload/download capacities from the seed's
 * Table 1; peers spread uniformly over the PIDs of a network map whose cost map gives the ALTO
 * guidance. The swarm runs on the flow-level model of `flow-swarm.ts` once per neighbour-selection
 * policy, with the same peers each time. Reported: cross-PID and cross-ISP traffic, traffic × cost,
 * download times, and completion in a PID that holds no seeder at all (against over-localization).
 */
import { availableParallelism } from 'node:os'
import { runPool } from '../pool.ts'
import type { SimNetwork } from '../network.ts'
import { DEFAULT_POLICIES, parsePolicy } from '../peer-selection.ts'
import type { ChartSpec, Claim, Progress, ScenarioResult, Table } from '../result.ts'
import { cdfPoints, round } from '../stats.ts'
import { contextOf, networkSetup, runPolicy, type BittorrentSetup, type PolicyOutcome, type PolicyRun } from './bittorrent-model.ts'

export { BANDWIDTH_CLASSES, type PolicyOutcome } from './bittorrent-model.ts'

export interface BittorrentOptions {
  network: SimNetwork
  /** Peers besides the super-seed. @default 1000 */
  peers?: number
  /** Policy ids (see `parsePolicy`). @default random, peer-alto, tracker-alto-0/10/20/50 */
  policies?: readonly string[]
  /** @default 16 MiB */
  fileSize?: number
  /** @default 256 KiB */
  pieceSize?: number
  /** Peers a peer connects to per announce. @default 20 */
  numwant?: number
  /** The random list a peer-side ALTO client ranks before connecting to its best `numwant`. @default 50 */
  trackerList?: number
  /** Peers join uniformly within this many seconds. @default 60 */
  arrival?: number
  /** Simulated time limit, s. @default 7200 */
  maxTime?: number
  /** Super-seed upload, kbit/s. @default 10000 */
  superSeedUpload?: number
  /** Regular expression whose first group names a PID's ISP. @default `^([^-]+)-` */
  ispPattern?: string
  /** Capacity of each PID's links towards other PIDs, kbit/s; 0 = unlimited. @default 0 */
  pidUplink?: number
  /** Worker threads for the policies (0: run in this thread). @default up to 4 for 2,000 peers or more, else 0 */
  workers?: number
  seed?: number
  progress?: Progress
}

export interface BittorrentSummary {
  network: string
  pids: number
  superSeedPid: string
  seedlessPid: string
  seedlessPeers: number
  outcomes: PolicyOutcome[]
}

export async function runBittorrent(options: BittorrentOptions): Promise<ScenarioResult<BittorrentSummary>> {
  const seed = options.seed ?? 1
  const count = options.peers ?? 1000
  const policies = (options.policies ?? DEFAULT_POLICIES).map(parsePolicy)
  const fileSize = options.fileSize ?? 16 * 2 ** 20
  const pieceSize = options.pieceSize ?? 256 * 2 ** 10
  if (!(count >= 2)) throw new RangeError('peers must be at least 2')
  if (policies.length === 0) throw new RangeError('give at least one policy')
  if (!(pieceSize > 0 && fileSize >= pieceSize)) throw new RangeError('the file must hold at least one piece')
  const pieces = Math.ceil(fileSize / pieceSize)
  if (pieces > 4096) throw new RangeError(`${pieces} pieces: use a larger piece size (at most 4096 pieces)`)
  const network = options.network
  const setup: BittorrentSetup = {
    network: networkSetup(network),
    peers: count,
    fileSize,
    pieces,
    numwant: options.numwant ?? 20,
    trackerList: options.trackerList ?? 50,
    arrival: options.arrival ?? 60,
    maxTime: options.maxTime ?? 7200,
    superSeedUpload: options.superSeedUpload ?? 10_000,
    pidUplink: options.pidUplink ?? 0,
    ispPattern: options.ispPattern,
    seed,
  }
  const { numwant, trackerList } = setup
  const ctx = contextOf(setup, network)
  const pop = ctx.pop
  const ispNames = ctx.ispNames

  const workers = options.workers ?? (count >= 2000 ? Math.min(4, availableParallelism()) : 0)
  const done = new Float64Array(policies.length)
  const report = (i: number, f: number) => {
    done[i] = f
    options.progress?.(done.reduce((s, v) => s + v, 0) / policies.length, policies[i]!.id)
  }
  let runs: PolicyRun[]
  if (workers > 0 && policies.length > 1) {
    runs = await runPool<string, PolicyRun>(new URL('./bittorrent-worker.ts', import.meta.url), setup, policies.map((p) => p.id), workers, report)
  } else {
    runs = policies.map((p, i) => runPolicy(ctx, p.id, (f) => report(i, f)))
  }
  options.progress?.(1)
  const outcomes = runs.map((r) => r.outcome)

  const pidName = (p: number) => network.networkMap.pids[p] ?? '-'
  const seedlessPeers = pop.peers.filter((p) => p.role !== 'super-seed' && p.pid === pop.seedlessPid).length
  const summary: BittorrentSummary = {
    network: network.source,
    pids: network.networkMap.pids.length,
    superSeedPid: pidName(pop.superPid),
    seedlessPid: pidName(pop.seedlessPid),
    seedlessPeers,
    outcomes: outcomes.map(roundOutcome),
  }
  const pct = (x: number) => round(100 * x, 1)
  const tables: Table[] = [
    {
      title: `BitTorrent, ${count} peers + 1 super-seed, ${fileSize / 2 ** 20} MiB in ${pieces} pieces, ${summary.pids} PIDs (${network.source})`,
      columns: ['policy', 'cross-PID %', 'cross-ISP %', 'cost/byte', 'median s', 'p90 s', 'done %'],
      rows: outcomes.map((o) => [o.label, pct(o.crossPidShare), pct(o.crossIspShare), round(o.costPerByte, 2), round(o.medianDownload, 1), round(o.p90Download, 1), pct(o.completed)]),
    },
    {
      title: `PID without any seeder: ${summary.seedlessPid} (${seedlessPeers} leechers, farthest from the super-seed in ${summary.superSeedPid})`,
      columns: ['policy', 'done %', 'median s', 'p90 s', 'swarm median s'],
      rows: outcomes.map((o) => [o.label, pct(o.seedlessPid.completed), round(o.seedlessPid.medianDownload, 1), round(o.seedlessPid.p90Download, 1), round(o.medianDownload, 1)]),
    },
  ]
  const base = outcomes.find((o) => o.policy === 'random')
  const best = outcomes.find((o) => o.policy === 'tracker-alto-20') ?? outcomes.find((o) => o.policy.startsWith('tracker-alto'))
  const peerAlto = outcomes.find((o) => o.policy.startsWith('peer-alto'))
  const trackerSweep = outcomes.filter((o) => o.policy.startsWith('tracker-alto')).map((o) => ({ f: Math.round(parsePolicy(o.policy).randomFraction * 100), o })).sort((a, b) => a.f - b.f)
  const claims: Claim[] = []
  if (base && best) {
    claims.push({
      source: 'seed 000 §4.4.2',
      claim: 'ALTO saves link utilization for the operator (trial aim; no number published)',
      measured: `cross-PID traffic ${pct(base.crossPidShare)}% (random) -> ${pct(best.crossPidShare)}% (${best.label}); cost per byte ${round(base.costPerByte, 1)} -> ${round(best.costPerByte, 1)}`,
    })
    claims.push({
      source: 'seed 000 §4.4.2',
      claim: 'ALTO improves download time (trial aim; no number published)',
      measured: `median ${round(base.medianDownload, 0)} s -> ${round(best.medianDownload, 0)} s, p90 ${round(base.p90Download, 0)} s -> ${round(best.p90Download, 0)} s`,
    })
    claims.push({
      source: 'REFERENCE §4 (P4P field test)',
      claim: 'share of P2P traffic kept local: 58% with P4P vs 6% native',
      measured: `intra-PID share ${pct(1 - base.crossPidShare)}% (random) vs ${pct(1 - best.crossPidShare)}% (${best.label})`,
    })
  }
  if (base && peerAlto && best) {
    claims.push({
      source: 'seed 002',
      claim: 'peer-based ALTO queries are of limited benefit in tracker-based P2P',
      measured: `cross-PID ${pct(peerAlto.crossPidShare)}% with ${peerAlto.label} vs ${pct(best.crossPidShare)}% tracker-side (random: ${pct(base.crossPidShare)}%)`,
    })
  }
  if (trackerSweep.length > 1) {
    claims.push({
      source: 'seed 000 §4.4.2',
      claim: 'randomly selected unranked peers (e.g. 20%) avoid over-localization, which may degrade performance',
      measured: trackerSweep.map(({ f, o }) => `${f}%: p90 ${round(o.p90Download, 0)} s, seedless PID p90 ${round(o.seedlessPid.p90Download, 0)} s`).join('; '),
    })
  }

  const charts: ChartSpec[] = [
    {
      kind: 'line',
      file: 'bittorrent-download-cdf.svg',
      title: `Download time, ${count} peers`,
      xLabel: 'download time (s)',
      yLabel: 'share of peers done',
      step: true,
      yMin: 0,
      yMax: 1,
      series: outcomes.map((o, i) => {
        return { name: o.label, points: cdfPoints(runs[i]!.times, count), dashed: o.policy.startsWith('peer') }
      }),
    },
    {
      kind: 'bar',
      file: 'bittorrent-traffic.svg',
      title: 'Traffic leaving the PID and the ISP',
      yLabel: 'share of bytes (%)',
      categories: outcomes.map((o) => o.label.replace(' ALTO', '').replace(' random', ' rnd')),
      series: [
        { name: 'cross-PID', values: outcomes.map((o) => pct(o.crossPidShare)) },
        { name: `cross-ISP (${ispNames.length} ISPs)`, values: outcomes.map((o) => pct(o.crossIspShare)) },
      ],
      yMax: 100,
    },
    {
      kind: 'bar',
      file: 'bittorrent-cost.svg',
      title: 'Routing cost per byte (traffic × cost / traffic)',
      yLabel: `mean ${String(network.costMap.costType['cost-metric'])} per byte`,
      categories: outcomes.map((o) => o.label.replace(' ALTO', '').replace(' random', ' rnd')),
      series: [{ name: 'cost per byte', values: outcomes.map((o) => round(o.costPerByte, 3)) }],
    },
    {
      kind: 'bar',
      file: 'bittorrent-seedless.svg',
      title: `Download time in the PID without seeders (${summary.seedlessPid}) vs the swarm`,
      yLabel: 'seconds',
      categories: outcomes.map((o) => o.label.replace(' ALTO', '').replace(' random', ' rnd')),
      series: [
        { name: 'swarm median', values: outcomes.map((o) => round(o.medianDownload, 1)) },
        { name: 'swarm p90', values: outcomes.map((o) => round(o.p90Download, 1)) },
        { name: 'seedless PID median', values: outcomes.map((o) => round(o.seedlessPid.medianDownload, 1)) },
        { name: 'seedless PID p90', values: outcomes.map((o) => round(o.seedlessPid.p90Download, 1)) },
      ],
    },
  ]
  if (trackerSweep.length > 1) {
    charts.push({
      kind: 'line',
      file: 'bittorrent-random-share.svg',
      title: 'Tracker-side ALTO: share of random peers vs cross-PID traffic',
      xLabel: 'random share of the tracker list (%)',
      yLabel: 'cross-PID traffic (%)',
      yMin: 0,
      yMax: 100,
      series: [
        { name: 'tracker-side ALTO', points: trackerSweep.map(({ f, o }) => [f, pct(o.crossPidShare)]) },
        ...(base ? [{ name: 'random tracker', points: [[0, pct(base.crossPidShare)], [trackerSweep[trackerSweep.length - 1]!.f, pct(base.crossPidShare)]] as [number, number][], dashed: true }] : []),
        ...(peerAlto ? [{ name: peerAlto.label, points: [[0, pct(peerAlto.crossPidShare)], [trackerSweep[trackerSweep.length - 1]!.f, pct(peerAlto.crossPidShare)]] as [number, number][], dashed: true }] : []),
      ],
    })
  }

  return {
    scenario: 'bittorrent',
    title: 'BitTorrent swarm with ALTO-guided peer selection (seed 000 §4.4.2)',
    seed,
    parameters: {
      peers: count,
      policies: policies.map((p) => p.id),
      fileSize,
      pieceSize,
      pieces,
      numwant,
      trackerList,
      arrival: setup.arrival,
      maxTime: setup.maxTime,
      superSeedUpload: setup.superSeedUpload,
      pidUplink: setup.pidUplink,
      network: network.source,
      isps: ispNames,
    },
    summary,
    tables,
    charts,
    claims,
    notes: [
      'Flow-level model in 1 s steps: equal upload shares per unchoked connection (4 slots), downloads capped by proportional scaling, not max-min fairness; rarest-first uses swarm-wide piece counts; no TCP dynamics, no latency, no endgame mode.',
      'The seed trial ran real clients on 70 PlanetLab nodes of one ISP; here peers are spread uniformly over every PID of the map, including PIDs outside the ISP, and join within the first minute.',
      `Every policy connects a peer to ${numwant} peers per announce; peer-side ALTO ranks a random tracker list of ${trackerList} with the client library and keeps its best ${numwant}.`,
      `The PID farthest from the super-seed (${summary.seedlessPid}) holds leechers only: it shows whether localization starves a PID without local seeders.`,
      'Cross-ISP groups PIDs by name up to the first "-" (all region-* PIDs are one ISP in the default network).',
    ],
  }
}

function roundOutcome(o: PolicyOutcome): PolicyOutcome {
  const r = (x: number) => round(x, 4)
  return {
    ...o,
    crossPidShare: r(o.crossPidShare),
    crossIspShare: r(o.crossIspShare),
    costPerByte: r(o.costPerByte),
    trafficCost: r(o.trafficCost),
    completed: r(o.completed),
    medianDownload: r(o.medianDownload),
    p90Download: r(o.p90Download),
    meanDownload: r(o.meanDownload),
    seedlessPid: { completed: r(o.seedlessPid.completed), medianDownload: r(o.seedlessPid.medianDownload), p90Download: r(o.seedlessPid.p90Download) },
    uploaded: Math.round(o.uploaded),
    downloaded: Math.round(o.downloaded),
    useful: Math.round(o.useful),
  }
}
