/**
 * @module provisioning/bgp/clock
 * Time as the BGP speaker sees it: a clock with timers, passed in through options so tests can
 * run hold timers, keepalives and the change debounce on virtual time. The default clock uses the
 * real timers and unrefs them, so a speaker never keeps a process alive on its own.
 */

/** The outside world's time: `now()` in milliseconds and one-shot timers. */
export interface BgpClock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** Real time; every timer is unref'd. */
export const systemClock: BgpClock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms)
    handle.unref()
    return handle
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>)
  },
}

/** A restartable one-shot timer on a {@link BgpClock}. */
export class Timer {
  readonly #clock: BgpClock
  readonly #fn: () => void
  #handle: unknown

  constructor(clock: BgpClock, fn: () => void) {
    this.#clock = clock
    this.#fn = fn
  }

  get running(): boolean {
    return this.#handle !== undefined
  }

  /** (Re)start: fire once `ms` from now, cancelling any earlier schedule. */
  start(ms: number): void {
    this.stop()
    this.#handle = this.#clock.setTimeout(() => {
      this.#handle = undefined
      this.#fn()
    }, ms)
  }

  stop(): void {
    if (this.#handle === undefined) return
    this.#clock.clearTimeout(this.#handle)
    this.#handle = undefined
  }
}

/** Virtual time for tests and simulations: timers fire only inside {@link ManualClock.advance}. */
export class ManualClock implements BgpClock {
  #now: number
  #nextId = 0
  readonly #timers = new Map<number, { at: number; fn: () => void }>()

  constructor(start = 0) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#nextId
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn })
    return id
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number)
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.#timers.size
  }

  /** Move time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.#now + ms
    for (;;) {
      let dueId: number | undefined
      let due: { at: number; fn: () => void } | undefined
      for (const [id, timer] of this.#timers) if (timer.at <= end && (!due || timer.at < due.at)) [dueId, due] = [id, timer]
      if (!due) break
      this.#timers.delete(dueId!)
      this.#now = due.at
      due.fn()
    }
    this.#now = end
  }
}
