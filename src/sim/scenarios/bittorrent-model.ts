/**
 * @module sim/scenarios/bittorrent-model
 * One run of the BitTorrent scenario: the peers (the same for every policy of a seed), the real
 * tracker swarm and client ranking behind the chosen policy, the flow-level swarm, and the numbers
 * the report shows. Everything a run needs is in a serializable {@link BittorrentSetup}, so runs can
 * go to worker threads and still give exactly the result they give in process.
 */
import { seededRng } from '../../cost/rank.ts'
import { CostMap } from '../../cost/cost-map.ts'
import { NetworkMap } from '../../netmap/network-map.ts'
import type { ParsedAddress } from '../../netmap/address.ts'
import type { CostMapData, CostType, NetworkMapData } from '../../protocol/types.ts'
import { runFlowSwarm, type FlowPeer, type FlowRun } from '../flow-swarm.ts'
import { addressInPid, guidanceOf, ispGroups, populatedPids, type Guidance, type SimNetwork } from '../network.ts'
import { parsePolicy, TrackerSelector, type Policy } from '../peer-selection.ts'
import { deriveSeed, quantileSorted, shuffle } from '../stats.ts'

/** Seed 000 Table 1: share of peers, uplink and downlink in kbit/s. */
export const BANDWIDTH_CLASSES = [
  { share: 0.2, up: 128, down: 784 },
  { share: 0.4, up: 384, down: 1500 },
  { share: 0.25, up: 1000, down: 3000 },
  { share: 0.15, up: 5000, down: 10000 },
] as const

/** Everything a run depends on, as plain data. */
export interface BittorrentSetup {
  network: { id: string; vtag: string; pids: NetworkMapData; costType: CostType; costs: CostMapData; source: string }
  peers: number
  fileSize: number
  pieces: number
  numwant: number
  trackerList: number
  arrival: number
  maxTime: number
  superSeedUpload: number
  /** Capacity of each PID's links to other PIDs, kbit/s (0: unlimited). */
  pidUplink: number
  ispPattern: string | undefined
  seed: number
}

export interface PolicyOutcome {
  policy: string
  label: string
  bytes: number
  crossPidShare: number
  crossIspShare: number
  /** Mean cost per byte (cost map units), over bytes between PIDs with a cost. */
  costPerByte: number
  /** Total traffic × cost, GB × cost unit. */
  trafficCost: number
  completed: number
  medianDownload: number
  p90Download: number
  meanDownload: number
  seedlessPid: { completed: number; medianDownload: number; p90Download: number }
  endTime: number
  announces: number
  uploaded: number
  downloaded: number
  useful: number
}

export interface PolicyRun {
  outcome: PolicyOutcome
  /** Download times of the peers that completed, ascending. */
  times: Float64Array
}

export interface BittorrentContext {
  setup: BittorrentSetup
  network: SimNetwork
  guidance: Guidance
  ispOfPid: Int32Array
  ispNames: string[]
  pop: Population
}

export function networkSetup(network: SimNetwork): BittorrentSetup['network'] {
  const body = network.networkMap.toBody()
  return { id: network.networkMap.resourceId, vtag: network.networkMap.vtag, pids: body['network-map'], costType: network.costMap.costType, costs: network.costMap.toData(), source: network.source }
}

/** The context of a setup; `network` reuses already built maps (in process) instead of rebuilding them. */
export function contextOf(setup: BittorrentSetup, network?: SimNetwork): BittorrentContext {
  let net = network
  if (!net) {
    const networkMap = NetworkMap.fromData(setup.network.id, setup.network.pids, setup.network.vtag)
    net = { networkMap, costMap: CostMap.fromData(networkMap, setup.network.costType, setup.network.costs), source: setup.network.source }
  }
  const { ispOfPid, names } = ispGroups(net.networkMap, setup.ispPattern)
  return { setup, network: net, guidance: guidanceOf(net), ispOfPid, ispNames: names, pop: population(net, setup) }
}

export function runPolicy(ctx: BittorrentContext, policyId: string, progress?: (done: number) => void): PolicyRun {
  const { setup, network, guidance, pop } = ctx
  const policy = parsePolicy(policyId)
  const rng = seededRng(deriveSeed(setup.seed, `bittorrent/${policy.id}`))
  const selector = new TrackerSelector({ policy, guidance, addresses: pop.addresses, numwant: setup.numwant, trackerList: setup.trackerList, rng, initialSeeders: (i) => i === 0 })
  const run = runFlowSwarm(
    pop.peers,
    network.networkMap.pids.length,
    selector,
    { pieces: setup.pieces, pieceSize: setup.fileSize / setup.pieces, maxTime: setup.maxTime, pidUplink: (setup.pidUplink * 1000) / 8 },
    rng,
    progress,
  )
  return outcome(policy, run, pop, network, ctx.ispOfPid)
}

export interface Population {
  peers: FlowPeer[]
  addresses: ParsedAddress[]
  superPid: number
  seedlessPid: number
}

function population(network: SimNetwork, setup: BittorrentSetup): Population {
  const count = setup.peers
  const options = setup
  const rng = seededRng(deriveSeed(setup.seed, 'bittorrent/population'))
  const { networkMap, costMap } = network
  const pids = populatedPids(networkMap, rng)
  if (pids.length < 2) throw new RangeError('the network map needs at least two PIDs where peers can be placed')
  const superPid = pids[Math.floor(rng() * pids.length)]!
  const pidOfPeer = Array.from({ length: count }, () => pids[Math.floor(rng() * pids.length)]!)
  // The PID farthest from the super-seed gets no seeder at all.
  let seedlessPid = -1
  let worst = Number.NEGATIVE_INFINITY
  for (const p of pids) {
    if (p === superPid || !pidOfPeer.includes(p)) continue
    const c = costMap.cost(superPid, p)
    const key = Number.isNaN(c) ? Number.POSITIVE_INFINITY : c
    if (key > worst) {
      worst = key
      seedlessPid = p
    }
  }
  const classes: number[] = []
  BANDWIDTH_CLASSES.forEach((c, i) => {
    for (let k = 0; k < Math.round(c.share * count); k++) classes.push(i)
  })
  while (classes.length < count) classes.push(1)
  classes.length = count
  shuffle(classes, rng)
  const eligible = shuffle(pidOfPeer.map((p, i) => (p === seedlessPid ? -1 : i)).filter((i) => i >= 0), rng)
  const seeders = new Set(eligible.slice(0, Math.round(count / 2)))

  const kbit = (k: number) => (k * 1000) / 8
  const peers: FlowPeer[] = [{ pid: superPid, up: kbit(options.superSeedUpload), down: kbit(options.superSeedUpload), joinAt: 0, role: 'super-seed' }]
  const addresses: ParsedAddress[] = [addressInPid(networkMap, superPid, rng)!]
  for (let i = 0; i < count; i++) {
    const c = BANDWIDTH_CLASSES[classes[i]!]!
    peers.push({ pid: pidOfPeer[i]!, up: kbit(c.up), down: kbit(c.down), joinAt: rng() * options.arrival, role: seeders.has(i) ? 'seeder' : 'leecher' })
    addresses.push(addressInPid(networkMap, pidOfPeer[i]!, rng)!)
  }
  return { peers, addresses, superPid, seedlessPid }
}

function outcome(policy: Policy, run: FlowRun, pop: Population, network: SimNetwork, ispOfPid: Int32Array): PolicyRun {
  const n = network.networkMap.pids.length
  let bytes = 0
  let crossPid = 0
  let crossIsp = 0
  let costBytes = 0
  let costed = 0
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      const v = run.traffic[a * n + b]!
      if (v === 0) continue
      bytes += v
      if (a !== b) crossPid += v
      if (ispOfPid[a] !== ispOfPid[b]) crossIsp += v
      const c = network.costMap.cost(a, b)
      if (!Number.isNaN(c)) {
        costBytes += v * c
        costed += v
      }
    }
  }
  const times: number[] = []
  const seedless: number[] = []
  let seedlessCount = 0
  pop.peers.forEach((p, i) => {
    if (p.role === 'super-seed') return
    const inSeedless = p.pid === pop.seedlessPid
    if (inSeedless) seedlessCount++
    const d = run.doneAt[i]!
    if (Number.isNaN(d)) return
    times.push(d - p.joinAt)
    if (inSeedless) seedless.push(d - p.joinAt)
  })
  const sorted = Float64Array.from(times).sort()
  const sortedSeedless = Float64Array.from(seedless).sort()
  const sum = (a: Float64Array) => a.reduce((s, v) => s + v, 0)
  const outcome: PolicyOutcome = {
    policy: policy.id,
    label: policy.label,
    bytes,
    crossPidShare: bytes ? crossPid / bytes : 0,
    crossIspShare: bytes ? crossIsp / bytes : 0,
    costPerByte: costed ? costBytes / costed : Number.NaN,
    trafficCost: costBytes / 1e9,
    completed: times.length / (pop.peers.length - 1),
    medianDownload: quantileSorted(sorted, 0.5),
    p90Download: quantileSorted(sorted, 0.9),
    meanDownload: times.length ? times.reduce((s, v) => s + v, 0) / times.length : Number.NaN,
    seedlessPid: { completed: seedlessCount ? seedless.length / seedlessCount : Number.NaN, medianDownload: quantileSorted(sortedSeedless, 0.5), p90Download: quantileSorted(sortedSeedless, 0.9) },
    endTime: run.endTime,
    announces: run.announces,
    uploaded: sum(run.uploaded),
    downloaded: sum(run.downloaded),
    useful: run.useful,
  }
  return { outcome, times: sorted }
}

