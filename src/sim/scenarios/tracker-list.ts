/**
 * @module sim/scenarios/tracker-list
 * Seed 002's numerical example: a swarm of 10,000 peers of which 100 are favourable (in the
 * requester's PID), and a tracker list of 100 peers. With a random list, how likely is it that no
 * favourable peer is on it (the seed: 36%), or at most four (99%)? And how many favourable peers
 * can a peer-side ALTO query choose from, against a tracker-side one? Exact hypergeometric values,
 * checked by Monte Carlo runs of the real tracker's `selectPeers` over a real `Swarm`, and the
 * peer's ranking of its list by the client library's `rankByCost` over `LocalGuidance`.
 */
import { rankByCost, seededRng } from '../../cost/rank.ts'
import { CostMap } from '../../cost/cost-map.ts'
import { NetworkMap } from '../../netmap/network-map.ts'
import { selectPeers } from '../../tracker/selection.ts'
import { Swarm, type SwarmPeer } from '../../tracker/swarm.ts'
import type { ParsedAddress } from '../../netmap/address.ts'
import { formatAddress } from '../../netmap/address.ts'
import { cdf, expectation, pmf } from '../hypergeometric.ts'
import { guidanceOf, swarmPeerOf } from '../network.ts'
import type { ChartSpec, Progress, ScenarioResult } from '../result.ts'
import { deriveSeed, round } from '../stats.ts'

export interface TrackerListOptions {
  /** Peers in the swarm besides the requester. @default 10000 */
  swarm?: number
  /** Favourable peers among them (in the requester's PID). @default 100 */
  favourable?: number
  /** Length of the tracker's list. @default 100 */
  list?: number
  /** Monte Carlo trials of the tracker's random list. @default 20000 */
  trials?: number
  /** Share of the tracker-side ALTO list drawn at random (the tracker's default is 0.2). @default [0, 0.2] */
  randomFractions?: number[]
  /** How many of its list a peer connects to after ranking it (peer-side ALTO). @default 20 */
  connect?: number
  seed?: number
  progress?: Progress
}

export interface TrackerListSummary {
  exact: { pNone: number; pAtMostFour: number; expected: number; pmf: number[] }
  monteCarlo: { trials: number; pNone: number; pAtMostFour: number; mean: number; standardErrorNone: number }
  peerSide: { favourableOnList: number; pAtLeastOne: number; favourableAmongConnected: number }
  trackerSide: { randomFraction: number; favourableOnList: number; samePidShare: number }[]
}

interface Fixture {
  swarm: Swarm
  requester: SwarmPeer
  near: Set<SwarmPeer>
  addressOf: Map<SwarmPeer, ParsedAddress>
  guidance: ReturnType<typeof guidanceOf>
}

/** A two-PID network: `near` (the requester and the favourable peers) and `far`, cost 1 inside a PID, 10 across. */
function fixture(others: number, favourable: number): Fixture {
  const networkMap = NetworkMap.fromData('tracker-list', { near: { ipv4: ['10.0.0.0/9'] }, far: { ipv4: ['10.128.0.0/9'] } })
  const costMap = CostMap.fromData(networkMap, { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' }, { near: { near: 1, far: 10 }, far: { near: 10, far: 1 } })
  const guidance = guidanceOf({ networkMap, costMap, source: 'two PIDs: near, far' })
  const swarm = new Swarm()
  const near = new Set<SwarmPeer>()
  const addressOf = new Map<SwarmPeer, ParsedAddress>()
  const add = (index: number, base: number, offset: number): SwarmPeer => {
    const v = base + offset + 1
    const bytes = new Uint8Array([10, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff])
    const address = { family: 'ipv4' as const, bytes, text: formatAddress('ipv4', bytes) }
    const peer = swarm.upsert(swarmPeerOf(index, address, false))
    addressOf.set(peer, address)
    return peer
  }
  const requester = add(0, 0, 0)
  for (let i = 0; i < favourable; i++) near.add(add(1 + i, 0, 1 + i))
  for (let i = 0; i < others - favourable; i++) add(1 + favourable + i, 0x800000, i)
  return { swarm, requester, near, addressOf, guidance }
}

export function runTrackerList(options: TrackerListOptions = {}): ScenarioResult<TrackerListSummary> {
  const N = options.swarm ?? 10_000
  const K = options.favourable ?? 100
  const n = options.list ?? 100
  const trials = options.trials ?? 20_000
  const fractions = options.randomFractions ?? [0, 0.2]
  const connect = options.connect ?? 20
  const seed = options.seed ?? 1
  if (!(N >= 1 && N <= 8_000_000)) throw new RangeError('swarm must be from 1 to 8,000,000')
  if (!(K >= 0 && K <= N)) throw new RangeError('favourable must be from 0 to the swarm size')
  if (!(n >= 1 && n <= N)) throw new RangeError('list must be from 1 to the swarm size')
  const h = { population: N, favourable: K, draws: n }
  const probabilities = pmf(h)
  const exact = { pNone: probabilities[0] ?? 0, pAtMostFour: cdf(h, 4), expected: expectation(h), pmf: [...probabilities.slice(0, 11)] }

  const fx = fixture(N, K)
  const countNear = (peers: readonly SwarmPeer[]): number => peers.reduce((c, p) => c + (fx.near.has(p) ? 1 : 0), 0)
  const costOf = (from: ParsedAddress) => (peer: SwarmPeer) => fx.guidance.local.cost(from, fx.addressOf.get(peer)!)
  const self = fx.addressOf.get(fx.requester)!

  // Monte Carlo: the real tracker without guidance, then the peer ranks its list (peer-side ALTO).
  const rng = seededRng(deriveSeed(seed, 'tracker-list/random'))
  const histogram = new Float64Array(Math.min(n, K) + 1)
  let connectedNear = 0
  for (let t = 0; t < trials; t++) {
    const { peers } = selectPeers({ swarm: fx.swarm, requester: fx.requester, numwant: n, randomFraction: 0, rng })
    const x = countNear(peers)
    histogram[x]!++
    const ranked = rankByCost(peers, costOf(self), { rng, randomFraction: 0.2 }).slice(0, connect)
    connectedNear += ranked.reduce((c, r) => c + (fx.near.has(r.item) ? 1 : 0), 0)
    if (t % 1000 === 999) options.progress?.((t + 1) / trials / 2, 'random lists')
  }
  const mcNone = histogram[0]! / trials
  let mcFour = 0
  let mcSum = 0
  histogram.forEach((c, k) => {
    if (k <= 4) mcFour += c
    mcSum += c * k
  })
  const monteCarlo = {
    trials,
    pNone: mcNone,
    pAtMostFour: mcFour / trials,
    mean: mcSum / trials,
    standardErrorNone: Math.sqrt((mcNone * (1 - mcNone)) / trials),
  }

  // Tracker-side ALTO: the real tracker's selection with guidance, at each random share.
  const bucketing = fx.swarm.bucketing(fx.guidance.tracker, fx.guidance.tracker)
  const guided = { bucketing, groupsFrom: (pid: number) => fx.guidance.tracker.groupsFrom(pid) }
  const trackerTrials = Math.max(50, Math.min(2000, Math.floor(trials / 10)))
  const trackerSide = fractions.map((f, i) => {
    const r = seededRng(deriveSeed(seed, `tracker-list/guided/${f}`))
    let near = 0
    let same = 0
    for (let t = 0; t < trackerTrials; t++) {
      const s = selectPeers({ swarm: fx.swarm, requester: fx.requester, numwant: n, randomFraction: f, rng: r, guidance: guided })
      near += countNear(s.peers)
      same += s.samePid / Math.max(1, s.peers.length)
    }
    options.progress?.(0.5 + ((i + 1) / fractions.length) * 0.3, 'guided lists')
    return { randomFraction: f, favourableOnList: near / trackerTrials, samePidShare: same / trackerTrials }
  })

  // Favourable peers on the list against its length: exact for random lists, the real tracker for guided ones.
  const lengths = [10, 20, 50, 100, 200, 500, 1000, 2000].filter((l) => l <= N)
  const sweepRng = seededRng(deriveSeed(seed, 'tracker-list/sweep'))
  const sweepTrackerF = fractions.includes(0.2) ? 0.2 : (fractions[0] ?? 0.2)
  const sweep = lengths.map((l) => {
    let near = 0
    const reps = 20
    for (let t = 0; t < reps; t++) near += countNear(selectPeers({ swarm: fx.swarm, requester: fx.requester, numwant: l, randomFraction: sweepTrackerF, rng: sweepRng, guidance: guided }).peers)
    const hl = { population: N, favourable: K, draws: l }
    return { length: l, peerSide: expectation(hl), trackerSide: near / reps, pNone: pmf(hl)[0] ?? 0, pAtMostFour: cdf(hl, 4) }
  })
  options.progress?.(1)

  const peerSide = { favourableOnList: monteCarlo.mean, pAtLeastOne: 1 - monteCarlo.pNone, favourableAmongConnected: connectedNear / trials }
  const summary: TrackerListSummary = {
    exact: { ...exact, pNone: exact.pNone, pAtMostFour: exact.pAtMostFour },
    monteCarlo,
    peerSide,
    trackerSide,
  }
  const pct = (x: number) => `${round(100 * x, 2)}%`
  const charts: ChartSpec[] = [
    {
      kind: 'bar',
      file: 'tracker-list-pmf.svg',
      title: `Favourable peers on a random tracker list (N=${N}, K=${K}, list ${n})`,
      xLabel: 'favourable peers on the list',
      yLabel: 'probability',
      categories: exact.pmf.slice(0, 9).map((_, k) => String(k)),
      series: [
        { name: 'exact (hypergeometric)', values: exact.pmf.slice(0, 9) },
        { name: `Monte Carlo, real tracker (${trials} lists)`, values: [...histogram.slice(0, 9)].map((c) => c / trials) },
      ],
    },
    {
      kind: 'line',
      file: 'tracker-list-favourable.svg',
      title: 'Favourable peers on the list: peer-side vs tracker-side ALTO',
      xLabel: 'tracker list length',
      yLabel: 'expected favourable peers on the list',
      logX: true,
      logY: true,
      series: [
        { name: 'peer-side (random list)', points: sweep.map((s) => [s.length, Math.max(s.peerSide, 1e-3)]) },
        { name: `tracker-side (${Math.round(sweepTrackerF * 100)}% random)`, points: sweep.map((s) => [s.length, Math.max(s.trackerSide, 1e-3)]) },
        { name: 'favourable peers in swarm', points: sweep.map((s) => [s.length, K]), dashed: true },
      ],
    },
    {
      kind: 'line',
      file: 'tracker-list-probabilities.svg',
      title: 'Random list: P(no favourable peer) and P(at most four)',
      xLabel: 'tracker list length',
      yLabel: 'probability',
      logX: true,
      yMin: 0,
      yMax: 1,
      series: [
        { name: 'P(none)', points: sweep.map((s) => [s.length, s.pNone]) },
        { name: 'P(at most 4)', points: sweep.map((s) => [s.length, s.pAtMostFour]) },
      ],
    },
  ]
  return {
    scenario: 'tracker-list',
    title: 'Tracker list: how many favourable peers can ALTO choose from (seed 002)',
    seed,
    parameters: { swarm: N, favourable: K, list: n, trials, randomFractions: fractions, connect },
    summary: roundDeep(summary),
    tables: [
      {
        title: `Random tracker list of ${n} from ${N} peers, ${K} favourable`,
        columns: ['quantity', 'exact', 'Monte Carlo', 'MC std. error'],
        rows: [
          ['P(no favourable peer)', round(exact.pNone, 6), round(monteCarlo.pNone, 6), round(monteCarlo.standardErrorNone, 6)],
          ['P(at most four)', round(exact.pAtMostFour, 6), round(monteCarlo.pAtMostFour, 6), null],
          ['E[favourable on list]', round(exact.expected, 6), round(monteCarlo.mean, 6), null],
        ],
      },
      {
        title: 'Favourable peers an ALTO query can choose from',
        columns: ['where ALTO is asked', 'favourable on list', `favourable among ${connect} connected`, 'same-PID share'],
        rows: [
          ['peer-side (ranks the random list)', round(peerSide.favourableOnList, 3), round(peerSide.favourableAmongConnected, 3), null],
          ...trackerSide.map((t) => [`tracker-side, ${Math.round(t.randomFraction * 100)}% random`, round(t.favourableOnList, 3), round(Math.min(connect, t.favourableOnList), 3), round(t.samePidShare, 3)]),
        ],
      },
    ],
    charts,
    claims: [
      { source: 'seed 002', claim: 'P(no favourable peer on the list) = 36%', measured: `${pct(exact.pNone)} exact, ${pct(monteCarlo.pNone)} Monte Carlo` },
      { source: 'seed 002', claim: 'P(four or fewer favourable peers) = 99%', measured: `${pct(exact.pAtMostFour)} exact, ${pct(monteCarlo.pAtMostFour)} Monte Carlo` },
      {
        source: 'seed 002',
        claim: 'a peer-based ALTO query cannot consider enough favourable peers',
        measured: `peer-side: ${round(peerSide.favourableOnList, 2)} favourable on the list; tracker-side: ${trackerSide.map((t) => `${round(t.favourableOnList, 1)} (${Math.round(t.randomFraction * 100)}% random)`).join(', ')}`,
      },
    ],
    notes: [
      `The swarm is the requester plus ${N} others; the closed form is C(${N - K},${n})/C(${N},${n}) for P(none). The seed rounds to 36% and 99%.`,
      'Tracker-side lists come from the real tracker selection: with 0% random it returns every favourable peer but one, because it always keeps one peer outside the requester\'s PID.',
      'Peer-side ALTO ranks the random list with the client library\'s rankByCost (20% random places) and connects to the best peers of it; it cannot rank peers the tracker did not return.',
    ],
  }
}

function roundDeep<T>(value: T): T {
  if (typeof value === 'number') return round(value, 8) as T
  if (Array.isArray(value)) return value.map(roundDeep) as T
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, roundDeep(v)])) as T
  return value
}
