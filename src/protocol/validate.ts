/**
 * @module protocol/validate
 * Request validation: JSON parsing and schema checks compiled once, failures mapped to the error
 * codes of RFC 7285 §8.5.2 with the failing field named as a slash path (`cost-type/cost-mode`).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { AltoProtocolError } from './errors.ts'
import {
  costMapBodySchema,
  costMapFilterSchema,
  endpointCostBodySchema,
  endpointCostSchema,
  endpointPropBodySchema,
  endpointPropSchema,
  errorBodySchema,
  irdSchema,
  networkMapBodySchema,
  networkMapFilterSchema,
  updateStreamParamsSchema,
} from './schemas.ts'
import type {
  CostMapBody,
  CostMapFilterRequest,
  EndpointCostBody,
  EndpointCostRequest,
  EndpointPropBody,
  EndpointPropRequest,
  IrdBody,
  NetworkMapBody,
  NetworkMapFilterRequest,
  UpdateStreamRequest,
} from './types.ts'
import type { AltoErrorMeta } from './errors.ts'

const ajv = new Ajv({ allErrors: false, strict: true })

export type RequestValidator<T> = (body: unknown) => T

function compile<T>(schema: object): RequestValidator<T> {
  const check: ValidateFunction = ajv.compile(schema)
  return (body: unknown): T => {
    if (check(body)) return body as T
    throw toProtocolError(check.errors?.[0], body)
  }
}

export const validateNetworkMapFilter = compile<NetworkMapFilterRequest>(networkMapFilterSchema)
export const validateCostMapFilter = compile<CostMapFilterRequest>(costMapFilterSchema)
export const validateEndpointProp = compile<EndpointPropRequest>(endpointPropSchema)
export const validateEndpointCost = compile<EndpointCostRequest>(endpointCostSchema)
export const validateUpdateStreamParams = compile<UpdateStreamRequest>(updateStreamParamsSchema)

/**
 * Checkers for response bodies: `undefined` when the body has the RFC's shape, else a sentence
 * saying where it does not (`/meta/vtag must have required property 'tag'`).
 */
export type ResponseChecker<T> = (body: unknown) => body is T

function compileResponse<T>(schema: object): ResponseChecker<T> & { explain(): string } {
  const check = ajv.compile(schema)
  const checker = ((body: unknown): body is T => check(body)) as ResponseChecker<T> & { explain(): string }
  checker.explain = () => {
    const error = check.errors?.[0]
    return error ? `${error.instancePath || '(body)'} ${error.message ?? 'is invalid'}` : 'does not match'
  }
  return checker
}

export const isIrdBody = compileResponse<IrdBody>(irdSchema)
export const isNetworkMapBody = compileResponse<NetworkMapBody>(networkMapBodySchema)
export const isCostMapBody = compileResponse<CostMapBody>(costMapBodySchema)
export const isEndpointPropBody = compileResponse<EndpointPropBody>(endpointPropBodySchema)
export const isEndpointCostBody = compileResponse<EndpointCostBody>(endpointCostBodySchema)
export const isErrorBody = compileResponse<{ meta: AltoErrorMeta }>(errorBodySchema)

/** Parse request bytes as JSON, or throw E_SYNTAX with the parser's message. */
export function parseJsonBody(bytes: Buffer | string | undefined): unknown {
  const text = typeof bytes === 'string' ? bytes : (bytes?.toString('utf8') ?? '')
  if (text.trim() === '') throw new AltoProtocolError('E_SYNTAX', 'Request body is empty', { syntaxError: 'empty body' })
  try {
    return JSON.parse(text)
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error)
    throw new AltoProtocolError('E_SYNTAX', `Request body is not valid JSON: ${detail}`, { syntaxError: detail })
  }
}

function toProtocolError(error: ErrorObject | undefined, body: unknown): AltoProtocolError {
  if (!error) return new AltoProtocolError('E_SYNTAX', 'Request body does not match the schema')
  const segments = error.instancePath.split('/').slice(1).map(unescapePointer)
  // The field is the member path; array positions are dropped and the element becomes the value.
  const field = segments.filter((s) => !/^\d+$/.test(s)).join('/')
  const value = valueAt(body, segments)
  switch (error.keyword) {
    case 'required': {
      const missing = (error.params as { missingProperty: string }).missingProperty
      const path = field ? `${field}/${missing}` : missing
      return new AltoProtocolError('E_MISSING_FIELD', `Missing field ${path}`, { field: path, validation: error })
    }
    case 'type':
      return new AltoProtocolError('E_INVALID_FIELD_TYPE', `Field ${field || '(body)'} must be ${error.params.type as string}`, {
        field: field || undefined,
        value,
        validation: error,
      })
    default:
      return new AltoProtocolError('E_INVALID_FIELD_VALUE', `Field ${field || '(body)'} ${error.message ?? 'is invalid'}`, {
        field: field || undefined,
        value,
        validation: error,
      })
  }
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~')
}

function valueAt(body: unknown, segments: readonly string[]): unknown {
  let node = body
  for (const segment of segments) {
    if (node === null || typeof node !== 'object') return undefined
    node = (node as Record<string, unknown>)[segment]
  }
  return node
}
