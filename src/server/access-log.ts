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
 * formatted here, queued, and written together once per turn of the event loop: one write for all
 * the requests answered in that turn. A logger given from outside (tests, embedding applications)
 * gets each line through `logger.info` instead, in whatever format it was set up with.
 */
import { pino, type Logger } from 'pino'

/** Queued lines are written when they reach this many characters, or this long after the first. */
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
  /** `,"pid":…,"hostname":"…"`: the logger's bindings, as pino writes them after the time. */
  readonly #bindings: string
  #queued = ''
  #url: string | undefined = ''
  #urlJson = '""'
  #timer: NodeJS.Timeout | undefined
  readonly #flush = () => this.flush()

  /** With `destination`, the logger's own stream, lines are formatted and batched here. */
  constructor(logger: Logger, destination?: LogDestination) {
    this.#logger = logger
    this.#destination = destination
    // Pino keeps its base fields and bindings as the very text it writes (pino.symbols is its API for this).
    const chindings = (logger as unknown as Record<symbol, unknown>)[pino.symbols.chindingsSym]
    this.#bindings = typeof chindings === 'string' ? chindings : ''
    if (typeof chindings !== 'string') this.#destination = undefined // not a logger whose format we know: use logger.info
  }

  record(reqId: string, method: string, url: string | undefined, status: number, ms: number): void {
    if (this.#logger.levelVal > INFO) return
    const rounded = Math.round(ms * 100) / 100
    if (this.#destination === undefined) {
      this.#logger.info({ reqId, method, url, status, ms: rounded }, 'request')
      return
    }
    // reqId and method are ours (no characters to escape); the URL is the client's. Clients
    // ask for the same few URLs, so the last one's JSON is kept.
    if (url !== this.#url) {
      this.#url = url
      this.#urlJson = JSON.stringify(url ?? '')
    }
    this.#queued += `{"level":${INFO},"time":${Date.now()}${this.#bindings},"reqId":"${reqId}","method":"${method}","url":${this.#urlJson},"status":${status},"ms":${rounded},"msg":"request"}\n`
    if (this.#queued.length >= FLUSH_BYTES) this.flush()
    else if (this.#timer === undefined) this.#timer = setTimeout(this.#flush, FLUSH_MS).unref()
  }

  /** Hand the queued lines to the destination now. */
  flush(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#queued === '') return
    const text = this.#queued
    this.#queued = ''
    this.#destination!.write(text)
  }
}
