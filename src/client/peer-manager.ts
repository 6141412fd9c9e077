/**
 * @module client/peer-manager
 * The peer state sets of a P2P application, moved along every epoch with ALTO guidance (seed 003,
 * draft-stiemerling-alto-deployments; seed 000 §3.2 step 4). Peers learned from the tracker or
 * PEX are `candidate`s; the best-ranked become `active` (the application connects to them); active
 * peers that are too slow, lack the wanted data or cannot be reached become `dead`. Only
 * candidates new since the last epoch are ranked, so that ALTO is not asked about the whole swarm
 * every 30 s (seed 003: "ALTO server queried every 30 seconds by numerous peers"). ALTO stays
 * advisory: when it fails, epochs go on in random order. Clock, scheduler and randomness are
 * injected.
 */
import { EventEmitter } from 'node:events'
import { isAltoError } from '../protocol/errors.ts'
import type { CostType } from '../protocol/types.ts'
import type { AltoClient } from './client.ts'
import { parsePeerAddress, peerAddress, type PeerAddress } from './peer-address.ts'
import { rankPeers } from './rank-peers.ts'
import type {
  AddCandidatesResult,
  DemoteReason,
  EpochScheduler,
  EpochSummary,
  ManagedPeer,
  PeerManagerEvents,
  PeerManagerOptions,
  PeerState,
} from './peer-manager-types.ts'

export type * from './peer-manager-types.ts'


interface PeerRecord {
  key: string
  at: PeerAddress
  state: PeerState
  cost: number
  pid: string | undefined
  /** The vtag (map mode) or 'ecs' the cost was obtained under; undefined before ALTO ranked it. */
  rankedUnder: string | undefined
  /** Random tie-break among equal costs, drawn on arrival. */
  tie: number
  /** Has been through a ranking step (guided or not), so may be promoted. */
  eligible: boolean
  slot: number
  random: boolean
  /** Epochs judged since promotion. */
  activeEpochs: number
  /** Latest throughput reported in the current epoch. */
  throughput: number | undefined
  trouble: 'no-data' | 'unreachable' | undefined
  reason: DemoteReason | undefined
  diedAt: number
}

const DEFAULTS = {
  mode: 'map',
  randomFraction: 0.2,
  epochMs: 30_000,
  maxActive: 10,
  minThroughput: 1024,
  graceEpochs: 1,
  maxDead: 1024,
  retryDeadAfterEpochs: Number.POSITIVE_INFINITY,
} as const

const DEFAULT_COST_TYPE: CostType = { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' }

const intervalScheduler: EpochScheduler = {
  every(ms, tick) {
    const timer = setInterval(tick, ms)
    // The application's own work keeps the process alive, not our epochs.
    timer.unref()
    return () => clearInterval(timer)
  },
}

type Settings = Required<Omit<PeerManagerOptions, 'client' | 'self' | 'costType' | 'networkMap'>> & Pick<PeerManagerOptions, 'networkMap'> & { costType: string | CostType }

export class PeerManager extends EventEmitter<PeerManagerEvents> {
  readonly #client: AltoClient
  readonly #self: PeerAddress
  readonly #opts: Readonly<Settings>
  readonly #peers = new Map<string, PeerRecord>()
  readonly #candidates = new Map<string, PeerRecord>()
  readonly #slots: (PeerRecord | undefined)[]
  /** In order of death, oldest first. */
  readonly #dead = new Map<string, PeerRecord>()
  #epochs = 0
  #vtag: string | undefined
  #guided = true
  #reason: string | undefined
  #queue: Promise<unknown> = Promise.resolve()
  #running = 0
  #cancel: (() => void) | undefined

  constructor(options: PeerManagerOptions) {
    super()
    this.#client = options.client
    this.#self = peerAddress(options.self)
    this.#opts = Object.freeze(settings(options))
    this.#slots = new Array<PeerRecord | undefined>(this.#opts.maxActive).fill(undefined)
  }

  /** Peers from the tracker or PEX. Unknown ones become candidates; bad addresses are skipped and counted. */
  addCandidates(addresses: Iterable<string>): AddCandidatesResult {
    const result: AddCandidatesResult = { added: 0, known: 0, dead: 0, invalid: 0 }
    for (const text of addresses) {
      const at = parsePeerAddress(text)
      if (!at) {
        result.invalid++
        this.emit('warning', new Error(`PeerManager: not a peer address: ${JSON.stringify(text)}`))
        continue
      }
      const key = keyOf(at)
      const known = this.#peers.get(key)
      if (known?.state === 'dead') {
        if (this.#epochs - known.diedAt < this.#opts.retryDeadAfterEpochs) {
          result.dead++
          continue
        }
        this.#dead.delete(key)
        known.state = 'candidate'
        known.reason = undefined
        known.eligible = false
        this.#candidates.set(key, known)
        result.added++
      } else if (known || key === keyOf(this.#self)) {
        result.known++
      } else {
        const record = newRecord(key, at, this.#opts.rng())
        this.#peers.set(key, record)
        this.#candidates.set(key, record)
        result.added++
      }
    }
    return result
  }

  /** Throughput measured from an active peer; the latest report of an epoch counts. False if the peer is not active. */
  reportThroughput(peer: string, bytesPerSecond: number): boolean {
    if (!(bytesPerSecond >= 0)) throw new RangeError(`bytesPerSecond must be a number >= 0, not ${bytesPerSecond}`)
    const record = this.#find(peer)
    if (record?.state !== 'active') return false
    record.throughput = bytesPerSecond
    return true
  }

  /** The peer does not have the wanted data: it dies at the next epoch. False if not candidate or active. */
  reportNoData(peer: string): boolean {
    return this.#trouble(peer, 'no-data')
  }

  /** The peer could not be reached: it dies at the next epoch. False if not candidate or active. */
  reportUnreachable(peer: string): boolean {
    return this.#trouble(peer, 'unreachable')
  }

  /** Forget a peer entirely (it left the swarm); frees its active slot. */
  remove(peer: string): boolean {
    const record = this.#find(peer)
    if (!record) return false
    this.#peers.delete(record.key)
    this.#candidates.delete(record.key)
    this.#dead.delete(record.key)
    if (record.state === 'active') this.#slots[record.slot] = undefined
    return true
  }

  /** The state of a peer, however its address is written; undefined when unknown. */
  state(peer: string): PeerState | undefined {
    return this.#find(peer)?.state
  }

  /** Candidates, best first (remembered cost, unknown last, ties at random). */
  candidates(): ManagedPeer[] {
    return this.#ordered().map(view)
  }

  /** Active peers in slot order. */
  active(): ManagedPeer[] {
    return this.#slots.filter((r) => r !== undefined).map(view)
  }

  /** Dead peers, longest dead first. */
  dead(): ManagedPeer[] {
    return [...this.#dead.values()].map(view)
  }

  /**
   * Run one epoch: (1) demote active peers that were slow, lacked data or were unreachable;
   * (2) rank the new candidates (map mode: all of them when the network map changed);
   * (3) promote the best candidates into free active slots. Epochs run one at a time.
   */
  epoch(): Promise<EpochSummary> {
    this.#running++
    const run = this.#queue.then(() => this.#runEpoch())
    this.#queue = run.catch(() => undefined)
    return run
  }

  /** Run an epoch now and then every `epochMs`. A tick is skipped while an epoch still runs. */
  start(): void {
    if (this.#cancel) return
    const tick = () => {
      if (this.#running > 0) return
      this.epoch().catch((error: unknown) => this.emit('error', error as Error))
    }
    this.#cancel = this.#opts.scheduler.every(this.#opts.epochMs, tick)
    tick()
  }

  /** Stop the epochs; resolves when a running epoch has finished. */
  async stop(): Promise<void> {
    this.#cancel?.()
    this.#cancel = undefined
    await this.#queue
  }

  async #runEpoch(): Promise<EpochSummary> {
    let summary: EpochSummary
    try {
      summary = await this.#steps()
    } finally {
      this.#running--
    }
    // Emitted once idle, so that a listener may run or schedule the next epoch at once.
    this.emit('epoch', summary)
    return summary
  }

  async #steps(): Promise<EpochSummary> {
    const epoch = ++this.#epochs
    const before = this.#client.stats
    const demoted = this.#judge()
    const ranking = await this.#rank()
    const promoted = this.#promote()
    const after = this.#client.stats
    const summary: EpochSummary = {
      epoch,
      at: this.#opts.clock.now(),
      candidates: this.#candidates.size,
      active: this.#slots.filter((r) => r !== undefined).length,
      dead: this.#dead.size,
      promoted,
      demoted,
      ranked: ranking.ranked,
      reranked: ranking.reranked,
      queries: after.queries - before.queries,
      requests: after.requests - before.requests,
      guided: this.#guided,
    }
    if (this.#reason !== undefined) summary.reason = this.#reason
    if (this.#vtag !== undefined) summary.vtag = this.#vtag
    return summary
  }

  /** Step 1: active peers below the threshold or in trouble die, and so do candidates in trouble. */
  #judge(): number {
    let demoted = 0
    for (const record of this.#slots) {
      if (!record) continue
      record.activeEpochs++
      let reason: DemoteReason | undefined = record.trouble
      if (!reason) {
        // No report counts as zero once the grace is over (seed 003: below threshold -> dead).
        const rate = record.throughput ?? (record.activeEpochs > this.#opts.graceEpochs ? 0 : Number.POSITIVE_INFINITY)
        if (rate < this.#opts.minThroughput) reason = 'slow'
      }
      record.throughput = undefined
      if (reason) {
        this.#kill(record, reason, 'active')
        demoted++
      }
    }
    for (const record of [...this.#candidates.values()]) {
      if (record.trouble) {
        this.#kill(record, record.trouble, 'candidate')
        demoted++
      }
    }
    return demoted
  }

  /** Step 2: ALTO ranks the candidates it has not ranked under the current network map. */
  async #rank(): Promise<{ ranked: number; reranked: boolean }> {
    // Candidates arriving while ALTO answers wait for the next epoch.
    const present = [...this.#candidates.values()]
    const outcome = await this.#rankPresent(present)
    for (const record of present) record.eligible = true
    return outcome
  }

  async #rankPresent(present: PeerRecord[]): Promise<{ ranked: number; reranked: boolean }> {
    const { mode, costType, networkMap, rng } = this.#opts
    let tag = 'ecs'
    let reranked = false
    if (mode === 'map') {
      try {
        // Cached by the client: a GET only when the maps may have changed.
        tag = (await this.#client.guidance(costType, networkMap)).vtag
      } catch (error) {
        if (!isAltoError(error)) throw error
        return this.#unguided(error.message)
      }
      reranked = this.#vtag !== undefined && tag !== this.#vtag
      this.#vtag = tag
    }
    // Costs are remembered: only candidates never ranked (or, in map mode, ranked on an older
    // network map, which costs nothing to redo) go to ALTO (seed 003: ALTO load every epoch).
    const pending = present.filter((r) => r.rankedUnder !== tag)
    if (pending.length === 0) return { ranked: 0, reranked }
    const options = { mode, costType, randomFraction: 0, rng, ...(networkMap === undefined ? {} : { networkMap }) }
    const ranking = await rankPeers(this.#client, this.#self.input, pending.map((r) => r.at.input), options)
    if (!ranking.guided) return this.#unguided(ranking.reason ?? 'ALTO guidance failed')
    for (const ranked of ranking.peers) {
      const record = this.#peers.get(`${ranked.address}|${ranked.port ?? ''}`)
      if (!record) continue
      record.cost = ranked.cost ?? Number.NaN
      record.pid = ranked.pid
      record.rankedUnder = tag
    }
    this.#guided = true
    this.#reason = undefined
    return { ranked: pending.length, reranked }
  }

  /** ALTO is advisory: without it, unranked candidates take a random place after the ranked ones. */
  #unguided(reason: string): { ranked: number; reranked: boolean } {
    this.#guided = false
    this.#reason = reason
    return { ranked: 0, reranked: false }
  }

  /** Step 3: fill free active slots, by cost or, in random slots, by a uniform draw below the best. */
  #promote(): number {
    const pool = this.#ordered().filter((r) => r.eligible && !r.trouble)
    const fraction = this.#opts.randomFraction
    let promoted = 0
    for (let slot = 0; slot < this.#slots.length && pool.length > 0; slot++) {
      if (this.#slots[slot]) continue
      const randomSlot = Math.floor((slot + 1) * fraction) > Math.floor(slot * fraction)
      const index = randomSlot && pool.length > 1 ? 1 + Math.floor(this.#opts.rng() * (pool.length - 1)) : 0
      const [record] = pool.splice(index, 1) as [PeerRecord]
      this.#candidates.delete(record.key)
      record.state = 'active'
      record.slot = slot
      record.random = index !== 0
      record.activeEpochs = 0
      record.throughput = undefined
      this.#slots[slot] = record
      promoted++
      this.emit('promote', { peer: view(record), slot })
    }
    return promoted
  }

  #kill(record: PeerRecord, reason: DemoteReason, from: 'active' | 'candidate'): void {
    if (from === 'active') this.#slots[record.slot] = undefined
    else this.#candidates.delete(record.key)
    record.state = 'dead'
    record.reason = reason
    record.trouble = undefined
    record.throughput = undefined
    record.random = false
    record.diedAt = this.#epochs
    this.#dead.set(record.key, record)
    for (const [key, oldest] of this.#dead) {
      if (this.#dead.size <= this.#opts.maxDead) break
      this.#dead.delete(key)
      this.#peers.delete(oldest.key)
    }
    this.emit('demote', { peer: view(record), from, reason })
  }

  #trouble(peer: string, trouble: 'no-data' | 'unreachable'): boolean {
    const record = this.#find(peer)
    if (!record || record.state === 'dead') return false
    record.trouble = trouble
    return true
  }

  #find(peer: string): PeerRecord | undefined {
    const at = parsePeerAddress(peer)
    return at ? this.#peers.get(keyOf(at)) : undefined
  }

  #ordered(): PeerRecord[] {
    return [...this.#candidates.values()].sort((a, b) => byCost(a.cost, b.cost) || a.tie - b.tie)
  }
}

function settings(options: PeerManagerOptions): Settings {
  const s: Settings = {
    mode: options.mode ?? DEFAULTS.mode,
    costType: options.costType ?? DEFAULT_COST_TYPE,
    randomFraction: options.randomFraction ?? DEFAULTS.randomFraction,
    rng: options.rng ?? Math.random,
    epochMs: options.epochMs ?? DEFAULTS.epochMs,
    maxActive: options.maxActive ?? DEFAULTS.maxActive,
    minThroughput: options.minThroughput ?? DEFAULTS.minThroughput,
    graceEpochs: options.graceEpochs ?? DEFAULTS.graceEpochs,
    maxDead: options.maxDead ?? DEFAULTS.maxDead,
    retryDeadAfterEpochs: options.retryDeadAfterEpochs ?? DEFAULTS.retryDeadAfterEpochs,
    clock: options.clock ?? { now: Date.now },
    scheduler: options.scheduler ?? intervalScheduler,
  }
  if (options.networkMap !== undefined) s.networkMap = options.networkMap
  if (s.mode !== 'map' && s.mode !== 'ecs') throw new TypeError(`mode must be 'map' or 'ecs', not ${String(s.mode)}`)
  if (!(s.randomFraction >= 0 && s.randomFraction <= 1)) throw new RangeError(`randomFraction must be within [0, 1], not ${s.randomFraction}`)
  if (!(s.epochMs > 0 && Number.isFinite(s.epochMs))) throw new RangeError(`epochMs must be a positive number, not ${s.epochMs}`)
  if (!(s.minThroughput >= 0)) throw new RangeError(`minThroughput must be >= 0, not ${s.minThroughput}`)
  for (const name of ['maxActive', 'graceEpochs', 'maxDead'] as const) {
    if (!(Number.isInteger(s[name]) && s[name] >= 0)) throw new RangeError(`${name} must be an integer >= 0, not ${s[name]}`)
  }
  const retry = s.retryDeadAfterEpochs
  if (!(retry === Number.POSITIVE_INFINITY || (Number.isInteger(retry) && retry >= 1))) {
    throw new RangeError(`retryDeadAfterEpochs must be an integer >= 1 or Infinity, not ${retry}`)
  }
  return s
}

function keyOf(at: PeerAddress): string {
  return `${at.typed}|${at.port ?? ''}`
}

function newRecord(key: string, at: PeerAddress, tie: number): PeerRecord {
  return {
    key,
    at,
    state: 'candidate',
    cost: Number.NaN,
    pid: undefined,
    rankedUnder: undefined,
    tie,
    eligible: false,
    slot: -1,
    random: false,
    activeEpochs: 0,
    throughput: undefined,
    trouble: undefined,
    reason: undefined,
    diedAt: 0,
  }
}

function view(record: PeerRecord): ManagedPeer {
  return {
    peer: record.at.input,
    address: record.at.typed,
    port: record.at.port,
    state: record.state,
    cost: Number.isNaN(record.cost) ? null : record.cost,
    pid: record.pid,
    random: record.random,
    reason: record.reason,
  }
}

/** Cost ascending, unknown (NaN) last. */
function byCost(a: number, b: number): number {
  const aUnknown = Number.isNaN(a)
  const bUnknown = Number.isNaN(b)
  if (aUnknown || bUnknown) return aUnknown === bUnknown ? 0 : aUnknown ? 1 : -1
  return a - b
}
