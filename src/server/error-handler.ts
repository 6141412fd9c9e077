/**
 * @module server/error-handler
 * The only place where errors become HTTP responses. ALTO protocol errors are sent as
 * `application/alto-error+json` with status 400 (RFC 7285 §8.5); errors of the HTTP layer
 * (404, 405, 406, 413, 415, 429, 503…) carry no ALTO code, so they are sent as RFC 9457 problem
 * details. Nothing else reaches the client: an unexpected error is logged and answered with a
 * bare 500, never a stack trace.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { AltoError, AltoProtocolError, createAltoError } from '../protocol/errors.ts'
import { MediaType } from '../protocol/media-types.ts'

export const PROBLEM_JSON = 'application/problem+json'

/** HTTP headers an error wants on its response (Allow, Retry-After, WWW-Authenticate). */
export class HttpError extends AltoError {
  readonly headers: Record<string, string>
  constructor(base: AltoError, headers: Record<string, string> = {}) {
    super(base.code, base.message, { statusCode: base.statusCode ?? 500 })
    this.headers = headers
  }
}

// fastify's own error codes for bad requests, mapped to ours.
const FASTIFY_CODES: Record<string, () => AltoError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => createAltoError('ALTO_ERR_BODY_TOO_LARGE', ['the configured limit of']),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => createAltoError('ALTO_ERR_UNSUPPORTED_MEDIA_TYPE', ['the media type the IRD lists in "accepts"']),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new AltoProtocolError('E_SYNTAX', 'Request body is empty', { syntaxError: 'empty body' }),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new AltoError('ALTO_ERR_BAD_REQUEST', 'Content-Length does not match the body', { statusCode: 400 }),
}

/** An error as an HTTP answer: status, extra headers, media type and body. */
export interface ErrorAnswer {
  status: number
  headers: Record<string, string>
  type: string
  body: Buffer
}

/**
 * The answer for an error, whichever path the request took (fastify or the fast lane), logging what
 * the operator should see: protocol errors at info, unexpected ones at error with the stack.
 */
export function errorAnswer(error: unknown, log: Pick<FastifyRequest['log'], 'info' | 'error'>): ErrorAnswer {
  const known = toAltoError(error)
  if (!known) {
    log.error({ err: error }, 'unexpected error')
    return problem(createAltoError('ALTO_ERR_INTERNAL'))
  }
  if (known instanceof AltoProtocolError) {
    log.info({ alto: known.toMeta() }, known.message)
    return { status: known.statusCode ?? 400, headers: {}, type: MediaType.error, body: Buffer.from(JSON.stringify({ meta: known.toMeta() })) }
  }
  if ((known.statusCode ?? 500) >= 500 && known.code === 'ALTO_ERR_INTERNAL') log.error({ err: error }, 'internal error')
  return problem(known)
}

export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const answer = errorAnswer(error, request.log)
  return reply.code(answer.status).headers(answer.headers).type(answer.type).send(answer.body)
}

function problem(error: AltoError): ErrorAnswer {
  const status = error.statusCode ?? 500
  return {
    status,
    headers: error instanceof HttpError ? error.headers : {},
    type: PROBLEM_JSON,
    body: Buffer.from(JSON.stringify({ type: 'about:blank', title: statusTitle(status), status, code: error.code, detail: error.message })),
  }
}

function toAltoError(error: unknown): AltoError | undefined {
  if (error instanceof AltoError) return error
  const fastifyError = error as Partial<FastifyError> | null
  if (fastifyError && typeof fastifyError.code === 'string' && FASTIFY_CODES[fastifyError.code]) return FASTIFY_CODES[fastifyError.code]!()
  // Errors fastify raises for malformed requests carry a 4xx status: pass the status, not the text.
  const status = fastifyError?.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new AltoError('ALTO_ERR_BAD_REQUEST', statusTitle(status), { statusCode: status })
  }
  return undefined
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

function statusTitle(status: number): string {
  return TITLES[status] ?? 'Error'
}
