/**
 * @module provisioning/bgp/adj-rib-in
 * The routes each peer announced to us, unprocessed (RFC 4271 §3.2 Adj-RIBs-In), kept apart from
 * the sessions that fill it: sessions call {@link AdjRibIn.apply} and {@link AdjRibIn.dropPeer};
 * consumers read {@link AdjRibIn.routes} or listen for a debounced `'change'` carrying the full set.
 * No decision process: every peer's routes are kept, and provisioning rules decide what a prefix
 * means.
 */
import { EventEmitter } from 'node:events'
import type { Route } from '../route.ts'
import { systemClock, Timer, type BgpClock } from './clock.ts'

/** A prefix (and ADD-PATH path identifier) a peer no longer announces. */
export interface Withdrawal {
  prefix: string
  pathId?: number
}

export interface AdjRibInOptions {
  /**
   * Quiet time before `'change'` fires: a burst of UPDATEs (a session coming up, a flap) gives one
   * event once it has been quiet this long.
   * @default 500
   */
  debounceMs?: number
  /**
   * Longest a change waits for quiet: under constant churn, `'change'` still fires this long after
   * the first change it reports.
   * @default 10 × debounceMs, at least 1000
   */
  maxDelayMs?: number
  /** @default the system clock (timers unref'd) */
  clock?: BgpClock
}

export interface AdjRibInEvents {
  /** The full current set of routes, after changes have been quiet for `debounceMs`. */
  change: [routes: Route[]]
}

export class AdjRibIn extends EventEmitter<AdjRibInEvents> {
  readonly #byPeer = new Map<string, Map<string, Route>>()
  readonly #clock: BgpClock
  readonly #debounceMs: number
  readonly #maxDelayMs: number
  readonly #timer: Timer
  #firstPendingAt: number | undefined

  constructor(options: AdjRibInOptions = {}) {
    super()
    this.#clock = options.clock ?? systemClock
    this.#debounceMs = options.debounceMs ?? 500
    this.#maxDelayMs = options.maxDelayMs ?? Math.max(1000, 10 * this.#debounceMs)
    this.#timer = new Timer(this.#clock, () => this.#fire())
  }

  /**
   * Apply one UPDATE from `peer`: withdrawals first, then announcements, which replace any route
   * of the same prefix and path identifier (an implicit withdrawal, RFC 4271 §3.1).
   * @returns how many routes actually changed (re-announcing an identical route changes nothing)
   */
  apply(peer: string, announced: readonly Route[], withdrawn: readonly Withdrawal[] = []): number {
    let table = this.#byPeer.get(peer)
    let changed = 0
    for (const w of withdrawn) if (table?.delete(routeKey(w.prefix, w.pathId))) changed++
    if (announced.length > 0 && !table) {
      table = new Map()
      this.#byPeer.set(peer, table)
    }
    for (const route of announced) {
      const key = routeKey(route.prefix, route.pathId)
      const old = table!.get(key)
      if (old && sameRoute(old, route)) continue
      table!.set(key, route)
      changed++
    }
    if (table?.size === 0) this.#byPeer.delete(peer)
    if (changed > 0) this.#changed()
    return changed
  }

  /** Forget every route of `peer` (its session went down). @returns how many routes left */
  dropPeer(peer: string): number {
    const table = this.#byPeer.get(peer)
    if (!table) return 0
    this.#byPeer.delete(peer)
    if (table.size > 0) this.#changed()
    return table.size
  }

  /** Every route of every peer: by peer, then in the order first announced. */
  routes(): Route[] {
    const out: Route[] = []
    for (const table of this.#byPeer.values()) for (const route of table.values()) out.push(route)
    return out
  }

  /** Routes held for `peer`, or for all peers. */
  count(peer?: string): number {
    if (peer !== undefined) return this.#byPeer.get(peer)?.size ?? 0
    let n = 0
    for (const table of this.#byPeer.values()) n += table.size
    return n
  }

  /** A change is waiting for its debounce. */
  get pending(): boolean {
    return this.#timer.running
  }

  /** Emit a pending change now instead of after the debounce. */
  flush(): void {
    if (this.#timer.running) this.#fire()
  }

  /** Drop a pending change without emitting it (shutdown). */
  cancel(): void {
    this.#timer.stop()
    this.#firstPendingAt = undefined
  }

  #changed(): void {
    const now = this.#clock.now()
    this.#firstPendingAt ??= now
    const remaining = this.#firstPendingAt + this.#maxDelayMs - now
    this.#timer.start(Math.max(0, Math.min(this.#debounceMs, remaining)))
  }

  #fire(): void {
    this.#timer.stop()
    this.#firstPendingAt = undefined
    this.emit('change', this.routes())
  }
}

function routeKey(prefix: string, pathId: number | undefined): string {
  return pathId === undefined ? prefix : `${prefix}#${pathId}`
}

/** Same attributes (the prefix and path identifier are the key, so equal already). */
function sameRoute(a: Route, b: Route): boolean {
  return (
    a.origin === b.origin &&
    a.nextHop === b.nextHop &&
    a.originAs === b.originAs &&
    a.peer === b.peer &&
    sameList(a.asPath, b.asPath) &&
    sameList(a.communities, b.communities) &&
    sameList(a.largeCommunities, b.largeCommunities)
  )
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
