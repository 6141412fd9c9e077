/**
 * @module server/prepared-body
 * A response body serialized once: its bytes, their gzip, and a strong ETag. Full maps are
 * prepared once per version and served as bytes, never re-serialized per request. A large body
 * (a 2,000-PID cost map is ~65 MB) is built from parts without ever being one string, and is
 * gzipped off the event loop.
 */
import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
import { gzip as gzipCallback, gzipSync } from 'node:zlib'

const gzipAsync = promisify(gzipCallback)

export interface PreparedBody {
  readonly bytes: Buffer
  /**
   * Gzipped bytes, or undefined when the body is too small to be worth it. A body of
   * {@link LARGE_BODY} bytes or more is compressed in zlib's thread pool: until that is done this is
   * a promise, which gives undefined if compression failed (then serve the bytes as they are).
   */
  readonly gzip: Buffer | Promise<Buffer | undefined> | undefined
  /** Strong entity tag, quoted. */
  readonly etag: string
}

/** Bodies smaller than this are sent uncompressed (one TCP segment either way). */
export const GZIP_THRESHOLD = 1400

/** Bodies built by {@link prepareBodyParts} from this size on are gzipped asynchronously, at {@link LARGE_BODY_GZIP_LEVEL}. */
export const LARGE_BODY = 1 << 20

/**
 * zlib level for large bodies. On a 2,000-PID cost map (65.8 MB) level 4 gives 19.2 MB in 0.7 s,
 * the default level 6 18.5 MB in 3.1 s, level 1 21.1 MB in 0.4 s (docs/performance.md, figure 3):
 * 4 % more bytes for a fifth of the CPU time, paid again by every new version of the map.
 */
export const LARGE_BODY_GZIP_LEVEL = 4

/** A prepared body whose gzip is done (or not needed). */
export interface CompressedBody extends PreparedBody {
  readonly gzip: Buffer | undefined
}

/** A body serialized as one string, compressed now whatever its size. */
export function prepareBody(json: string): CompressedBody {
  return compressedNow(Buffer.from(json, 'utf8'))
}

/**
 * A body given as the parts of its text, in order, for bodies too large to build as one string:
 * the bytes and ETag of {@link prepareBody} of their concatenation, gzipped off the event loop
 * (at {@link LARGE_BODY_GZIP_LEVEL}) from {@link LARGE_BODY} bytes on.
 */
export function prepareBodyParts(parts: Iterable<string>): PreparedBody {
  const buffers: Buffer[] = []
  let length = 0
  for (const part of parts) {
    const buffer = Buffer.from(part, 'utf8')
    buffers.push(buffer)
    length += buffer.length
  }
  const bytes = Buffer.concat(buffers, length)
  if (bytes.length < LARGE_BODY) return compressedNow(bytes)
  const body: { bytes: Buffer; etag: string; gzip: PreparedBody['gzip'] } = { bytes, etag: etagOf(bytes), gzip: undefined }
  // Output in 1 MiB pieces, not zlib's 16 KiB: each piece costs the event loop a callback (a
  // 65 MB map: 130 ms of them against 40 ms).
  body.gzip = gzipAsync(bytes, { level: LARGE_BODY_GZIP_LEVEL, chunkSize: LARGE_BODY }).then(
    (gzipped) => (body.gzip = gzipped),
    () => (body.gzip = undefined),
  )
  return body
}

function compressedNow(bytes: Buffer): CompressedBody {
  return { bytes, gzip: bytes.length >= GZIP_THRESHOLD ? gzipSync(bytes) : undefined, etag: etagOf(bytes) }
}

function etagOf(bytes: Buffer): string {
  return `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`
}
