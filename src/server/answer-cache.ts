/**
 * @module server/answer-cache
 * Answers of the POST services by (resource, client address, request body), for one resource
 * table (one snapshot: a new snapshot starts an empty cache, so an answer is never served from
 * another version of the maps). Peers ask the same question again every epoch (seed 003: every
 * 30 s, the same candidates), and an endpoint cost answer costs far more to compute than to look
 * up. The client address is part of the key because an answer may depend on it (an endpoint cost
 * request without `srcs` is about the client itself).
 *
 * A lookup must cost far less than the answer it saves, and allocate nothing: the request is found
 * by a 32-bit fingerprint of its resource, client and body (the body's length, its first and last
 * 64 bytes and 32 words spread between them: 64 reads, about 0.2 µs), and then compared byte for
 * byte with the request kept beside the answer. The fingerprint only picks a bucket: an answer is
 * served only for the identical request. Requests that share a fingerprint share its bucket, up to
 * BUCKET_ENTRIES of them; more are answered but not kept, so crafted collisions cost their sender a
 * cache miss and nothing else.
 *
 * An answer is kept the second time its request is seen, and only if it came back soon enough to
 * be answered from the cache a third time: within as many misses as the cache holds answers of its
 * size. Answers pushed out before their request comes back only cost: each is copied, moved to the
 * old generation of the heap, then left there as garbage, and the collections this churn brings on
 * slow every request (docs/performance.md measured a fifth fewer requests/s, and ECS hits 10% dearer
 * for minutes after). So requests that never come back (a burst of one-off questions) cost a
 * fingerprint each, and so do requests that come back too seldom: when more distinct questions
 * come in per epoch than the cache holds, it keeps none of them rather than churn. Bounded by the
 * bytes of the answers and requests kept, oldest first out; answers over 64 KiB are not kept, so
 * that one huge answer cannot flush everything else.
 */

export const ANSWER_CACHE_DEFAULT_BYTES = 16 * 2 ** 20
const MAX_ANSWER_BYTES = 64 * 1024
/** Requests kept per fingerprint. */
const BUCKET_ENTRIES = 4
/** What an entry costs beyond its bytes (objects, strings, map slots), counted against the bound. */
const ENTRY_OVERHEAD = 160

interface Entry {
  resource: string
  remote: string
  request: Buffer
  answer: Buffer
}

interface Bucket {
  print: number
  entries: Entry[]
}

export class AnswerCache<Table extends object> {
  readonly maxBytes: number
  #table: Table | undefined
  #buckets = new Map<number, Bucket>()
  /** Buckets oldest first, from `#head` on (a queue: a Map's own order costs a scan past deleted slots). */
  #order: Bucket[] = []
  #head = 0
  #bytes = 0
  #entries = 0
  /**
   * Fingerprints seen once, in a direct-mapped table (slot = fingerprint's low bits): O(1), no
   * allocation, and a newer request simply takes an older one's slot. An answer may thus be kept on
   * its first sight when another request left the same fingerprint there; that costs memory, not
   * correctness.
   */
  #seen: Uint32Array
  /** When each fingerprint of `#seen` was noted, as a count of misses (`#misses`). */
  #seenAt: Uint32Array
  /** Answers offered to the cache (misses), the clock of `#seenAt`. */
  #misses = 0

  constructor(maxBytes = ANSWER_CACHE_DEFAULT_BYTES) {
    this.maxBytes = maxBytes
    // About one slot per KiB of the bound (16,384 for 16 MiB), a power of two.
    const slots = maxBytes > 0 ? 2 ** Math.max(8, Math.ceil(Math.log2(maxBytes / 1024))) : 0
    this.#seen = new Uint32Array(slots)
    this.#seenAt = new Uint32Array(slots)
  }

  get enabled(): boolean {
    return this.maxBytes > 0
  }

  /** The answer kept for this very request, if any (always undefined when the cache is off). */
  get(table: Table, resource: string, remote: string, request: Buffer): Buffer | undefined {
    if (this.#table !== table) return undefined
    const bucket = this.#buckets.get(fingerprint(resource, remote, request))
    return bucket === undefined ? undefined : find(bucket.entries, resource, remote, request)?.answer
  }

  /**
   * Offer an answer computed from `table` (after `get` missed). Kept when `table` is the one being
   * served (`current`) and the request was seen before; the first time, only its fingerprint is noted.
   */
  set(table: Table, current: Table, resource: string, remote: string, request: Buffer, answer: Buffer): void {
    if (this.maxBytes <= 0 || table !== current || answer.length > MAX_ANSWER_BYTES) return
    if (this.#table !== table) {
      this.#table = table
      this.#buckets = new Map()
      this.#order = []
      this.#head = 0
      this.#seen.fill(0)
      this.#seenAt.fill(0)
      this.#bytes = 0
      this.#entries = 0
    }
    const print = fingerprint(resource, remote, request)
    // Slots hold fingerprint + 1 (0 is empty), kept as an unsigned 32-bit value.
    const slot = print & (this.#seen.length - 1)
    const mark = (print + 1) >>> 0
    const now = (this.#misses = (this.#misses + 1) >>> 0)
    // Misses the cache outlasts with answers of this size: a request back later would find its answer gone.
    const reach = Math.floor(this.maxBytes / entryBytes(request, answer))
    if (this.#seen[slot] !== mark || ((now - this.#seenAt[slot]!) >>> 0) > reach) {
      this.#seen[slot] = mark
      this.#seenAt[slot] = now
      return
    }
    let bucket = this.#buckets.get(print)
    if (bucket === undefined) {
      bucket = { print, entries: [] }
      this.#buckets.set(print, bucket)
      this.#order.push(bucket)
    } else if (bucket.entries.length >= BUCKET_ENTRIES || find(bucket.entries, resource, remote, request) !== undefined) return
    // The request is copied into memory of its own (the caller's buffer may be a slice of a larger
    // read, or be reused), and so is an answer that is a view of a larger buffer, such as a slice of
    // Buffer's shared pool, which it would keep whole.
    const kept = copyOf(request)
    const keptAnswer = own(answer)
    bucket.entries.push({ resource, remote, request: kept, answer: keptAnswer })
    this.#bytes += entryBytes(kept, keptAnswer)
    this.#entries++
    while (this.#bytes > this.maxBytes && this.#head < this.#order.length) {
      const old = this.#order[this.#head++]!
      this.#buckets.delete(old.print)
      for (const entry of old.entries) this.#bytes -= entryBytes(entry.request, entry.answer)
      this.#entries -= old.entries.length
    }
    if (this.#head > 1024 && this.#head * 2 > this.#order.length) {
      this.#order = this.#order.slice(this.#head)
      this.#head = 0
    }
  }

  /** Answers kept. */
  get size(): number {
    return this.#entries
  }
}

function find(entries: Entry[], resource: string, remote: string, request: Buffer): Entry | undefined {
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!
    if (entry.resource === resource && entry.remote === remote && entry.request.equals(request)) return entry
  }
  return undefined
}

/** `bytes` in memory of its own, not a view of a larger buffer. */
function own(bytes: Buffer): Buffer {
  return bytes.byteOffset === 0 && bytes.length === bytes.buffer.byteLength ? bytes : copyOf(bytes)
}

function copyOf(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length)
  bytes.copy(copy)
  return copy
}

function entryBytes(request: Buffer, answer: Buffer): number {
  return request.length + answer.length + ENTRY_OVERHEAD
}

/**
 * Bytes read in full at each end of a body; between them, SAMPLES words at an even stride. Distinct
 * requests of one client differ over most of their bytes (another list of addresses shifts all that
 * follows), so a few words set them apart; two that share a fingerprint share a bucket, and the
 * byte comparison tells them apart.
 */
const EDGE = 64
const SAMPLES = 32

/** A 32-bit fingerprint of a request (not a cryptographic digest: see the module's notes). */
export function fingerprint(resource: string, remote: string, body: Buffer): number {
  let h = Math.imul(body.length ^ 0x2545f491, 0x9e3779b1)
  for (let i = 0; i < resource.length; i++) h = mix(h, resource.charCodeAt(i))
  for (let i = 0; i < remote.length; i++) h = mix(h, remote.charCodeAt(i))
  const n = body.length
  if (n <= 2 * EDGE + 4 * SAMPLES) {
    for (let i = 0; i < n; i++) h = mix(h, body[i]!)
    return h >>> 0
  }
  for (let i = 0; i < EDGE; i += 4) h = mix(h, word(body, i))
  for (let i = n - EDGE; i < n; i += 4) h = mix(h, word(body, i))
  const stride = Math.floor((n - 2 * EDGE) / SAMPLES)
  for (let i = EDGE, k = 0; k < SAMPLES; i += stride, k++) h = mix(h, word(body, i))
  return h >>> 0
}

function word(b: Buffer, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)
}

function mix(h: number, v: number): number {
  h = Math.imul(h ^ v, 0x9e3779b1)
  return h ^ (h >>> 15)
}
