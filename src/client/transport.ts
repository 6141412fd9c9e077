/**
 * @module client/transport
 * One ALTO HTTP exchange: request, timeouts, retries of 429/503 honouring Retry-After (bounded,
 * with jitter), RFC 7285 error bodies turned into {@link AltoProtocolError}, transport failures
 * into `ALTO_ERR_UNREACHABLE`. The dispatcher, clock and randomness are injected.
 */
import { Agent, request, type Dispatcher } from 'undici'
import { AltoError, AltoProtocolError, ALTO_WIRE_CODES, createAltoError, type AltoWireCode } from '../protocol/errors.ts'
import { MediaType } from '../protocol/media-types.ts'
import { isErrorBody } from '../protocol/validate.ts'

export interface TransportOptions {
  /** undici dispatcher (Agent, Pool, MockAgent…). Default: an Agent with `ca` when given. */
  dispatcher?: Dispatcher
  /** PEM CA certificate(s) to trust for HTTPS, e.g. an ISP's own CA. */
  ca?: string | readonly string[]
  /** HTTP Basic credentials (RFC 7617). */
  credentials?: { username: string; password: string }
  /** Time allowed for the response headers, and between body chunks. @default 10000 */
  timeoutMs?: number
  /** Retries of a 429/503 answer or a failed connection. @default 2 */
  retries?: number
  /** First backoff when the server gives no Retry-After; doubles each time. @default 200 */
  backoffMs?: number
  /** Longest single wait, whatever Retry-After says. @default 10000 */
  maxBackoffMs?: number
  /** Clock and sleep, for tests and simulations. */
  clock?: { now(): number; sleep(ms: number): Promise<void> }
  /** Randomness for jitter. @default Math.random */
  rng?: () => number
}

export interface Exchange {
  method: 'GET' | 'POST'
  url: string
  /** Media type the answer must have. */
  accept: string
  /** POST body media type and JSON text. */
  contentType?: string
  body?: string
  /** Extra headers, e.g. If-None-Match. */
  headers?: Record<string, string>
}

export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** Media type of the body, without parameters. */
  contentType: string
  /** Parsed JSON body; undefined for 304. */
  json: unknown
}

const realClock = { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)) }

export class Transport {
  readonly #options: TransportOptions
  readonly #dispatcher: Dispatcher | undefined
  readonly #ownsDispatcher: boolean
  readonly #authorization: string | undefined
  /** HTTP requests sent, retries included, and body bytes both ways (for load accounting). */
  requests = 0
  bytesSent = 0
  bytesReceived = 0

  constructor(options: TransportOptions = {}) {
    this.#options = options
    this.#ownsDispatcher = !options.dispatcher && options.ca !== undefined
    this.#dispatcher = options.dispatcher ?? (options.ca !== undefined ? new Agent({ connect: { ca: options.ca as string | string[] } }) : undefined)
    const c = options.credentials
    this.#authorization = c ? `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` : undefined
  }

  async exchange(exchange: Exchange): Promise<Answer> {
    const retries = this.#options.retries ?? 2
    const clock = this.#options.clock ?? realClock
    for (let attempt = 0; ; attempt++) {
      let answer: Answer | undefined
      let failure: unknown
      try {
        answer = await this.#once(exchange)
      } catch (error) {
        if (error instanceof AltoError) throw error
        failure = error
      }
      const retryable = failure !== undefined || answer!.status === 429 || answer!.status === 503
      if (!retryable) return this.#check(exchange, answer!)
      if (attempt >= retries) {
        if (failure !== undefined) throw createAltoError('ALTO_ERR_UNREACHABLE', [exchange.url, describe(failure)], failure)
        return this.#check(exchange, answer!)
      }
      await clock.sleep(this.#delay(attempt, answer?.headers['retry-after'], clock.now()))
    }
  }

  close(): Promise<void> {
    return this.#ownsDispatcher ? this.#dispatcher!.close() : Promise.resolve()
  }

  async #once(exchange: Exchange): Promise<Answer> {
    const headers: Record<string, string> = { accept: `${exchange.accept},${MediaType.error}`, ...exchange.headers }
    if (exchange.contentType) headers['content-type'] = exchange.contentType
    if (this.#authorization) headers.authorization = this.#authorization
    const timeout = this.#options.timeoutMs ?? 10_000
    this.requests++
    if (exchange.body !== undefined) this.bytesSent += Buffer.byteLength(exchange.body)
    const response = await request(exchange.url, {
      method: exchange.method,
      headers,
      body: exchange.body,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      ...(this.#dispatcher ? { dispatcher: this.#dispatcher } : {}),
    })
    const text = await response.body.text()
    this.bytesReceived += Buffer.byteLength(text)
    const contentType = String(response.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase()
    let json: unknown
    if (text !== '' && (contentType.endsWith('+json') || contentType === 'application/json')) {
      try {
        json = JSON.parse(text)
      } catch (error) {
        throw createAltoError('ALTO_ERR_BAD_RESPONSE', [exchange.url, contentType, `invalid JSON (${(error as Error).message})`])
      }
    }
    return { status: response.statusCode, headers: response.headers, contentType, json }
  }

  #check(exchange: Exchange, answer: Answer): Answer {
    if (answer.status === 304) return answer
    if (answer.status === 200) {
      if (answer.contentType !== exchange.accept) {
        throw createAltoError('ALTO_ERR_BAD_RESPONSE', [exchange.url, exchange.accept, `Content-Type is ${answer.contentType || 'missing'}`])
      }
      return answer
    }
    const body = answer.json
    if (isErrorBody(body) && (ALTO_WIRE_CODES as readonly string[]).includes(body.meta.code)) {
      const meta = body.meta
      const detail: { field?: string; value?: string; syntaxError?: string; statusCode: number } = { statusCode: answer.status }
      if (meta.field !== undefined) detail.field = meta.field
      if (meta.value !== undefined) detail.value = meta.value
      if (meta['syntax-error'] !== undefined) detail.syntaxError = meta['syntax-error']
      const where = meta.field ? ` (field ${meta.field}${meta.value !== undefined ? ` = ${meta.value}` : ''})` : ''
      throw new AltoProtocolError(meta.code as AltoWireCode, `ALTO error ${meta.code}${where} from ${exchange.url}`, detail)
    }
    const problem = (body as { detail?: unknown } | undefined)?.detail
    const error = createAltoError('ALTO_ERR_HTTP_STATUS', [answer.status, `${exchange.method} ${exchange.url}${typeof problem === 'string' ? `: ${problem}` : ''}`])
    throw new AltoError(error.code, error.message, { statusCode: answer.status })
  }

  /** Retry-After (seconds or HTTP date) when given, else exponential backoff; jittered, bounded. */
  #delay(attempt: number, retryAfter: string | string[] | undefined, now: number): number {
    const max = this.#options.maxBackoffMs ?? 10_000
    const rng = this.#options.rng ?? Math.random
    const header = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter
    let base: number
    if (header !== undefined && /^\d+$/.test(header.trim())) base = Number(header) * 1000
    else if (header !== undefined && !Number.isNaN(Date.parse(header))) base = Math.max(0, Date.parse(header) - now)
    else base = (this.#options.backoffMs ?? 200) * 2 ** attempt
    // Up to +25% so that clients told the same Retry-After do not return in lockstep.
    return Math.min(max, base * (1 + 0.25 * rng()))
  }
}

function describe(error: unknown): string {
  const e = error as { code?: string; message?: string }
  return [e.code, e.message].filter(Boolean).join(' ') || String(error)
}
