/**
 * @module sim/scenarios/server-load
 * Seed 003: peers re-query ALTO every 30 s epoch — how many requests per second reach the server?
 * One population of peers (churning, spread over swarms of Zipf popularity) is followed on a
 * virtual clock, and every epoch of every peer is counted under four ways of getting guidance:
 *  - `ecs`: each peer sends one endpoint cost query per epoch with its new candidates (seed 003).
 *  - `map`: each peer ranks locally from cached network and cost maps, as ALTOkit's client does:
 *    GET answers are reused for the server's max-age, then revalidated with If-None-Match (a 304
 *    when unchanged); the IRD is read once per client.
 *  - `tracker`: only the trackers query ALTO (their guidance providers revalidate the maps every
 *    30 s); peers ask nobody.
 *  - `dht`: seed 001's redistribution: in each swarm one peer (the longest-present) keeps the maps
 *    fresh from the server like a `map` client; the others find a holder through the DHT and fetch
 *    the maps from it. A peer joining a swarm with nobody in it fetches from the server.
 * Network and cost maps change `mapChangesPerHour` times an hour. Body sizes come from the real
 * maps' RFC 7285 serialization.
 */
import { seededRng, type Rng } from '../../cost/rank.ts'
import { formatAddress } from '../../netmap/address.ts'
import { EventQueue } from '../engine.ts'
import { addressInPid, type SimNetwork } from '../network.ts'
import type { ChartSpec, Claim, Progress, ScenarioResult } from '../result.ts'
import { deriveSeed, exponential, round } from '../stats.ts'

export const STRATEGIES = ['ecs', 'map', 'tracker', 'dht'] as const
export type Strategy = (typeof STRATEGIES)[number]

const LABELS: Record<Strategy, string> = {
  ecs: 'per-peer ECS',
  map: 'map-based, revalidating',
  tracker: 'tracker-side guidance',
  dht: 'DHT redistribution',
}

export interface ServerLoadOptions {
  network: SimNetwork
  /** Peers present at any time. @default 10000 */
  peers?: number
  /** Swarms the peers are spread over (Zipf(1) popularity). @default 100 */
  swarms?: number
  /** Epoch, s (seed 003: typically 30). @default 30 */
  epoch?: number
  /** Simulated time, s. @default 1800 */
  duration?: number
  /** `Cache-Control: max-age` of map resources, s (the server's default). @default 60 */
  maxAge?: number
  /** New map versions per hour. @default 2 */
  mapChangesPerHour?: number
  /** Mean session length, s (exponential); a leaving peer is replaced by a new one. @default 1200 */
  session?: number
  /** Trackers, each with its own guidance provider. @default 1 */
  trackers?: number
  /** Candidates per endpoint cost query. @default 50 */
  candidates?: number
  /** Requests per second one ALTO server sustains (seed 000 §4.2.1). @default 1000 */
  serverCapacity?: number
  seed?: number
  progress?: Progress
}

export interface StrategyLoad {
  strategy: Strategy
  requests: number
  meanPerSecond: number
  peakPerSecond: number
  fullResponses: number
  notModified: number
  meanBytesPerSecond: number
  peakBytesPerSecond: number
  /** DHT lookups per second (dht only). */
  dhtLookupsPerSecond: number
  /** Map bytes per second between peers (dht only). */
  peerBytesPerSecond: number
  /** Servers of `serverCapacity` needed for the peak. */
  serversForPeak: number
}

export interface ServerLoadSummary {
  bodyBytes: { ird: number; networkMap: number; costMap: number; ecsRequest: number; ecsResponse: number }
  mapChanges: number
  arrivals: number
  loads: StrategyLoad[]
}

/** Request counters of one strategy, in one-second bins. */
class Meter {
  readonly requests: Float64Array
  readonly bytes: Float64Array
  full = 0
  notModified = 0
  lookups = 0
  peerBytes = 0
  constructor(seconds: number) {
    this.requests = new Float64Array(seconds)
    this.bytes = new Float64Array(seconds)
  }
  hit(t: number, bytes: number, full: boolean): void {
    const s = Math.min(this.requests.length - 1, Math.floor(t))
    this.requests[s]!++
    this.bytes[s]! += bytes
    if (full) this.full++
  }
}

/** An ALTOkit client's cache of the two map resources (network map, cost map). */
interface MapCache {
  freshUntil: number
  version: number
}

type LoadEvent = { kind: 'tick'; slot: number; gen: number } | { kind: 'leave'; slot: number; gen: number } | { kind: 'change' } | { kind: 'tracker'; tracker: number }

function sizes(network: SimNetwork, candidates: number, rng: Rng): ServerLoadSummary['bodyBytes'] {
  const { networkMap, costMap } = network
  const networkMapBytes = JSON.stringify(networkMap.toBody()).length
  const costMapBytes = JSON.stringify({
    meta: { 'dependent-vtags': [{ 'resource-id': networkMap.resourceId, tag: networkMap.vtag }], 'cost-type': costMap.costType },
    'cost-map': costMap.toData(),
  }).length
  // A representative endpoint cost exchange: one source, `candidates` destinations in random PIDs.
  const typed = () => {
    const a = addressInPid(networkMap, Math.floor(rng() * networkMap.pids.length), rng)
    return a ? `${a.family}:${a.text}` : `ipv4:${formatAddress('ipv4', new Uint8Array([192, 0, 2, 1]))}`
  }
  const src = typed()
  const dsts = Array.from({ length: candidates }, typed)
  const request = JSON.stringify({ 'cost-type': costMap.costType, endpoints: { srcs: [src], dsts } }).length
  const response = JSON.stringify({ meta: { 'cost-type': costMap.costType }, 'endpoint-cost-map': { [src]: Object.fromEntries(dsts.map((d) => [d, round(rng() * 60, 1)])) } }).length
  // The IRD is the server's; about 2 KB for a server with a dozen resources (an assumption).
  return { ird: 2048, networkMap: networkMapBytes, costMap: costMapBytes, ecsRequest: request, ecsResponse: response }
}

export function runServerLoad(options: ServerLoadOptions): ScenarioResult<ServerLoadSummary> {
  const seed = options.seed ?? 1
  const N = options.peers ?? 10_000
  const S = options.swarms ?? 100
  const epoch = options.epoch ?? 30
  const duration = options.duration ?? 1800
  const maxAge = options.maxAge ?? 60
  const changesPerHour = options.mapChangesPerHour ?? 2
  const session = options.session ?? 1200
  const T = options.trackers ?? 1
  const candidates = options.candidates ?? 50
  const capacity = options.serverCapacity ?? 1000
  if (!(N >= 1 && N <= 2_000_000)) throw new RangeError('peers must be from 1 to 2,000,000')
  if (!(S >= 1)) throw new RangeError('swarms must be at least 1')
  if (!(epoch > 0 && duration >= epoch)) throw new RangeError('the duration must be at least one epoch')
  if (!(maxAge >= 0 && session > 0 && T >= 0 && changesPerHour >= 0)) throw new RangeError('max-age, session, trackers and map changes must be positive')
  const rng = seededRng(deriveSeed(seed, 'server-load'))
  const bodies = sizes(options.network, candidates, rng)
  const mapBytes = [bodies.networkMap, bodies.costMap]

  const meters: Record<Strategy, Meter> = { ecs: new Meter(duration), map: new Meter(duration), tracker: new Meter(duration), dht: new Meter(duration) }
  // Swarm popularity: Zipf(1).
  const weights = Array.from({ length: S }, (_, k) => 1 / (k + 1))
  const totalWeight = weights.reduce((a, b) => a + b, 0)
  const pickSwarm = () => {
    let r = rng() * totalWeight
    let k = 0
    while (k < S - 1 && r >= weights[k]!) r -= weights[k++]!
    return k
  }
  let version = 0
  const q = new EventQueue<LoadEvent>()
  // Per peer slot: current occupant's generation, swarm, join time, map cache, DHT lookup schedule.
  const gen = new Int32Array(N)
  const swarmOf = new Int32Array(N)
  const joinedAt = new Float64Array(N)
  const cache: MapCache[][] = Array.from({ length: N }, () => [])
  const nextLookup = new Float64Array(N)
  const members: Set<number>[] = Array.from({ length: S }, () => new Set())
  const refresher = new Int32Array(S).fill(-1)
  const swarmCache: MapCache[][] = Array.from({ length: S }, () => [])
  const trackerCache: MapCache[][] = Array.from({ length: T }, () => [])
  let arrivals = 0

  /** One `guidance()` call of an ALTOkit client with cache `c` at time t: reuse, revalidate or fetch. */
  const revalidate = (meter: Meter, c: MapCache[], t: number): void => {
    for (let r = 0; r < 2; r++) {
      const entry = c[r]
      if (entry && entry.freshUntil > t) continue
      const full = !entry || entry.version !== version
      meter.hit(t, full ? mapBytes[r]! : 0, full)
      if (!full) meter.notModified++
      c[r] = { freshUntil: t + maxAge, version }
    }
  }

  /**
   * A peer arrives at `t`. Peers present at the start (`warm`) arrived earlier: their caches hold
   * the current maps, due for revalidation at their first epoch, `firstTick`.
   */
  const join = (slot: number, t: number, warm = false, firstTick = t): void => {
    const swarm = pickSwarm()
    swarmOf[slot] = swarm
    joinedAt[slot] = warm ? -rng() * session : t
    const m = members[swarm]!
    if (warm) {
      // Fetched at some earlier epoch: due again at one of the next ceil(max-age / epoch) epochs.
      const due = firstTick + epoch * Math.floor(rng() * Math.ceil(maxAge / epoch))
      cache[slot] = [{ freshUntil: due, version }, { freshUntil: due, version }]
      if (m.size === 0) {
        swarmCache[swarm] = [{ freshUntil: due, version }, { freshUntil: due, version }]
        refresher[swarm] = slot
      }
    } else {
      arrivals++
      cache[slot] = []
      // Every ALTO-using client reads the IRD once.
      meters.ecs.hit(t, bodies.ird, true)
      meters.map.hit(t, bodies.ird, true)
      if (m.size === 0) {
        // Nobody to fetch from: this peer goes to the server and keeps the swarm's copy fresh.
        meters.dht.hit(t, bodies.ird, true)
        swarmCache[swarm] = []
        refresher[swarm] = slot
      } else {
        meters.dht.lookups++
        meters.dht.peerBytes += bodies.networkMap + bodies.costMap
        cache[slot] = [{ freshUntil: t + maxAge, version }, { freshUntil: t + maxAge, version }]
      }
    }
    m.add(slot)
    nextLookup[slot] = firstTick + (warm ? rng() * maxAge : maxAge)
    q.at(firstTick, { kind: 'tick', slot, gen: gen[slot]! })
    q.at(t + exponential(rng, session), { kind: 'leave', slot, gen: gen[slot]! })
  }

  const leave = (slot: number, t: number): void => {
    const swarm = swarmOf[slot]!
    const m = members[swarm]!
    m.delete(slot)
    if (refresher[swarm] === slot) {
      // The longest-present member takes over; it holds the maps already (fetched from peers).
      let oldest = -1
      for (const other of m) if (oldest < 0 || joinedAt[other]! < joinedAt[oldest]!) oldest = other
      refresher[swarm] = oldest
    }
    gen[slot]!++
    join(slot, t)
  }

  const tick = (slot: number, t: number): void => {
    meters.ecs.hit(t, bodies.ecsRequest + bodies.ecsResponse, true)
    revalidate(meters.map, cache[slot]!, t)
    const swarm = swarmOf[slot]!
    if (refresher[swarm] === slot) {
      revalidate(meters.dht, swarmCache[swarm]!, t)
    } else if (t >= nextLookup[slot]!) {
      // Is there a newer version? Ask the DHT; fetch changed maps from a holder.
      meters.dht.lookups++
      nextLookup[slot] = t + maxAge
      // What a peer holds is what its `map` twin has cached: same arrivals, same versions.
      const held = cache[slot]![0]
      if (held && held.version !== version) meters.dht.peerBytes += bodies.networkMap + bodies.costMap
    }
    q.at(t + epoch, { kind: 'tick', slot, gen: gen[slot]! })
  }

  // Peers already present at the start, their epochs at random phases.
  for (let slot = 0; slot < N; slot++) join(slot, 0, true, rng() * epoch)
  if (changesPerHour > 0) for (let t = 3600 / changesPerHour / 2; t < duration; t += 3600 / changesPerHour) q.at(t, { kind: 'change' })
  for (let k = 0; k < T; k++) q.at((k / Math.max(1, T)) * 30, { kind: 'tracker', tracker: k })

  let mapChanges = 0
  let lastReport = 0
  for (let e = q.pop(); e && q.now() < duration; e = q.pop()) {
    const t = q.now()
    if (e.kind === 'tick') {
      if (e.gen === gen[e.slot]) tick(e.slot, t)
    } else if (e.kind === 'leave') {
      if (e.gen === gen[e.slot]) leave(e.slot, t)
    } else if (e.kind === 'change') {
      version++
      mapChanges++
    } else {
      // The tracker's GuidanceProvider: guidance() every 30 s (refreshMs default).
      revalidate(meters.tracker, trackerCache[e.tracker]!, t)
      q.after(30, e)
    }
    if (options.progress && t - lastReport >= duration / 50) {
      lastReport = t
      options.progress(t / duration)
    }
  }
  options.progress?.(1)

  const loads: StrategyLoad[] = STRATEGIES.map((strategy) => {
    const m = meters[strategy]
    const requests = m.requests.reduce((a, b) => a + b, 0)
    const bytes = m.bytes.reduce((a, b) => a + b, 0)
    const peak = Math.max(...m.requests)
    return {
      strategy,
      requests,
      meanPerSecond: round(requests / duration, 3),
      peakPerSecond: peak,
      fullResponses: m.full,
      notModified: m.notModified,
      meanBytesPerSecond: Math.round(bytes / duration),
      peakBytesPerSecond: Math.round(Math.max(...m.bytes)),
      dhtLookupsPerSecond: round(m.lookups / duration, 3),
      peerBytesPerSecond: Math.round(m.peerBytes / duration),
      serversForPeak: Math.max(1, Math.ceil(peak / capacity)),
    }
  })

  const bin = 10
  const binned = (series: (s: Strategy) => Float64Array, scale: number) =>
    STRATEGIES.map((s) => {
      const points: [number, number][] = []
      const r = series(s)
      for (let t0 = 0; t0 + bin <= duration; t0 += bin) {
        let sum = 0
        for (let k = t0; k < t0 + bin; k++) sum += r[k]!
        points.push([t0 + bin / 2, Math.max((sum * scale) / bin, 0.01)])
      }
      return { name: LABELS[s], points }
    })
  const timeline = binned((s) => meters[s].requests, 1)
  const bytesTimeline = binned((s) => meters[s].bytes, 1 / 1000)
  // Mean load in steady state against the number of peers (closed forms of the model above).
  const refreshPeriod = Math.ceil(Math.max(maxAge, 1e-9) / epoch) * epoch
  const scaling = [1e3, 1e4, 1e5, 1e6, 1e7]
  const formula: Record<Strategy, (n: number) => number> = {
    ecs: (n) => n / epoch + n / session,
    map: (n) => (2 * n) / refreshPeriod + n / session,
    tracker: () => (2 * Math.max(T, 1)) / Math.max(refreshPeriodTracker(maxAge), 1),
    dht: () => (2 * S) / refreshPeriod,
  }
  const charts: ChartSpec[] = [
    {
      kind: 'line',
      file: 'server-load-timeline.svg',
      title: `Requests reaching the ALTO server, ${N} peers (10 s averages)`,
      xLabel: 'time (s)',
      yLabel: 'requests per second',
      logY: true,
      series: timeline,
    },
    {
      kind: 'line',
      file: 'server-load-bytes.svg',
      title: `Response bodies sent by the ALTO server, ${N} peers (10 s averages)`,
      xLabel: 'time (s)',
      yLabel: 'kB per second',
      logY: true,
      series: bytesTimeline,
    },
    {
      kind: 'bar',
      file: 'server-load-requests.svg',
      title: 'Mean and peak requests per second at the ALTO server',
      yLabel: 'requests per second',
      logY: true,
      categories: STRATEGIES.map((s) => LABELS[s]),
      series: [
        { name: 'mean', values: loads.map((l) => Math.max(l.meanPerSecond, 0.01)) },
        { name: 'peak (1 s)', values: loads.map((l) => Math.max(l.peakPerSecond, 0.01)) },
      ],
    },
    {
      kind: 'line',
      file: 'server-load-scaling.svg',
      title: 'Mean requests per second vs number of peers (model)',
      xLabel: 'peers',
      yLabel: 'requests per second',
      logX: true,
      logY: true,
      series: [
        ...STRATEGIES.map((s) => ({ name: LABELS[s], points: scaling.map((n) => [n, Math.max(formula[s](n), 0.01)] as [number, number]), dashed: s === 'map' })),
        // Of the map clients' requests, those that carry a body: arrivals and map changes.
        { name: 'map-based, with a body', points: scaling.map((n) => [n, Math.max((3 * n) / session + (2 * n * changesPerHour) / 3600, 0.01)] as [number, number]), dashed: true },
        { name: `one server (${capacity} req/s)`, points: [[scaling[0]!, capacity], [scaling[scaling.length - 1]!, capacity]] as [number, number][], dashed: true },
      ],
    },
  ]
  const get = (s: Strategy) => loads.find((l) => l.strategy === s)!
  const claims: Claim[] = [
    {
      source: 'seed 003',
      claim: 'an ALTO server queried every 30 s by numerous peers might see performance issues',
      measured: `${N} peers with per-peer ECS: ${get('ecs').meanPerSecond} req/s mean, ${get('ecs').peakPerSecond} peak; at 1M peers about ${Math.round(formula.ecs(1e6))} req/s`,
    },
    {
      source: 'seed 000 §4.2.1',
      claim: 'one server answers 1000 requests per second',
      measured: `servers needed for the peak: ECS ${get('ecs').serversForPeak}, map ${get('map').serversForPeak}, tracker ${get('tracker').serversForPeak}, DHT ${get('dht').serversForPeak} (at 1M peers ECS needs ${Math.ceil(formula.ecs(1e6) / capacity)})`,
    },
    {
      source: 'seed 001',
      claim: 'redistributing reusable ALTO information (full maps) can reduce server load',
      measured: `map-based ${get('map').meanPerSecond} req/s -> DHT ${get('dht').meanPerSecond} req/s (plus ${get('dht').dhtLookupsPerSecond} DHT lookups/s and ${Math.round(get('dht').peerBytesPerSecond / 1000)} kB/s between peers)`,
    },
  ]
  return {
    scenario: 'server-load',
    title: 'ALTO server load from 30 s epochs (seed 003) and redistribution (seed 001)',
    seed,
    parameters: { peers: N, swarms: S, epoch, duration, maxAge, mapChangesPerHour: changesPerHour, session, trackers: T, candidates, serverCapacity: capacity, network: options.network.source },
    summary: { bodyBytes: bodies, mapChanges, arrivals, loads },
    tables: [
      {
        title: `${N} peers in ${S} swarms, ${epoch} s epochs, max-age ${maxAge} s, ${mapChanges} map changes in ${duration} s, ${arrivals} arrivals`,
        columns: ['strategy', 'req/s mean', 'req/s peak', 'with body/s', '304/s', 'kB/s mean', 'kB/s peak', 'servers'],
        rows: loads.map((l) => [
          LABELS[l.strategy],
          l.meanPerSecond,
          l.peakPerSecond,
          round(l.fullResponses / duration, 3),
          round(l.notModified / duration, 3),
          round(l.meanBytesPerSecond / 1000, 1),
          round(l.peakBytesPerSecond / 1000, 1),
          l.serversForPeak,
        ]),
      },
      {
        title: 'Body sizes (bytes, uncompressed)',
        columns: ['IRD (assumed)', 'network map', 'cost map', 'ECS request', 'ECS response'],
        rows: [[bodies.ird, bodies.networkMap, bodies.costMap, bodies.ecsRequest, bodies.ecsResponse]],
      },
    ],
    charts,
    claims,
    notes: [
      'Per-peer ECS sends one query every epoch, as seed 003 describes (the peer manager in ALTOkit only queries when there are new candidates, so this is an upper bound).',
      'Map-based clients follow ALTOkit\'s client cache: the IRD once per client, then network and cost map reused for max-age and revalidated with If-None-Match; a 304 carries no body. Bodies are counted uncompressed, headers not at all.',
      'DHT redistribution assumes one DHT per swarm (the brief\'s "one fetch per version per swarm"); one shared DHT would make it one fetch per version overall. DHT lookups and peer-to-peer transfers cost the server nothing and are reported apart.',
      'The tracker-side case counts the trackers\' own guidance providers only; the trackers\' announce load is not ALTO load.',
    ],
  }
}

function refreshPeriodTracker(maxAge: number): number {
  // The provider refreshes every 30 s and the client revalidates once max-age has passed.
  return Math.ceil(Math.max(maxAge, 1e-9) / 30) * 30
}
