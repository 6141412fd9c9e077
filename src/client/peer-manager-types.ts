/**
 * @module client/peer-manager-types
 * The public types of {@link PeerManager}: its options, the peers it reports, its events and
 * epoch summaries.
 */
import type { CostType } from '../protocol/types.ts'
import type { Rng } from '../cost/rank.ts'
import type { AltoClient } from './client.ts'

export type PeerState = 'candidate' | 'active' | 'dead'
export type DemoteReason = 'slow' | 'no-data' | 'unreachable'

/** Runs a periodic task; returns the function that cancels it. */
export interface EpochScheduler {
  every(ms: number, tick: () => void): () => void
}

export interface PeerManagerOptions {
  /** The ALTO client to rank with (shared with the rest of the application if wished). */
  client: AltoClient
  /**
   * This application's own address, the source of every cost. A candidate equal to it (same
   * address and port) is ignored.
   * @example '192.0.2.1:6881'
   */
  self: string
  /**
   * `map`: rank locally from the cached network and cost maps (no query per epoch; a new network
   * map vtag re-ranks every candidate for free). `ecs`: one endpoint cost query per epoch, with the
   * new candidates only.
   * @default 'map'
   */
  mode?: 'map' | 'ecs'
  /** Cost type (IRD name or object). @default numerical routingcost */
  costType?: string | CostType
  /** Network map to rank on. @default the IRD's default */
  networkMap?: string
  /**
   * Share of the active slots filled by a uniformly drawn lower-ranked candidate instead of the
   * best one, so that guidance never isolates a PID (seed 000 §4.4.2). Slot `i` is such a slot
   * when `floor((i + 1) * randomFraction)` grows, the rule of `rankByCost`.
   * @default 0.2
   */
  randomFraction?: number
  /** Randomness for ties and random slots. @default Math.random */
  rng?: Rng
  /** Epoch length for {@link PeerManager.start}. @default 30000 (seed 003: "typical epoch value is 30 seconds") */
  epochMs?: number
  /** Most active peers. With the default fraction, 10 gives exactly two random slots. @default 10 */
  maxActive?: number
  /** Throughput (bytes/s) an active peer must report each epoch to stay active. @default 1024 */
  minThroughput?: number
  /**
   * Epochs after its promotion during which an active peer that reported nothing is not counted
   * as slow (time to connect and handshake). A report below `minThroughput` demotes at once.
   * @default 1
   */
  graceEpochs?: number
  /** Most dead peers remembered; the longest dead are forgotten (and may come back as new). @default 1024 */
  maxDead?: number
  /**
   * Epochs after which a dead peer, announced again by `addCandidates`, is taken back as a
   * candidate (its remembered cost reused). Dead peers never come back by themselves.
   * @default Infinity (never; only forgetting through `maxDead` lets them back)
   */
  retryDeadAfterEpochs?: number
  /** Clock for timestamps. @default Date.now */
  clock?: { now(): number }
  /** Scheduler for {@link PeerManager.start}. @default setInterval, unref()ed */
  scheduler?: EpochScheduler
}

/** A peer as the manager sees it. */
export interface ManagedPeer {
  /** The address text as first given. */
  peer: string
  /** RFC 7285 typed address, e.g. `ipv4:192.0.2.1`. */
  address: string
  port: number | undefined
  state: PeerState
  /** Cost from `self`; null when unknown (not ranked yet, or ALTO had none). */
  cost: number | null
  /** PID (map mode). */
  pid: string | undefined
  /** Active through a random slot rather than by cost. */
  random: boolean
  /** Why it died (dead peers). */
  reason: DemoteReason | undefined
}

export interface PromoteEvent {
  peer: ManagedPeer
  /** Active slot taken, 0-based. */
  slot: number
}

export interface DemoteEvent {
  peer: ManagedPeer
  /** Candidates die too when reported as lacking the data or unreachable. */
  from: 'active' | 'candidate'
  reason: DemoteReason
}

export interface EpochSummary {
  /** Epoch number, from 1. */
  epoch: number
  at: number
  candidates: number
  active: number
  dead: number
  promoted: number
  /** Peers moved to dead: active ones, and candidates reported as lacking data or unreachable. */
  demoted: number
  /** Candidates handed to ALTO for ranking in this epoch. */
  ranked: number
  /** Map mode: the network map vtag changed, so every candidate was ranked again. */
  reranked: boolean
  /** POST queries the client sent during the epoch (a delta of `client.stats`, so shared clients count others' too). */
  queries: number
  /** HTTP requests the client sent during the epoch (same caveat). */
  requests: number
  /** Whether the candidates are in ALTO's order: false when the last ranking attempt failed. */
  guided: boolean
  /** Why not guided. */
  reason?: string
  /** Map mode: vtag of the network map ranked on. */
  vtag?: string
}

export interface AddCandidatesResult {
  /** New candidates. */
  added: number
  /** Already candidate or active, or `self`. */
  known: number
  /** Refused because dead. */
  dead: number
  /** Not addresses (each also emitted as a `warning`). */
  invalid: number
}

export type PeerManagerEvents = {
  promote: [PromoteEvent]
  demote: [DemoteEvent]
  epoch: [EpochSummary]
  /** Bad input from the tracker or PEX (an unparsable address). */
  warning: [Error]
  /** A bug in an epoch run by the timer. */
  error: [Error]
}
