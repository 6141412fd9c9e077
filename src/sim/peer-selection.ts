/**
 * @module sim/peer-selection
 * The neighbour-selection policies compared by the simulations, each a thin adapter over ALTOkit's
 * real code: the tracker's `selectPeers` over a real `Swarm` (bucketed by PID through a
 * `TrackerGuidance`), and the client library's ranking (`rankByCost` over `LocalGuidance` costs,
 * as `rankPeers` does in map mode). Nothing here decides which peer is better; it only feeds the
 * real code and maps its answers back to simulated peer indexes.
 */
import { rankByCost, type Rng } from '../cost/rank.ts'
import type { ParsedAddress } from '../netmap/address.ts'
import { selectPeers, type SelectionGuidance } from '../tracker/selection.ts'
import { Swarm, type SwarmPeer } from '../tracker/swarm.ts'
import type { Guidance } from './network.ts'
import { swarmPeerOf } from './network.ts'
import type { PeerSelector } from './flow-swarm.ts'

export type PolicyKind = 'random' | 'peer-alto' | 'tracker-alto'

export interface Policy {
  /** Id as given on the command line: `random`, `peer-alto`, `tracker-alto-20`… */
  id: string
  label: string
  kind: PolicyKind
  /** Share of random places: the tracker's for tracker-alto, the client's ranking for peer-alto. */
  randomFraction: number
}

export const DEFAULT_POLICIES = ['random', 'peer-alto', 'tracker-alto-0', 'tracker-alto-10', 'tracker-alto-20', 'tracker-alto-50'] as const

/** `random`, `peer-alto` (20% random places, the client default), `peer-alto-N`, `tracker-alto` (20%, the tracker default), `tracker-alto-N`. */
export function parsePolicy(id: string): Policy {
  if (id === 'random') return { id, label: 'random tracker', kind: 'random', randomFraction: 0 }
  const match = /^(peer-alto|tracker-alto)(?:-(\d{1,3}))?$/.exec(id)
  if (!match || (match[2] !== undefined && Number(match[2]) > 100)) {
    throw new RangeError(`unknown policy ${JSON.stringify(id)}: use random, peer-alto[-PERCENT] or tracker-alto[-PERCENT]`)
  }
  const percent = match[2] === undefined ? 20 : Number(match[2])
  const kind = match[1] as 'peer-alto' | 'tracker-alto'
  const where = kind === 'peer-alto' ? 'peer-side ALTO' : 'tracker-side ALTO'
  return { id, label: `${where}, ${percent}% random`, kind, randomFraction: percent / 100 }
}

export interface TrackerSelectorOptions {
  policy: Policy
  guidance: Guidance
  /** Address of each simulated peer. */
  addresses: readonly ParsedAddress[]
  /** Peers a peer connects to per announce (the tracker's numwant, or the best of the ranked list). */
  numwant: number
  /** Length of the random list a peer-side ALTO client ranks. */
  trackerList: number
  rng: Rng
  /** Which peers hold the whole file at the start (they announce as seeders). */
  initialSeeders?: (peer: number) => boolean
  /** Simulated clock, for the swarm entries' `lastSeen`. @default always 0 */
  now?: () => number
}

/** A real tracker swarm plus the policy's way of turning an announce into neighbours. */
export class TrackerSelector implements PeerSelector {
  readonly swarm = new Swarm()
  readonly #opts: TrackerSelectorOptions
  readonly #peers: SwarmPeer[]
  readonly #index = new Map<SwarmPeer, number>()
  readonly #guided: SelectionGuidance

  constructor(options: TrackerSelectorOptions) {
    this.#opts = options
    const tracker = options.guidance.tracker
    const bucketing = this.swarm.bucketing(tracker, tracker)
    this.#guided = { bucketing, groupsFrom: (pid) => tracker.groupsFrom(pid) }
    this.#peers = options.addresses.map((address, i) => swarmPeerOf(i, address, options.initialSeeders?.(i) ?? false))
    this.#peers.forEach((p, i) => this.#index.set(p, i))
  }

  join(peer: number): void {
    const p = this.#peers[peer]!
    p.lastSeen = this.#opts.now?.() ?? 0
    this.swarm.upsert(p)
  }

  complete(peer: number): void {
    const p = this.#peers[peer]!
    // As the tracker does on `left=0`: the same entry, now a seeder.
    this.swarm.upsert({ ...p, seeder: true, lastSeen: this.#opts.now?.() ?? 0 })
  }

  leave(peer: number): void {
    this.swarm.remove(this.#peers[peer]!.key)
  }

  announce(peer: number): number[] {
    const { policy, rng, numwant } = this.#opts
    const requester = this.swarm.peers.get(this.#peers[peer]!.key)
    if (!requester) return []
    if (policy.kind === 'tracker-alto') {
      return this.#indexes(selectPeers({ swarm: this.swarm, requester, numwant, randomFraction: policy.randomFraction, rng, guidance: this.#guided }).peers)
    }
    if (policy.kind === 'random') return this.#indexes(selectPeers({ swarm: this.swarm, requester, numwant, randomFraction: 0, rng }).peers)
    // Peer-side ALTO: the tracker's random list, ranked by the client from its own address.
    const list = selectPeers({ swarm: this.swarm, requester, numwant: this.#opts.trackerList, randomFraction: 0, rng }).peers
    const self = this.#opts.addresses[peer]!
    const local = this.#opts.guidance.local
    const addresses = this.#opts.addresses
    const ranked = rankByCost(this.#indexes(list), (i) => local.cost(self, addresses[i]!), { rng, randomFraction: policy.randomFraction })
    return ranked.slice(0, numwant).map((r) => r.item)
  }

  #indexes(peers: readonly SwarmPeer[]): number[] {
    // The swarm stores the entries `join` gave it, so identity maps back to the index.
    return peers.map((p) => this.#index.get(p)!)
  }
}
