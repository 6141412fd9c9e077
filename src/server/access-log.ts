/**
 * @module server/access-log
 * The access log: one JSON line per answered request, at level info, in the logger's own format:
 *
 *   {"level":30,"time":1763787301000,"pid":4242,"hostname":"alto1","reqId":"3f9a1c0b7e52-1k2",
 *    "method":"POST","url":"/endpointcost/endpoint-cost","status":200,"ms":0.41,"msg":"request"}
 *
 * At tens of thousands of requests per second the access log is the largest cost of a cached
 * answer if each line goes its own way through pino and an asynchronous write (docs/performance.md
 * measured 14 µs per request). So when the server owns its logger and destination, lines are
 * formatted here, queued as bytes, and written together when 64 KiB are queued or 100 ms after the
 * first (as nginx's `access_log … buffer= flush=` does), and when the server closes. A logger
 * given from outside (tests, embedding applications)
 * gets each line through `logger.info` instead, in whatever format it was set up with.
 */
import { pino, type Logger } from 'pino'

/** Queued lines are written when they reach this many bytes, or this long after the first. */
const FLUSH_BYTES = 64 * 1024
const FLUSH_MS = 100
/** Pino's number for level info. */
const INFO = 30

export interface LogDestination {
  write(text: string): unknown
}

export class AccessLog {
  readonly #logger: Logger
  #destination: LogDestination | undefined
  /** `,"pid":…,"hostname":"…","reqId":"`: the logger's bindings as pino writes them after the time, and the next key. */
  readonly #bindingsReqId: string
  readonly #bindingsAscii: boolean
  /**
   * Lines waiting to be written, as bytes outside the JavaScript heap: kept up to 100 ms as
   * strings, they would outlive young-generation collections and be promoted to the old
   * generation, which only a full (and longer) collection frees.
   */
  readonly #queue = Buffer.allocUnsafeSlow(FLUSH_BYTES)
  #length = 0
  #url: string | undefined = ''
  #method = ''
  /** `","method":"…","url":"…","status":` for the last method and URL. */
  #middle = ''
  #urlAscii = true
  /** The last `Date.now()` and its text: many lines share a millisecond. */
  #now = 0
  #nowText = '0'
  #timer: NodeJS.Timeout | undefined
  readonly #flush = () => this.flush()

  /** With `destination`, the logger's own stream, lines are formatted and batched here. */
  constructor(logger: Logger, destination?: LogDestination) {
    this.#logger = logger
    this.#destination = destination
    // Pino keeps its base fields and bindings as the very text it writes (pino.symbols is its API for this).
    const chindings = (logger as unknown as Record<symbol, unknown>)[pino.symbols.chindingsSym]
    const bindings = typeof chindings === 'string' ? chindings : ''
    this.#bindingsAscii = isAscii(bindings)
    this.#bindingsReqId = `${bindings},"reqId":"`
    if (typeof chindings !== 'string') this.#destination = undefined // not a logger whose format we know: use logger.info
  }

  record(reqId: string, method: string, url: string | undefined, status: number, ms: number): void {
    if (this.#logger.levelVal > INFO) return
    // Hundredths of a millisecond, as an integer: formatted below without a float-to-text conversion.
    const hundredths = Math.round(ms * 100)
    if (this.#destination === undefined) {
      this.#logger.info({ reqId, method, url, status, ms: hundredths / 100 }, 'request')
      return
    }
    // reqId and method are ours (no characters to escape); the URL is the client's. Clients
    // ask for the same few URLs, so the text from the method to the status is kept for the last one.
    if (url !== this.#url || method !== this.#method) {
      this.#url = url
      this.#method = method
      const urlJson = JSON.stringify(url ?? '')
      this.#middle = `","method":"${method}","url":${urlJson},"status":`
      this.#urlAscii = isAscii(urlJson)
    }
    const now = Date.now()
    if (now !== this.#now) {
      this.#now = now
      this.#nowText = String(now)
    }
    const line = `{"level":${INFO},"time":${this.#nowText}${this.#bindingsReqId}${reqId}${this.#middle}${status},"ms":${decimal(hundredths)},"msg":"request"}\n`
    // An all-ASCII line is its own bytes (latin1 copies them); otherwise a UTF-16 unit takes at most 3 bytes of UTF-8.
    const ascii = this.#urlAscii && this.#bindingsAscii
    const most = ascii ? line.length : 3 * line.length
    if (this.#length + most > this.#queue.length) {
      this.flush()
      if (most > this.#queue.length) {
        this.#destination.write(line) // longer than the queue itself (a huge URL): on its own
        return
      }
    }
    this.#length += this.#queue.write(line, this.#length, ascii ? 'latin1' : 'utf8')
    if (this.#timer === undefined) this.#timer = setTimeout(this.#flush, FLUSH_MS).unref()
  }

  /** Hand the queued lines to the destination now. */
  flush(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#length === 0) return
    const text = this.#queue.toString('utf8', 0, this.#length)
    this.#length = 0
    this.#destination!.write(text)
  }
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false
  return true
}

/**
 * `n / 100` as JavaScript (and so pino) writes it: 41 → `0.41`, 150 → `1.5`, 7 → `0.07`, 300 → `3`,
 * for a non-negative integer `n`. Small integers have cached texts; a float's does not.
 */
export function decimal(n: number): string {
  const whole = Math.floor(n / 100)
  const cents = n - whole * 100
  if (cents === 0) return String(whole)
  if (cents % 10 === 0) return `${whole}.${cents / 10}`
  return cents < 10 ? `${whole}.0${cents}` : `${whole}.${cents}`
}
