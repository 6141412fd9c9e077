/**
 * @module client/rank-peers
 * Peer selection with ALTO guidance (seed 000 §3.2 steps 1-4): candidates ranked best-first by
 * cost from the application's own address. `map` mode ranks locally from the cached network and
 * cost maps (no query per call); `ecs` mode asks the endpoint cost service once per call. ALTO is
 * advisory: when guidance fails, candidates come back in random order and the result says why.
 */
import { isAltoError } from '../protocol/errors.ts'
import type { CostType } from '../protocol/types.ts'
import { rankByCost, type Rng } from '../cost/rank.ts'
import type { AltoClient } from './client.ts'
import { peerAddress, type PeerAddress } from './peer-address.ts'

export interface RankPeersOptions {
  /** `map`: local ranking from cached maps; `ecs`: one endpoint cost query. @default 'map' */
  mode?: 'map' | 'ecs'
  /** Cost type (IRD name or object). @default numerical routingcost */
  costType?: string | CostType
  /** Network map to rank on. @default the IRD's default */
  networkMap?: string
  /** Share of each prefix of the list given to random lower-ranked candidates. @default 0.2 */
  randomFraction?: number
  /** Randomness for tie shuffling and random picks. @default Math.random */
  rng?: Rng
  /** Return at most this many. @default all */
  limit?: number
}

export interface RankedPeer {
  /** The candidate as given. */
  peer: string
  /** Canonical typed address, e.g. `ipv6:2001:db8::1`. */
  address: string
  port: number | undefined
  /** PID of the candidate (map mode only: the endpoint cost service does not name PIDs). */
  pid: string | undefined
  /** Cost from `self`; null when guidance has none. */
  cost: number | null
  /** Placed at random against over-localization, not by cost. */
  random: boolean
}

export interface PeerRanking {
  peers: RankedPeer[]
  /** False when ALTO could not be used; then the order is random. */
  guided: boolean
  mode: 'map' | 'ecs'
  /** Why guidance was not used, when it was not. */
  reason?: string
  /** PID of `self` (map mode). */
  selfPid?: string
}

const DEFAULT_COST_TYPE: CostType = { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' }

/** Rank `candidates` for a peer at `self`. Throws only for addresses that cannot be parsed. */
export async function rankPeers(client: AltoClient, self: string, candidates: readonly string[], options: RankPeersOptions = {}): Promise<PeerRanking> {
  const mode = options.mode ?? 'map'
  const rng = options.rng ?? Math.random
  const me = peerAddress(self)
  const peers = candidates.map(peerAddress)
  let costs: (peer: PeerAddress) => number
  let pidOf: (peer: PeerAddress) => string | undefined = () => undefined
  let selfPid: string | undefined
  try {
    if (mode === 'map') {
      const guidance = await client.guidance(options.costType ?? DEFAULT_COST_TYPE, options.networkMap)
      selfPid = guidance.pidOf(me.address)
      costs = (peer) => guidance.cost(me.address, peer.address)
      pidOf = (peer) => guidance.pidOf(peer.address)
    } else {
      const costType = (await client.directory()).costType(options.costType ?? DEFAULT_COST_TYPE)
      const dsts = [...new Set(peers.map((p) => p.typed))]
      const answer = await client.endpointCosts({ 'cost-type': costType, endpoints: { srcs: [me.typed], dsts } }, options.networkMap)
      const row = answer['endpoint-cost-map'][me.typed] ?? {}
      costs = (peer) => row[peer.typed] ?? Number.NaN
    }
  } catch (error) {
    if (!isAltoError(error)) throw error
    const shuffled = rankByCost(peers, () => Number.NaN, { rng, randomFraction: 0 })
    return { peers: limit(shuffled.map((r) => toRanked(r.item, undefined, Number.NaN, false)), options.limit), guided: false, mode, reason: error.message }
  }
  const ranked = rankByCost(peers, costs, { rng, randomFraction: options.randomFraction ?? 0.2 })
  const result: PeerRanking = { peers: limit(ranked.map((r) => toRanked(r.item, pidOf(r.item), r.cost, r.random)), options.limit), guided: true, mode }
  if (selfPid !== undefined) result.selfPid = selfPid
  return result
}

function toRanked(peer: PeerAddress, pid: string | undefined, cost: number, random: boolean): RankedPeer {
  return { peer: peer.input, address: peer.typed, port: peer.port, pid, cost: Number.isNaN(cost) ? null : cost, random }
}

function limit<T>(list: T[], n: number | undefined): T[] {
  return n === undefined ? list : list.slice(0, n)
}
