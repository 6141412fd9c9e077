/**
 * @module client/update-stream-http
 * The wire side of RFC 8895 for a client: opening an update stream and reading its events, and
 * sending stream control requests, with authentication and the injected dispatcher. Answers
 * other than success become the client's usual errors (`AltoProtocolError` for ALTO errors).
 */
import { Agent, request, type Dispatcher } from 'undici'
import { AltoError, AltoProtocolError, ALTO_WIRE_CODES, createAltoError, type AltoWireCode } from '../protocol/errors.ts'
import { MediaType } from '../protocol/media-types.ts'
import type { UpdateStreamRequest } from '../protocol/types.ts'
import { isErrorBody } from '../protocol/validate.ts'
import { SseParser, type ServerSentEvent } from './sse.ts'
import type { TransportOptions } from './transport.ts'

export class UpdateStreamHttp {
  readonly #dispatcher: Dispatcher
  readonly #owned: boolean
  readonly #headers: Record<string, string> = {}
  readonly #timeoutMs: number

  constructor(transport: TransportOptions) {
    // Our own agent unless one is given: close() then drops its sockets, including one undici
    // opens again after a stream's request is aborted (a server's close would wait for it).
    this.#owned = !transport.dispatcher
    this.#dispatcher = transport.dispatcher ?? new Agent(transport.ca !== undefined ? { connect: { ca: transport.ca as string | string[] } } : {})
    const c = transport.credentials
    if (c) this.#headers.authorization = `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`
    this.#timeoutMs = transport.timeoutMs ?? 10_000
  }

  /**
   * POST an update stream request and read the stream until it ends (resolves), fails or is
   * aborted (rejects). `idleTimeoutMs` bounds the silence between two chunks (0: none).
   */
  async stream(uri: string, body: UpdateStreamRequest, onEvent: (event: ServerSentEvent) => void, options: { signal: AbortSignal; idleTimeoutMs: number }): Promise<void> {
    const response = await request(uri, {
      method: 'POST',
      headers: { ...this.#headers, accept: `${MediaType.updateStream},${MediaType.error}`, 'content-type': MediaType.updateStreamParams },
      body: JSON.stringify(body),
      signal: options.signal,
      headersTimeout: this.#timeoutMs,
      bodyTimeout: options.idleTimeoutMs,
      dispatcher: this.#dispatcher,
    })
    const contentType = mediaTypeOf(response.headers['content-type'])
    if (response.statusCode !== 200 || contentType !== MediaType.updateStream) {
      const text = await response.body.text()
      if (response.statusCode === 200) throw createAltoError('ALTO_ERR_BAD_RESPONSE', [uri, MediaType.updateStream, `Content-Type is ${contentType || 'missing'}`])
      throw answerError(uri, response.statusCode, contentType, text)
    }
    const parser = new SseParser(onEvent)
    const decoder = new TextDecoder()
    for await (const chunk of response.body) parser.push(decoder.decode(chunk as Buffer, { stream: true }))
  }

  /** RFC 8895 §7: POST a stream control request. Resolves with false when the stream is gone (404). */
  async control(uri: string, body: UpdateStreamRequest): Promise<boolean> {
    const response = await request(uri, {
      method: 'POST',
      headers: { ...this.#headers, accept: MediaType.error, 'content-type': MediaType.updateStreamParams },
      body: JSON.stringify(body),
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
      dispatcher: this.#dispatcher,
    })
    const text = await response.body.text()
    if (response.statusCode === 204 || response.statusCode === 200) return true
    if (response.statusCode === 404) return false
    throw answerError(uri, response.statusCode, mediaTypeOf(response.headers['content-type']), text)
  }

  async close(): Promise<void> {
    if (this.#owned) await this.#dispatcher.destroy()
  }
}

function mediaTypeOf(header: string | string[] | undefined): string {
  return String(header ?? '').split(';', 1)[0]!.trim().toLowerCase()
}

/** A failed answer as the client's usual errors: AltoProtocolError for ALTO errors, else ALTO_ERR_HTTP_STATUS. */
function answerError(url: string, status: number, contentType: string, text: string): AltoError {
  let json: unknown
  try {
    json = contentType.endsWith('+json') ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  if (isErrorBody(json) && (ALTO_WIRE_CODES as readonly string[]).includes(json.meta.code)) {
    const meta = json.meta
    const detail: { field?: string; value?: string; syntaxError?: string; statusCode: number } = { statusCode: status }
    if (meta.field !== undefined) detail.field = meta.field
    if (meta.value !== undefined) detail.value = meta.value
    if (meta['syntax-error'] !== undefined) detail.syntaxError = meta['syntax-error']
    const where = meta.field ? ` (field ${meta.field}${meta.value !== undefined ? ` = ${meta.value}` : ''})` : ''
    return new AltoProtocolError(meta.code as AltoWireCode, `ALTO error ${meta.code}${where} from ${url}`, detail)
  }
  const problem = (json as { detail?: unknown } | undefined)?.detail
  const error = createAltoError('ALTO_ERR_HTTP_STATUS', [status, `POST ${url}${typeof problem === 'string' ? `: ${problem}` : ''}`])
  return new AltoError(error.code, error.message, { statusCode: status })
}
