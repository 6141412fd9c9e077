/**
 * @module redistribution/bundle
 * The redistribution bundle (`application/alto-bundle+json`, docs/redistribution.md): an
 * attestation and the exact request and response bytes it signs, in base64. The envelope is
 * plain JSON and may be re-serialized freely; the bodies are bytes and never are.
 */
import { createHash } from 'node:crypto'
import { BundleRejectedError } from './reasons.ts'

export const BUNDLE_MEDIA_TYPE = 'application/alto-bundle+json'
/** The `alto-bundle` member: the format version. */
export const BUNDLE_VERSION = 1

export interface Bundle {
  /** Compact JWS (`typ: alto-attestation+jwt`) by the ALTO server. */
  attestation: string
  request: {
    method: string
    /** Absolute request URI. */
    uri: string
    /** Request media type, or null for a GET. */
    contentType: string | null
    /** Exact request body bytes (empty for a GET). */
    body: Buffer
  }
  response: {
    contentType: string
    /** Exact response body bytes, without content coding. */
    body: Buffer
  }
}

/** Members that would carry a sender's own keys: refused, never used (docs: trust model). */
const KEY_MEMBERS = ['jwk', 'jwks', 'keys', 'key', 'x5c', 'jku', 'x5u'] as const

/** `sha-256=:<base64>:` (RFC 9530 §2) of the exact bytes. */
export function contentDigest(bytes: Uint8Array): string {
  return `sha-256=:${createHash('sha256').update(bytes).digest('base64')}:`
}

export function encodeBundle(bundle: Bundle): Buffer {
  return Buffer.from(
    JSON.stringify({
      'alto-bundle': BUNDLE_VERSION,
      attestation: bundle.attestation,
      request: { method: bundle.request.method, uri: bundle.request.uri, 'content-type': bundle.request.contentType, body: bundle.request.body.toString('base64') },
      response: { 'content-type': bundle.response.contentType, body: bundle.response.body.toString('base64') },
    }),
  )
}

/** Parse a bundle; anything unreadable is a `malformed` rejection, key material a `sender-key` one. */
export function decodeBundle(input: Uint8Array | string): Bundle {
  let o: Record<string, unknown>
  try {
    o = JSON.parse(typeof input === 'string' ? input : Buffer.from(input).toString('utf8')) as Record<string, unknown>
  } catch (error) {
    throw new BundleRejectedError('malformed', [`not JSON (${(error as Error).message})`])
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new BundleRejectedError('malformed', ['not a JSON object'])
  const carried = KEY_MEMBERS.filter((m) => m in o)
  if (carried.length > 0) throw new BundleRejectedError('sender-key', [`member ${carried.join(', ')}`])
  if (o['alto-bundle'] !== BUNDLE_VERSION) throw new BundleRejectedError('malformed', [`"alto-bundle" must be ${BUNDLE_VERSION}`])
  const request = member(o, 'request')
  const response = member(o, 'response')
  const contentType = request['content-type']
  if (contentType !== null && typeof contentType !== 'string') throw new BundleRejectedError('malformed', ['request/content-type must be a string or null'])
  return {
    attestation: text(o, 'attestation', 'attestation'),
    request: { method: text(request, 'method', 'request/method'), uri: text(request, 'uri', 'request/uri'), contentType, body: base64(request, 'request/body') },
    response: { contentType: text(response, 'content-type', 'response/content-type'), body: base64(response, 'response/body') },
  }
}

function member(o: Record<string, unknown>, name: string): Record<string, unknown> {
  const value = o[name]
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BundleRejectedError('malformed', [`${name} must be an object`])
  return value as Record<string, unknown>
}

function text(o: Record<string, unknown>, name: string, path: string): string {
  const value = o[name]
  if (typeof value !== 'string' || value === '') throw new BundleRejectedError('malformed', [`${path} must be a non-empty string`])
  return value
}

function base64(o: Record<string, unknown>, path: string): Buffer {
  const value = o.body
  // Strict: Buffer.from would skip invalid characters silently and so change the bytes.
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
    throw new BundleRejectedError('malformed', [`${path} must be standard base64`])
  }
  return Buffer.from(value, 'base64')
}
