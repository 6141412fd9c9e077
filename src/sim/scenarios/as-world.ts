/**
 * @module sim/scenarios/as-world
 * The synthetic network of the live-streaming scenario: ASes at random places on a 2,000 km
 * square, one /16 and one PID each, an ALTO cost map from distance (cheapest inside an AS), peers
 * spread over the ASes by Zipf popularity with access-link delays and Table 1 upload shapes, and
 * the tracker's swarm of all of them.
 */
import type { Rng } from '../../cost/rank.ts'
import { CostMap } from '../../cost/cost-map.ts'
import { NetworkMap } from '../../netmap/network-map.ts'
import { formatAddress, type ParsedAddress } from '../../netmap/address.ts'
import type { CostMapData, NetworkMapData } from '../../protocol/types.ts'
import { Swarm, type SwarmPeer } from '../../tracker/swarm.ts'
import { guidanceOf, swarmPeerOf, type Guidance, type SimNetwork } from '../network.ts'
import { shuffle } from '../stats.ts'
import { BANDWIDTH_CLASSES } from './bittorrent-model.ts'

export interface World {
  network: SimNetwork
  guidance: Guidance
  asOf: Int32Array
  addresses: ParsedAddress[]
  /** One-way access delay of each peer (and the source, last), s. */
  access: Float64Array
  /** One-way delay between two ASes (within one: its core delay), s. */
  asDelay: Float64Array
  ases: number
  /** Upload of each peer relative to the mean (Table 1 shape). */
  uploadShape: Float64Array
  swarm: Swarm
  /** The tracker's entries: the peers, then the source. */
  swarmPeers: SwarmPeer[]
  indexOf: Map<SwarmPeer, number>
}

/** A synthetic network: ASes at random places on a 2,000 km square, one /16 each, costs from distance. */
export function buildWorld(peers: number, ases: number, skew: number, rng: Rng): World {
  const x = Float64Array.from({ length: ases }, () => rng() * 2000)
  const y = Float64Array.from({ length: ases }, () => rng() * 2000)
  const name = (a: number) => `as${String(a + 1).padStart(3, '0')}`
  const pids: NetworkMapData = {}
  for (let a = 0; a < ases; a++) pids[name(a)] = { ipv4: [`10.${a + 1}.0.0/16`] }
  const networkMap = NetworkMap.fromData('sim-ases', pids)
  const asDelay = new Float64Array(ases * ases)
  const costs: CostMapData = {}
  for (let a = 0; a < ases; a++) {
    const row: Record<string, number> = {}
    for (let b = 0; b < ases; b++) {
      const km = Math.hypot(x[a]! - x[b]!, y[a]! - y[b]!)
      // Fibre at 200 km/ms with a path stretch of 2, plus 5 ms through the exchange points.
      asDelay[a * ases + b] = a === b ? 0.001 + 0.004 * rng() : 0.005 + (2 * km) / 200_000
      // The operator's ALTO cost: its own AS cheapest, others by distance.
      row[name(b)] = a === b ? 1 : 10 + Math.round(km / 100)
    }
    costs[name(a)] = row
  }
  const costMap = CostMap.fromData(networkMap, { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' }, costs)
  const network: SimNetwork = { networkMap, costMap, source: `synthetic: ${ases} ASes` }
  const guidance = guidanceOf(network)

  // AS sizes: Zipf over a random order of the ASes.
  const order = shuffle(Array.from({ length: ases }, (_, a) => a), rng)
  const weights = order.map((_, r) => 1 / (r + 1) ** skew)
  const total = weights.reduce((s, w) => s + w, 0)
  const asOf = new Int32Array(peers + 1)
  const counters = new Int32Array(ases)
  const addresses: ParsedAddress[] = []
  const access = new Float64Array(peers + 1)
  for (let i = 0; i <= peers; i++) {
    let r = rng() * total
    let k = 0
    while (k < ases - 1 && r >= weights[k]!) r -= weights[k++]!
    const a = order[k]!
    asOf[i] = a
    const n = ++counters[a]!
    const bytes = new Uint8Array([10, a + 1, (n >> 8) & 0xff, n & 0xff])
    addresses.push({ family: 'ipv4', bytes, text: formatAddress('ipv4', bytes) })
    // Access links: 2 to 20 ms one way (cable, fibre, interleaved DSL).
    access[i] = 0.002 + 0.018 * rng()
  }
  const classes: number[] = []
  BANDWIDTH_CLASSES.forEach((c, i) => {
    for (let k = 0; k < Math.round(c.share * peers); k++) classes.push(i)
  })
  while (classes.length < peers) classes.push(1)
  classes.length = peers
  shuffle(classes, rng)
  const meanUp = BANDWIDTH_CLASSES.reduce((s, c) => s + c.share * c.up, 0)
  const uploadShape = Float64Array.from(classes, (c) => BANDWIDTH_CLASSES[c]!.up / meanUp)

  // The tracker's swarm: every viewer, and the source (last) as the one seeder.
  const swarm = new Swarm()
  const swarmPeers: SwarmPeer[] = []
  const indexOf = new Map<SwarmPeer, number>()
  for (let i = 0; i <= peers; i++) {
    const p = swarm.upsert(swarmPeerOf(i, addresses[i]!, i === peers))
    swarmPeers.push(p)
    indexOf.set(p, i)
  }
  return { network, guidance, asOf, addresses, access, asDelay, ases, uploadShape, swarm, swarmPeers, indexOf }
}

export function oneWay(w: World, i: number, j: number): number {
  return w.access[i]! + w.access[j]! + w.asDelay[w.asOf[i]! * w.ases + w.asOf[j]!]!
}
