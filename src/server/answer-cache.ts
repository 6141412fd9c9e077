/**
 * @module server/answer-cache
 * Answers of the POST services by (client address, resource, request body), for one resource
 * table (one snapshot: a new snapshot starts an empty cache, so an answer is never served from
 * another version of the maps). Peers ask the same question again every epoch (seed 003: every
 * 30 s, the same candidates), and an endpoint cost answer costs far more to compute than to look
 * up. The client address is part of the key because an answer may depend on it (an endpoint cost
 * request without `srcs` is about the client itself).
 *
 * An answer is kept the second time its request is seen: requests that never come back (a burst
 * of one-off questions) then cost a short key each, not an answer held until it is pushed out
 * (which would move every answer into the old generation of the heap and make garbage collection
 * the main cost). A request is keyed by the SHA-256 of its body (a collision is not a practical concern), so a
 * lookup allocates a few dozen bytes, not a copy of the body. Bounded by the bytes of the answers
 * kept, oldest first out; answers over 64 KiB are not kept, so that one huge answer cannot flush
 * everything else.
 */
import { createHash } from 'node:crypto'

export const ANSWER_CACHE_DEFAULT_BYTES = 16 * 2 ** 20
const MAX_ANSWER_BYTES = 64 * 1024

export class AnswerCache<Table extends object> {
  readonly maxBytes: number
  #table: Table | undefined
  #answers = new Map<string, Buffer>()
  #bytes = 0
  /** Keys seen once and not kept yet, oldest first; bounded like the answers. */
  #seenOnce = new Map<string, true>()

  constructor(maxBytes = ANSWER_CACHE_DEFAULT_BYTES) {
    this.maxBytes = maxBytes
  }

  /** The key of a request, or undefined when the cache is off. */
  key(resourceId: string, remote: string | undefined, body: Buffer): string | undefined {
    if (this.maxBytes <= 0) return undefined
    return `${resourceId} ${remote ?? ''} ${createHash('sha256').update(body).digest('base64')}`
  }

  get(table: Table, key: string): Buffer | undefined {
    return this.#table === table ? this.#answers.get(key) : undefined
  }

  /**
   * Offer an answer computed from `table` (after `get` missed). Kept when `table` is the one being
   * served (`current`) and the request was seen before; the first time, only its key is noted.
   */
  set(table: Table, current: Table, key: string, answer: Buffer): void {
    if (table !== current || answer.length > MAX_ANSWER_BYTES) return
    if (this.#table !== table) {
      this.#table = table
      this.#answers = new Map()
      this.#seenOnce = new Map()
      this.#bytes = 0
    }
    if (!this.#seenOnce.delete(key)) {
      this.#seenOnce.set(key, true)
      if (this.#seenOnce.size > this.maxBytes / 1024) this.#seenOnce.delete(this.#seenOnce.keys().next().value!)
      return
    }
    if (this.#answers.has(key)) return
    this.#answers.set(key, answer)
    this.#bytes += key.length + answer.length
    for (const [oldKey, oldAnswer] of this.#answers) {
      if (this.#bytes <= this.maxBytes) break
      this.#answers.delete(oldKey)
      this.#bytes -= oldKey.length + oldAnswer.length
    }
  }

  get size(): number {
    return this.#answers.size
  }
}
