/**
 * @module server/fast-lane
 * The lean path for the busiest requests, answered straight on node:http: the POST services
 * (endpoint cost, endpoint property, filtered maps) and the GETs of full maps, most of which are
 * revalidations answered 304. Through fastify, the per-request machinery
 * (hooks, reply objects, promises) costs more than computing an endpoint cost answer
 * (docs/performance.md), so these requests skip it; everything they need is applied here with
 * the very objects the full path uses: the same resource table, overload guard, access list, rate
 * limiter, negotiation, answers, error bodies, metrics and access log.
 *
 * The lane decides from the request line and headers alone, before any body byte is read, and
 * takes a request only when nothing but a 200, a 304 or an ALTO error can come of it. Everything
 * else stays with fastify, untouched: requests it would refuse (404, 405, 406, 415, 403, 429, 503,
 * 413), chunked bodies, attestation requests (`Prefer`; with signing on, every GET, since every
 * GET answer is signed), update streams, the IRD, HEAD, and every request while the server is
 * closing. A server with authentication sends everything through fastify.
 *
 * Answers are written at the end of the event-loop turn that computed them, together with the
 * turn's other answers (server/write-batch.ts): a client waiting for several is then woken once.
 * Answers that have waited their bound are written out before an answer is computed, and all
 * waiting answers before a request goes to fastify.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import type { Logger } from 'pino'
import { parseJsonBody } from '../protocol/validate.ts'
import type { AccessLog } from './access-log.ts'
import { AnswerCache } from './answer-cache.ts'
import { errorAnswer } from './error-handler.ts'
import type { ServerMetrics } from './metrics.ts'
import { acceptsGzip, ifNoneMatch, negotiate } from './negotiation.ts'
import type { OverloadGuard } from './overload.ts'
import { GZIP_THRESHOLD } from './prepared-body.ts'
import type { RateLimiter } from './rate-limit.ts'
import type { RequestIds } from './request-id.ts'
import type { AccessList } from './security.ts'
import { WriteBatch } from './write-batch.ts'
import type { Resource, ResourceKind, ResourceTable } from './resources.ts'

const gzipAsync = promisify(gzip)

const POST_KINDS: ReadonlySet<ResourceKind> = new Set(['endpoint-cost', 'endpoint-prop', 'filtered-cost-map', 'filtered-network-map'])
const GET_KINDS: ReadonlySet<ResourceKind> = new Set(['network-map', 'cost-map'])

export interface FastLaneOptions {
  /** The table requests are resolved in now (a request keeps the one it started with). */
  table(): ResourceTable
  closing(): boolean
  overload: OverloadGuard
  access: AccessList | undefined
  limiter: RateLimiter | undefined
  bodyLimit: number
  /** Attestations are signed by the full path: requests that may ask for one (`Prefer`) go there. */
  signing: boolean
  /** The Cache-Control of full maps, e.g. `public, max-age=60`. */
  cacheControl: string
  /** The JSON answer of a POST resource (throws ALTO errors), as the full path computes it. */
  answer(resource: Resource, table: ResourceTable, body: unknown, remote: string | undefined): string
  logger: Logger
  accessLog: AccessLog
  metrics: ServerMetrics
  /** The request ids the full path draws from too. */
  ids: RequestIds
  /** Bytes of answers kept for repeated requests (server/answer-cache.ts); 0 keeps none. */
  answerCacheBytes?: number
  /** The longest an answer waits to be written with the rest of its event-loop turn (server/write-batch.ts); 0 writes each at once. */
  writeBatchMs?: number
}

export class FastLane {
  readonly #o: FastLaneOptions
  readonly cache: AnswerCache<ResourceTable>
  /** Answers waiting for the end of their turn (server/write-batch.ts). */
  readonly batch: WriteBatch
  /** Requests answered here, for tests and metrics. */
  taken = 0

  readonly #ids: RequestIds
  readonly #leave: () => void

  constructor(options: FastLaneOptions) {
    this.#o = options
    this.#ids = options.ids
    this.#leave = () => options.overload.leave()
    this.cache = new AnswerCache(options.answerCacheBytes)
    this.batch = new WriteBatch(options.writeBatchMs ?? 1, (error) => options.logger.error({ err: error }, 'writing an answer failed'))
  }

  /** Answer the request here if it qualifies; false leaves it, unread, to fastify. */
  take(request: IncomingMessage, response: ServerResponse): boolean {
    const o = this.#o
    const method = request.method
    if ((method !== 'POST' && method !== 'GET') || o.closing()) return false
    const headers = request.headers
    const declared = headers['content-length']
    if (method === 'GET') {
      if ((declared !== undefined && declared !== '0') || headers['transfer-encoding'] !== undefined || o.signing) return false
    } else {
      if (declared === undefined || headers['transfer-encoding'] !== undefined) return false
      if (!(Number(declared) <= o.bodyLimit)) return false
      if (o.signing && headers.prefer !== undefined) return false
    }
    const table = o.table()
    let resource: Resource
    try {
      resource = negotiate(table, method, request.url ?? '/', headers)
    } catch {
      return false // fastify answers the refusal
    }
    if (!(method === 'GET' ? GET_KINDS.has(resource.kind) && resource.body !== undefined : POST_KINDS.has(resource.kind))) return false
    const remote = request.socket.remoteAddress
    if (o.access && !o.access.allows(remote)) return false
    if (o.overload.wouldShed()) return false
    // Over the limit: fastify counts the request once more (the client is over either way) and answers 429.
    if (o.limiter && o.limiter.take(remote ?? 'unknown') !== 0) return false
    this.taken++
    if (method === 'GET') this.#serveGet(request, response, resource)
    else this.#serve(request, response, resource, table, remote)
    return true
  }

  /** A full map: its prepared bytes (gzipped when asked for), or 304 when the client has them. */
  #serveGet(request: IncomingMessage, response: ServerResponse, resource: Resource): void {
    const started = performance.now()
    const id = this.#ids.next()
    this.#o.overload.enter() // cannot shed: wouldShed() was false in this same tick
    response.on('close', this.#leave) // a response closes once
    request.resume() // no body: let the request end
    const body = resource.body!
    const headers = ['x-request-id', id, 'cache-control', this.#o.cacheControl, 'etag', body.etag, 'vary', 'Accept-Encoding', 'content-type', resource.mediaType]
    const finish = (status: number, payload?: Buffer, encoding?: string) => {
      if (payload) headers.push('content-length', String(payload.length))
      if (encoding) headers.push('content-encoding', encoding)
      this.#queue(request, response, resource.kind, id, status, headers, payload, started)
    }
    if (ifNoneMatch(request.headers['if-none-match'], body.etag)) {
      finish(304)
    } else if (body.gzip && acceptsGzip(request.headers['accept-encoding'])) {
      // A large body may still be being gzipped (server/prepared-body.ts): wait for it.
      Promise.resolve(body.gzip).then((gzip) => (gzip ? finish(200, gzip, 'gzip') : finish(200, body.bytes)))
    } else {
      finish(200, body.bytes)
    }
  }

  #serve(request: IncomingMessage, response: ServerResponse, resource: Resource, table: ResourceTable, remote: string | undefined): void {
    const started = performance.now()
    this.#o.overload.enter() // cannot shed: wouldShed() was false in this same tick
    response.on('close', this.#leave) // a response closes once
    // A body usually comes in one chunk, which is then used as it is, not copied.
    let first: Buffer | undefined
    let more: Buffer[] | undefined
    request.on('data', (chunk: Buffer) => {
      if (first === undefined) first = chunk
      else (more ??= [first]).push(chunk)
    })
    request.on('error', ignore) // an aborted upload: the socket is gone, nothing to answer
    request.on('end', () => this.#answer(request, response, resource, table, remote ?? '', more ? Buffer.concat(more) : (first ?? EMPTY), started))
  }

  #answer(request: IncomingMessage, response: ServerResponse, resource: Resource, table: ResourceTable, remote: string, bytes: Buffer, started: number): void {
    const o = this.#o
    const id = this.#ids.next()
    const cache = this.cache
    let status = 200
    let type = resource.mediaType
    let body: Buffer
    let errorHeaders: Record<string, string> | undefined
    try {
      const cached = cache.enabled ? cache.get(table, resource.id, remote, bytes) : undefined
      if (cache.enabled) o.metrics.recordCache(cached !== undefined)
      if (cached !== undefined) body = cached
      else {
        // Computing takes far longer than a hit: answers that have waited their bound go first.
        this.batch.flushIfDue()
        body = Buffer.from(o.answer(resource, table, parseJsonBody(bytes), remote || undefined))
        cache.set(table, o.table(), resource.id, remote, bytes, body)
      }
    } catch (error) {
      const answer = errorAnswer(error, o.logger.child({ reqId: id }))
      status = answer.status
      type = answer.type
      body = answer.body
      errorHeaders = answer.headers
    }
    if (body.length >= GZIP_THRESHOLD && acceptsGzip(request.headers['accept-encoding'])) {
      gzipAsync(body).then(
        (zipped) => this.#send(request, response, resource.kind, id, status, type, zipped, errorHeaders, 'gzip', started),
        () => this.#send(request, response, resource.kind, id, status, type, body, errorHeaders, undefined, started),
      )
    } else {
      this.#send(request, response, resource.kind, id, status, type, body, errorHeaders, undefined, started)
    }
  }

  #send(request: IncomingMessage, response: ServerResponse, kind: ResourceKind, id: string, status: number, type: string, payload: Buffer, errorHeaders: Record<string, string> | undefined, encoding: string | undefined, started: number): void {
    // An error carries its own headers (e.g. Allow); an answer is never to be stored by caches.
    let headers: string[]
    if (errorHeaders === undefined) {
      headers = ['cache-control', 'no-store', 'vary', 'Accept-Encoding', 'x-request-id', id, 'content-type', type, 'content-length', String(payload.length)]
    } else {
      headers = []
      for (const name in errorHeaders) headers.push(name, errorHeaders[name]!)
      headers.push('x-request-id', id, 'content-type', type, 'content-length', String(payload.length))
    }
    if (encoding !== undefined) headers.push('content-encoding', encoding)
    this.#queue(request, response, kind, id, status, headers, payload, started)
  }

  /** Queue an answer to be written with the rest of its turn (server/write-batch.ts), then counted and logged. */
  #queue(request: IncomingMessage, response: ServerResponse, kind: ResourceKind, id: string, status: number, headers: string[], payload: Buffer | undefined, started: number): void {
    this.batch.add(response, () => {
      response.writeHead(status, headers)
      response.end(payload)
      this.#done(kind, id, request.method!, request.url, status, started)
    })
  }

  /** Count and log one answered request. */
  #done(kind: ResourceKind, id: string, method: string, url: string | undefined, status: number, started: number): void {
    const ms = performance.now() - started
    this.#o.metrics.recordRequest(kind, status, ms / 1000)
    this.#o.accessLog.record(id, method, url, status, ms)
  }
}

const EMPTY = Buffer.alloc(0)
function ignore(): void {}
