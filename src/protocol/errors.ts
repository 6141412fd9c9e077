/**
 * @module protocol/errors
 * One registry of ALTOkit's error codes (`ALTO_ERR_*`) and the protocol error that carries the
 * wire fields of RFC 7285 §8.5.2. `server/error-handler.ts` is the only place that turns them into
 * HTTP responses; docs/errors.md lists every code (a test keeps the two in step).
 */

/** The error codes of RFC 7285 §8.5.2 (Table 1). */
export const ALTO_WIRE_CODES = ['E_SYNTAX', 'E_MISSING_FIELD', 'E_INVALID_FIELD_TYPE', 'E_INVALID_FIELD_VALUE'] as const
export type AltoWireCode = (typeof ALTO_WIRE_CODES)[number]

/** Every ALTOkit error: a stable `code`, an HTTP status where one applies, and an optional cause. */
export class AltoError extends Error {
  readonly code: string
  readonly statusCode: number | undefined
  constructor(code: string, message: string, options: { statusCode?: number; cause?: unknown } = {}) {
    // An error of the client's request (4xx) or a refusal under load (503) is an answer, not a
    // fault: nobody reads its stack, and capturing one costs more than the rest of the answer
    // (several µs; docs/performance.md). Every other error keeps its stack.
    const status = options.statusCode
    const limit = Error.stackTraceLimit
    if (status !== undefined && (status < 500 || status === 503)) Error.stackTraceLimit = 0
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    Error.stackTraceLimit = limit
    this.name = 'AltoError'
    this.code = code
    this.statusCode = options.statusCode
  }
}

export interface AltoErrorMeta {
  code: AltoWireCode
  field?: string
  value?: string
  'syntax-error'?: string
}

/**
 * An error in an ALTO request, sent on the wire as `application/alto-error+json` (RFC 7285 §8.5).
 * `field` names the member with a slash-separated path (`cost-type/cost-mode`); `value` is the
 * offending value as a string.
 */
export class AltoProtocolError extends AltoError {
  readonly altoCode: AltoWireCode
  readonly field: string | undefined
  readonly value: string | undefined
  readonly syntaxError: string | undefined
  /** Validator output, when a schema check failed. */
  readonly validation: unknown
  constructor(
    altoCode: AltoWireCode,
    message: string,
    detail: { field?: string; value?: unknown; syntaxError?: string; validation?: unknown; statusCode?: number } = {},
  ) {
    super(`ALTO_ERR_${altoCode.slice(2)}`, message, { statusCode: detail.statusCode ?? 400 })
    this.name = 'AltoProtocolError'
    this.altoCode = altoCode
    this.field = detail.field
    this.value = detail.value === undefined ? undefined : stringifyValue(detail.value)
    this.syntaxError = detail.syntaxError
    this.validation = detail.validation
  }

  /** The `meta` object of the error body (RFC 7285 §8.5.2). */
  toMeta(): AltoErrorMeta {
    const meta: AltoErrorMeta = { code: this.altoCode }
    if (this.syntaxError !== undefined) meta['syntax-error'] = this.syntaxError
    if (this.field !== undefined) meta.field = this.field
    if (this.value !== undefined) meta.value = this.value
    return meta
  }
}

function stringifyValue(value: unknown): string {
  if (typeof value === 'string') return value
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/** The ALTOkit error table: code -> [HTTP status or undefined, message template (`%s` placeholders)]. */
export const ERROR_CODES = {
  ALTO_ERR_SYNTAX: [400, 'Request body is not valid JSON: %s'],
  ALTO_ERR_MISSING_FIELD: [400, 'Missing field: %s'],
  ALTO_ERR_INVALID_FIELD_TYPE: [400, 'Field %s has the wrong JSON type'],
  ALTO_ERR_INVALID_FIELD_VALUE: [400, 'Field %s has an invalid value'],
  ALTO_ERR_NOT_FOUND: [404, 'No ALTO resource at %s'],
  ALTO_ERR_METHOD_NOT_ALLOWED: [405, 'Method %s is not allowed on this resource'],
  ALTO_ERR_NOT_ACCEPTABLE: [406, 'The Accept header excludes %s and application/alto-error+json'],
  ALTO_ERR_UNSUPPORTED_MEDIA_TYPE: [415, 'Content-Type must be %s'],
  ALTO_ERR_BODY_TOO_LARGE: [413, 'Request body exceeds %s bytes'],
  ALTO_ERR_UNAUTHORIZED: [401, 'Authentication required'],
  ALTO_ERR_FORBIDDEN: [403, 'Client address %s is not allowed'],
  ALTO_ERR_RATE_LIMITED: [429, 'Too many requests; retry in %s seconds'],
  ALTO_ERR_OVERLOADED: [503, 'Server overloaded; retry in %s seconds'],
  ALTO_ERR_TIMEOUT: [408, 'Request took too long to arrive'],
  ALTO_ERR_BAD_REQUEST: [400, '%s'],
  ALTO_ERR_UNREACHABLE: [undefined, 'Cannot reach the ALTO server at %s: %s'],
  ALTO_ERR_HTTP_STATUS: [undefined, 'ALTO server answered %s for %s'],
  ALTO_ERR_BAD_RESPONSE: [undefined, 'ALTO server answer from %s is not a valid %s: %s'],
  ALTO_ERR_NO_RESOURCE: [undefined, 'The IRD offers no %s'],
  ALTO_ERR_BAD_ADDRESS: [undefined, 'Not an IPv4 or IPv6 address (with an optional port): %s'],
  ALTO_ERR_UNSUPPORTED_PREFIX: [undefined, 'unsupported prefix length %s: RFC 8686 needs IPv4 /8 or longer, IPv6 /32 or longer'],
  ALTO_ERR_DISCOVERY_FAILED: [undefined, 'ALTO discovery for %s found no server: %s'],
  ALTO_ERR_BAD_DISCOVERY_INPUT: [undefined, '%s'],
  ALTO_ERR_BGP: [undefined, 'BGP: %s'],
  ALTO_ERR_BUNDLE_REJECTED: [undefined, 'Bundle rejected (%s): %s'],
  ALTO_ERR_CONFIG: [undefined, '%s'],
  ALTO_ERR_USAGE: [undefined, '%s'],
  ALTO_ERR_INTERNAL: [500, 'Internal server error'],
} as const satisfies Record<string, readonly [number | undefined, string]>

export type AltoErrorCode = keyof typeof ERROR_CODES

/** Build an {@link AltoError} from the table, filling `%s` placeholders in order. */
export function createAltoError(code: AltoErrorCode, args: readonly unknown[] = [], cause?: unknown): AltoError {
  const [statusCode, template] = ERROR_CODES[code]
  let i = 0
  const message = template.replace(/%s/g, () => String(args[i++] ?? ''))
  const options: { statusCode?: number; cause?: unknown } = { cause }
  if (statusCode !== undefined) options.statusCode = statusCode
  return new AltoError(code, message, options)
}

/** A configuration error that names the file, line and field at fault. */
export class AltoConfigError extends AltoError {
  readonly file: string | undefined
  readonly line: number | undefined
  readonly field: string | undefined
  constructor(message: string, where: { file?: string; line?: number; field?: string } = {}) {
    const location = [where.file, where.line].filter((x) => x !== undefined).join(':')
    const prefix = location ? `${location}: ` : ''
    const fieldText = where.field ? `${where.field}: ` : ''
    super('ALTO_ERR_CONFIG', `${prefix}${fieldText}${message}`)
    this.name = 'AltoConfigError'
    this.file = where.file
    this.line = where.line
    this.field = where.field
  }
}

export function isAltoError(error: unknown): error is AltoError {
  return error instanceof AltoError
}

export function isAltoProtocolError(error: unknown): error is AltoProtocolError {
  return error instanceof AltoProtocolError
}

export function isAltoConfigError(error: unknown): error is AltoConfigError {
  return error instanceof AltoConfigError
}
