/**
 * @module server/request-id
 * Request ids (the `x-request-id` header and `reqId` of the logs): a random prefix per process and
 * a counter, e.g. `3f9a1c0b7e52-1k2`. Unique across the workers of a cluster and across restarts
 * (48 random bits), and cheap: no random bytes drawn per request.
 */
import { randomBytes } from 'node:crypto'

export class RequestIds {
  readonly #prefix = `${randomBytes(6).toString('hex')}-`
  #count = 0

  next(): string {
    return this.#prefix + (++this.#count).toString(36)
  }
}
