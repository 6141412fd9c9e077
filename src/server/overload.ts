/**
 * @module server/overload
 * Load shedding (RFC 6708 AR-20: a server must be able to protect itself from overload): a
 * request is refused with 503 and Retry-After when the event loop is measurably lagging or when
 * too many requests are already being handled. Measured, not counted per time unit, so the
 * bound follows what the machine can actually do.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import { createAltoError } from '../protocol/errors.ts'
import { HttpError } from './error-handler.ts'

export interface OverloadOptions {
  maxEventLoopDelayMs: number
  maxInFlight: number
  retryAfterS: number
  /** How often the lag measurement is refreshed. @default 500 */
  sampleIntervalMs?: number
}

export class OverloadGuard {
  readonly #options: OverloadOptions
  readonly #histogram: IntervalHistogram
  readonly #timer: NodeJS.Timeout
  #lagMs = 0
  #lastWindowMs = 0
  inFlight = 0
  shed = 0

  constructor(options: OverloadOptions) {
    this.#options = options
    this.#histogram = monitorEventLoopDelay({ resolution: 10 })
    this.#histogram.enable()
    this.#timer = setInterval(() => {
      // The p99 delay of each window (one sample per 10 ms), and the lag is the lower of the last
      // two windows': a lagging loop lags window after window, while one slow tick (a reload, a
      // long collection, the machine pausing the process) fills a single window, which a
      // percentile cannot see past (a window blocked for most of its time holds few samples).
      const p99 = this.#histogram.percentile(99) / 1e6
      this.#lagMs = Math.min(p99, this.#lastWindowMs)
      this.#lastWindowMs = p99
      this.#histogram.reset()
    }, options.sampleIntervalMs ?? 500)
    this.#timer.unref()
  }

  /** The event loop's delay (p99) sustained over the last two windows. */
  get eventLoopDelayMs(): number {
    return this.#lagMs
  }

  /** Whether {@link enter} would refuse a request now (no side effect). */
  wouldShed(): boolean {
    const { maxEventLoopDelayMs, maxInFlight } = this.#options
    return (maxEventLoopDelayMs > 0 && this.#lagMs > maxEventLoopDelayMs) || (maxInFlight > 0 && this.inFlight >= maxInFlight)
  }

  /** Called when a request arrives; throws a 503 when overloaded, else counts it in. */
  enter(): void {
    if (this.wouldShed()) {
      const { retryAfterS } = this.#options
      this.shed++
      throw new HttpError(createAltoError('ALTO_ERR_OVERLOADED', [retryAfterS]), { 'retry-after': String(retryAfterS) })
    }
    this.inFlight++
  }

  leave(): void {
    if (this.inFlight > 0) this.inFlight--
  }

  close(): void {
    clearInterval(this.#timer)
    this.#histogram.disable()
  }
}
