/**
 * @module server/rate-limit
 * Requests per client address in fixed windows (the limit of `limits.rate-limit`): at most `max`
 * requests in each window of `windowMs`, counted from the window's start; beyond that, 429 with
 * Retry-After until the window ends. Windows are aligned for all clients, so the table of counts
 * is simply dropped when a window ends: its size is bounded by the clients of one window.
 */
export class RateLimiter {
  readonly max: number
  readonly windowMs: number
  readonly #now: () => number
  #windowStart = 0
  #counts = new Map<string, number>()

  constructor(max: number, windowMs: number, now: () => number = Date.now) {
    this.max = max
    this.windowMs = windowMs
    this.#now = now
  }

  /** Count one request from `key`: 0 when allowed, else the whole seconds until it may come back. */
  take(key: string): number {
    const now = this.#now()
    if (now - this.#windowStart >= this.windowMs) {
      this.#windowStart = now - (now % this.windowMs)
      this.#counts = new Map()
    }
    const count = (this.#counts.get(key) ?? 0) + 1
    this.#counts.set(key, count)
    if (count <= this.max) return 0
    return Math.max(1, Math.ceil((this.#windowStart + this.windowMs - now) / 1000))
  }
}
