/**
 * @module server/negotiation
 * Resolving a request to a resource and checking it can be answered: method (405 with Allow),
 * Accept (406, RFC 7285 §8.3.5: the client must accept the resource's media type or the error
 * type), Content-Type of POST bodies (415).
 */
import { createAltoError } from '../protocol/errors.ts'
import { MediaType } from '../protocol/media-types.ts'
import { HttpError } from './error-handler.ts'
import type { Resource, ResourceTable } from './resources.ts'

const GET_METHODS = ['GET', 'HEAD']
const POST_METHODS = ['POST']

/** The resource a request is for, or an HttpError to answer with. */
export function negotiate(table: ResourceTable, method: string, url: string, headers: Record<string, string | string[] | undefined>): Resource {
  const query = url.indexOf('?')
  const path = query < 0 ? url : url.slice(0, query)
  const resource = table.resolve(path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path)
  if (!resource) throw new HttpError(createAltoError('ALTO_ERR_NOT_FOUND', [path]))
  const allowed = resource.method === 'GET' ? GET_METHODS : POST_METHODS
  if (!allowed.includes(method)) throw new HttpError(createAltoError('ALTO_ERR_METHOD_NOT_ALLOWED', [method]), { allow: allowed.join(', ') })
  const accept = headerText(headers.accept)
  // A stream control request is answered 204 with no body (RFC 8895 §7.6), so any Accept will do.
  if (accept !== undefined && resource.kind !== 'stream-control' && !acceptable(accept, resource.mediaType)) {
    throw new HttpError(createAltoError('ALTO_ERR_NOT_ACCEPTABLE', [resource.mediaType]))
  }
  if (resource.method === 'POST') {
    const header = headerText(headers['content-type'])
    // The usual case, the exact media type, needs no parsing.
    const contentType = header === resource.accepts ? header : header?.split(';', 1)[0]!.trim().toLowerCase()
    // RFC 8895 §7.5 has control requests in the update stream's own params type; the control
    // type is taken too, for clients that read "Stream Control Service" as its media type.
    const alsoAccepted = resource.kind === 'stream-control' && contentType === MediaType.updateStreamControl
    if (contentType !== resource.accepts && !alsoAccepted) throw new HttpError(createAltoError('ALTO_ERR_UNSUPPORTED_MEDIA_TYPE', [resource.accepts]))
  }
  return resource
}

/**
 * Whether an Accept header lets us answer with `mediaType` or, failing that, with an ALTO error
 * (RFC 7285 §8.3.5). Clients send the same few Accept headers again and again, so verdicts are
 * remembered (per header text and media type, a bounded number of them).
 */
const verdicts = new Map<string, Map<string, boolean>>()
const MAX_REMEMBERED_HEADERS = 256

/** The last verdict, checked first: comparing a header with the last one costs less than hashing it. */
let lastAccept = ''
let lastMediaType = ''
let lastVerdict = false

function acceptable(accept: string, mediaType: string): boolean {
  if (accept === lastAccept && mediaType === lastMediaType) return lastVerdict
  lastAccept = accept
  lastMediaType = mediaType
  lastVerdict = remembered(accept, mediaType)
  return lastVerdict
}

function remembered(accept: string, mediaType: string): boolean {
  let byType = verdicts.get(accept)
  let verdict = byType?.get(mediaType)
  if (verdict === undefined) {
    verdict = accepts(accept, mediaType) || accepts(accept, MediaType.error)
    if (byType === undefined) {
      if (verdicts.size >= MAX_REMEMBERED_HEADERS) verdicts.clear()
      verdicts.set(accept, (byType = new Map()))
    }
    byType.set(mediaType, verdict)
  }
  return verdict
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value
}

/** Whether an Accept header admits a media type (RFC 9110 §12.5.1: ranges, wildcards, q=0 excludes). */
export function accepts(header: string, mediaType: string): boolean {
  const [type, subtype] = mediaType.split('/')
  if (header.trim() === '') return true
  for (const part of header.split(',')) {
    const [range = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase())
    const q = params.find((p) => p.startsWith('q='))
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue
    const [rangeType, rangeSubtype] = range.split('/')
    if (rangeType === '*' && rangeSubtype === '*') return true
    if (rangeType === type && (rangeSubtype === '*' || rangeSubtype === subtype)) return true
  }
  return false
}

/** Whether an Accept-Encoding header admits gzip (q=0 refuses it). */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  return typeof header === 'string' && /(^|,)\s*gzip\s*(;\s*q=(?!0(\.0*)?\s*(,|$))[\d.]+)?\s*(,|$)/i.test(header)
}

/** RFC 9110 §13.1.2: weak comparison, `*` matches any. */
export function ifNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false
  if (header.trim() === '*') return true
  const bare = etag.replace(/^W\//, '')
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare)
}
