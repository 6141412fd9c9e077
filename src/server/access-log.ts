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
 * given from outside (tests, embedding applications) gets each line through `logger.info`
 * instead, in whatever format it was set up with.
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

/** The constant pieces of a line, as bytes. */
const HEAD = Buffer.from(`{"level":${INFO},"time":`)
const MS = Buffer.from(',"ms":')
const TAIL = Buffer.from(',"msg":"request"}\n')
/** The most bytes of the two numbers of a line (time, ms) and the status: digits and a point. */
const NUMBER_BYTES = 3 * 24

export class AccessLog {
  readonly #logger: Logger
  #destination: LogDestination | undefined
  /** `,"pid":…,"hostname":"…","reqId":"`: the logger's bindings as pino writes them after the time, and the next key. */
  readonly #bindingsReqId: Buffer
  /**
   * Lines waiting to be written, as bytes outside the JavaScript heap: kept up to 100 ms as
   * strings, they would outlive young-generation collections and be promoted to the old
   * generation, which only a full (and longer) collection frees. Each line is written straight
   * into it, piece by piece, so that a line makes no string at all.
   */
  readonly #queue = Buffer.allocUnsafeSlow(FLUSH_BYTES)
  #length = 0
  /** Whether every queued byte is ASCII (then the queue is read as latin1: no UTF-8 decoding). */
  #queueAscii = true
  #url: string | undefined = ''
  #method = ''
  /** `","method":"…","url":"…","status":` for the last method and URL, as bytes. */
  #middle = Buffer.alloc(0)
  #middleAscii = true
  readonly #bindingsAscii: boolean
  #timer: NodeJS.Timeout | undefined
  readonly #flush = () => this.flush()

  /** With `destination`, the logger's own stream, lines are formatted and batched here. */
  constructor(logger: Logger, destination?: LogDestination) {
    this.#logger = logger
    this.#destination = destination
    // Pino keeps its base fields and bindings as the very text it writes (pino.symbols is its API for this).
    const chindings = (logger as unknown as Record<symbol, unknown>)[pino.symbols.chindingsSym]
    this.#bindingsReqId = Buffer.from(`${typeof chindings === 'string' ? chindings : ''},"reqId":"`)
    this.#bindingsAscii = ascii(this.#bindingsReqId)
    if (typeof chindings !== 'string') this.#destination = undefined // not a logger whose format we know: use logger.info
  }

  record(reqId: string, method: string, url: string | undefined, status: number, ms: number): void {
    if (this.#logger.levelVal > INFO) return
    // Hundredths of a millisecond, as an integer: written below without a float-to-text conversion.
    const hundredths = Math.round(ms * 100)
    if (this.#destination === undefined) {
      this.#logger.info({ reqId, method, url, status, ms: hundredths / 100 }, 'request')
      return
    }
    // The URL is the client's, escaped as JSON; clients ask for the same few URLs, so the bytes
    // from the method to the status are kept for the last one.
    if (url !== this.#url || method !== this.#method) {
      this.#url = url
      this.#method = method
      this.#middle = Buffer.from(`","method":${JSON.stringify(method)},"url":${JSON.stringify(url ?? '')},"status":`)
      this.#middleAscii = ascii(this.#middle)
    }
    // reqId is ours (hex and base 36); any other text goes through JSON escaping, as UTF-8.
    const idPlain = plain(reqId)
    const id = idPlain ? reqId : JSON.stringify(reqId).slice(1, -1)
    const most = HEAD.length + this.#bindingsReqId.length + 3 * id.length + this.#middle.length + MS.length + TAIL.length + NUMBER_BYTES
    if (this.#length + most > this.#queue.length) {
      this.flush()
      if (most > this.#queue.length) {
        // Longer than the queue itself (a huge URL): on its own.
        const line = Buffer.allocUnsafe(most)
        this.#destination.write(line.toString('utf8', 0, this.#format(line, 0, id, idPlain, status, hundredths)))
        return
      }
    }
    this.#length = this.#format(this.#queue, this.#length, id, idPlain, status, hundredths)
    if (!(idPlain && this.#middleAscii && this.#bindingsAscii)) this.#queueAscii = false
    if (this.#timer === undefined) this.#timer = setTimeout(this.#flush, FLUSH_MS).unref()
  }

  /** Write one line into `target` at `at`; returns where it ends. `idPlain`: `id` is printable ASCII. */
  #format(target: Buffer, at: number, id: string, idPlain: boolean, status: number, hundredths: number): number {
    at = put(target, at, HEAD)
    at = writeInteger(target, at, Date.now())
    at = put(target, at, this.#bindingsReqId)
    at = idPlain ? writeAscii(target, at, id) : at + target.write(id, at, 'utf8')
    at = put(target, at, this.#middle)
    at = writeInteger(target, at, status)
    at = put(target, at, MS)
    at = writeHundredths(target, at, hundredths)
    return put(target, at, TAIL)
  }

  /** Hand the queued lines to the destination now. */
  flush(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#length === 0) return
    const text = this.#queue.toString(this.#queueAscii ? 'latin1' : 'utf8', 0, this.#length)
    this.#length = 0
    this.#queueAscii = true
    this.#destination!.write(text)
  }
}

function put(target: Buffer, at: number, bytes: Buffer): number {
  target.set(bytes, at)
  return at + bytes.length
}

/** Whether text is printable ASCII with nothing JSON escapes (no quote, backslash or control character). */
function plain(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false
  }
  return true
}

function ascii(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! > 0x7f) return false
  return true
}

function writeAscii(target: Buffer, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) target[at++] = text.charCodeAt(i)
  return at
}

/** A non-negative integer (below 2^53) in decimal digits. */
function writeInteger(target: Buffer, at: number, n: number): number {
  let digits = 1
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++
  const end = at + digits
  for (let i = end - 1; i >= at; i--) {
    const next = Math.floor(n / 10)
    target[i] = 0x30 + (n - next * 10)
    n = next
  }
  return end
}

/**
 * `n / 100` as JavaScript (and so pino) writes it, for a non-negative integer `n`: 41 → `0.41`,
 * 150 → `1.5`, 7 → `0.07`, 300 → `3`.
 */
export function writeHundredths(target: Buffer, at: number, n: number): number {
  const whole = Math.floor(n / 100)
  const cents = n - whole * 100
  at = writeInteger(target, at, whole)
  if (cents === 0) return at
  target[at++] = 0x2e // .
  if (cents % 10 === 0) {
    target[at++] = 0x30 + cents / 10
    return at
  }
  target[at++] = 0x30 + Math.floor(cents / 10)
  target[at++] = 0x30 + (cents % 10)
  return at
}
