/**
 * @module server/prepared-body
 * A response body serialized once: its bytes, their gzip, and a strong ETag. Full maps are
 * prepared once per version and served as bytes, never re-serialized per request.
 */
import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'

export interface PreparedBody {
  readonly bytes: Buffer
  /** Gzipped bytes, or undefined when the body is too small to be worth it. */
  readonly gzip: Buffer | undefined
  /** Strong entity tag, quoted. */
  readonly etag: string
}

/** Bodies smaller than this are sent uncompressed (one TCP segment either way). */
export const GZIP_THRESHOLD = 1400

export function prepareBody(json: string): PreparedBody {
  const bytes = Buffer.from(json, 'utf8')
  const etag = `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`
  const gzip = bytes.length >= GZIP_THRESHOLD ? gzipSync(bytes) : undefined
  return { bytes, gzip, etag }
}
