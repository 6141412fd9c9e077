/**
 * @module server/update-stream
 * RFC 8895 update streams. A client POSTs an UpdateStreamReq to the update stream service and
 * keeps the response open: a `text/event-stream` that starts with a control event carrying the
 * stream's control URI (§5.3), then each substream's full resource, then, each time a new
 * snapshot changes a resource, its incremental change (§3), computed once for all subscribers by
 * {@link VersionStore}. The control URI takes `add` / `remove` requests (§7). Streams end when
 * their last substream is removed, when the client goes away, or when the server closes.
 */
import { randomBytes } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import { AltoProtocolError, createAltoError } from '../protocol/errors.ts'
import { MediaType } from '../protocol/media-types.ts'
import { isValidResourceId } from '../protocol/names.ts'
import type { AddUpdateRequest, UpdateStreamControlEvent, UpdateStreamRequest } from '../protocol/types.ts'
import { validateUpdateStreamParams } from '../protocol/validate.ts'
import { HttpError } from './error-handler.ts'
import { STREAM_CONTROL_PATH, type ResourceTable } from './resources.ts'
import { VersionStore, type Change, type QueryResource, type Subject } from './update-versions.ts'

export interface UpdateStreamOptions {
  /**
   * Offer the update stream service (and list it in the IRD).
   * @default true
   */
  enabled?: boolean
  /**
   * Most update streams open at once; more are refused with 503 and Retry-After.
   * @default 1000
   */
  maxStreams?: number
  /**
   * Most substreams (resources) in one stream.
   * @default 64
   */
  maxSubstreams?: number
  /**
   * A comment line is sent on a stream that has been silent this long, so that proxies and NATs
   * keep the connection and the client can tell a quiet server from a dead one. 0 disables.
   * @default 15000
   */
  heartbeatMs?: number
  /**
   * A stream whose client reads so slowly that this many bytes wait unsent is closed; the client
   * reconnects and starts from full bodies.
   * @default 16777216
   */
  maxBufferedBytes?: number
  /**
   * Retry-After (seconds) when refusing a stream over `maxStreams`.
   * @default 5
   */
  retryAfterS?: number
}

export const UPDATE_STREAM_DEFAULTS = {
  enabled: true,
  maxStreams: 1000,
  maxSubstreams: 64,
  heartbeatMs: 15_000,
  maxBufferedBytes: 16 * 1024 * 1024,
  retryAfterS: 5,
} as const satisfies Required<UpdateStreamOptions>

export interface UpdateStreamStats {
  /** Streams open now, and their substreams. */
  streams: number
  substreams: number
  /** Distinct resources (with input) being streamed. */
  subjects: number
  /** Streams opened since start. */
  opened: number
  /** Incremental changes computed: one per resource version change, not one per subscriber. */
  patchesComputed: number
  /** Events sent: full bodies, incremental changes, control events. */
  fullBodiesSent: number
  patchesSent: number
  controlEventsSent: number
  /** Streams closed because their client could not keep up. */
  slowClosed: number
}

interface Substream {
  readonly clientId: string
  readonly subject: Subject
  readonly incremental: boolean
}

interface Stream {
  readonly id: string
  readonly res: ServerResponse
  readonly substreams: Map<string, Substream>
  lastWrite: number
  closed: boolean
}

/** An UpdateStreamReq checked against the current versions, ready to start. */
interface Plan {
  readonly adds: ReadonlyArray<{ clientId: string; subject: Subject; request: AddUpdateRequest }>
  readonly removes: readonly string[]
}

export class UpdateStreamService {
  readonly #options: Required<UpdateStreamOptions>
  readonly #logger: Logger
  readonly #versions: VersionStore
  readonly #streams = new Map<string, Stream>()
  readonly #subscribers = new Map<Subject, Set<{ stream: Stream; sub: Substream }>>()
  #heartbeat: NodeJS.Timeout | undefined
  #closing = false
  readonly #counts = { opened: 0, fullBodiesSent: 0, patchesSent: 0, controlEventsSent: 0, slowClosed: 0 }

  constructor(table: ResourceTable, query: QueryResource, options: UpdateStreamOptions, logger: Logger) {
    this.#options = Object.freeze({ ...UPDATE_STREAM_DEFAULTS, ...definedOnly(options) })
    this.#versions = new VersionStore(table, query)
    this.#logger = logger
  }

  get stats(): UpdateStreamStats {
    let substreams = 0
    for (const s of this.#streams.values()) substreams += s.substreams.size
    return { streams: this.#streams.size, substreams, subjects: this.#versions.size, patchesComputed: this.#versions.stats.patchesComputed, ...this.#counts }
  }

  /**
   * Check an update stream request (RFC 8895 §6.5) against the current versions. Throws the ALTO
   * error to answer with; nothing has been written yet. Call {@link start} in the same tick.
   */
  prepare(body: unknown): Plan {
    if (this.#closing) throw new HttpError(createAltoError('ALTO_ERR_OVERLOADED', [this.#options.retryAfterS]), { 'retry-after': String(this.#options.retryAfterS) })
    const request = validateUpdateStreamParams(body)
    if (!request.add || Object.keys(request.add).length === 0) {
      throw new AltoProtocolError('E_MISSING_FIELD', 'An update stream request needs at least one substream in "add"', { field: 'add' })
    }
    if (this.#streams.size >= this.#options.maxStreams) {
      throw new HttpError(createAltoError('ALTO_ERR_OVERLOADED', [this.#options.retryAfterS]), { 'retry-after': String(this.#options.retryAfterS) })
    }
    // `remove` means nothing before the stream exists; it is ignored (RFC 8895 §6.5 [unsure]).
    return this.#plan(request, undefined)
  }

  /** Start a prepared stream on a response whose 200 head has been written. */
  start(plan: Plan, res: ServerResponse, baseUrl: string): void {
    const stream: Stream = { id: randomBytes(16).toString('base64url'), res, substreams: new Map(), lastWrite: Date.now(), closed: false }
    this.#streams.set(stream.id, stream)
    this.#counts.opened++
    res.on('close', () => this.#forget(stream))
    this.#control(stream, { 'control-uri': `${baseUrl}${STREAM_CONTROL_PATH}/${stream.id}` })
    this.#add(stream, plan)
    this.#startHeartbeat()
    this.#logger.info({ stream: stream.id, substreams: [...stream.substreams.keys()] }, 'update stream opened')
  }

  /**
   * A stream control request (RFC 8895 §7.5) for the stream with this id: remove, then add.
   * Throws ALTO_ERR_NOT_FOUND for an unknown or ended stream and protocol errors for a bad
   * request, changing nothing; otherwise the effects show on the stream.
   */
  control(streamId: string, body: unknown): void {
    const stream = this.#streams.get(streamId)
    if (!stream || stream.closed) throw new HttpError(createAltoError('ALTO_ERR_NOT_FOUND', [`${STREAM_CONTROL_PATH}/${streamId}`]))
    const plan = this.#plan(validateUpdateStreamParams(body), stream.substreams)
    if (plan.removes.length > 0) {
      for (const id of plan.removes) this.#unsubscribe(stream, stream.substreams.get(id)!)
      this.#control(stream, { 'stopped-substreams': [...plan.removes] })
    }
    if (plan.adds.length > 0) {
      this.#control(stream, { 'started-substreams': plan.adds.map((a) => a.clientId) })
      this.#add(stream, plan)
    }
    // RFC 8895 §7.5 [unsure of the exact wording]: a stream left with no substream is closed.
    if (stream.substreams.size === 0) this.#end(stream)
  }

  /** A new snapshot is being served: send every subscriber what changed (computed once per change). */
  update(table: ResourceTable): void {
    const { changed, stopped } = this.#versions.update(table, (subject) => this.#subscribers.has(subject))
    for (const [subject, reason] of stopped) {
      for (const { stream, sub } of this.#subscribers.get(subject) ?? []) {
        this.#unsubscribe(stream, sub)
        this.#control(stream, { 'stopped-substreams': [sub.clientId], description: reason })
        if (stream.substreams.size === 0) this.#end(stream)
      }
    }
    for (const [subject, change] of changed) {
      for (const { stream, sub } of this.#subscribers.get(subject) ?? []) this.#sendChange(stream, sub, change)
    }
  }

  /** End every stream (server shutdown). */
  close(): void {
    this.#closing = true
    for (const stream of [...this.#streams.values()]) {
      this.#control(stream, { description: 'server is shutting down' })
      this.#end(stream)
    }
    this.#stopHeartbeat()
  }

  /** Check a request against a stream's substreams (none yet for a new stream, whose `remove` is ignored). */
  #plan(request: UpdateStreamRequest, existing: ReadonlyMap<string, Substream> | undefined): Plan {
    const removes: string[] = []
    for (const id of existing ? (request.remove ?? []) : []) {
      if (!existing!.has(id) || removes.includes(id)) throw new AltoProtocolError('E_INVALID_FIELD_VALUE', `No substream ${JSON.stringify(id)} to remove`, { field: 'remove', value: id })
      removes.push(id)
    }
    const adds: Array<{ clientId: string; subject: Subject; request: AddUpdateRequest }> = []
    try {
      for (const [clientId, add] of Object.entries(request.add ?? {})) {
        // Client ids follow the syntax of resource ids [unsure: RFC 8895 §6.5 may allow more].
        if (!isValidResourceId(clientId)) throw new AltoProtocolError('E_INVALID_FIELD_VALUE', `Invalid substream id ${JSON.stringify(clientId)}`, { field: 'add', value: clientId })
        if (existing?.has(clientId) && !removes.includes(clientId)) {
          throw new AltoProtocolError('E_INVALID_FIELD_VALUE', `Substream id ${clientId} is already in use on this stream`, { field: 'add', value: clientId })
        }
        adds.push({ clientId, subject: this.#versions.subject(add['resource-id'], add.input, `add/${clientId}`), request: add })
      }
      const total = (existing?.size ?? 0) - removes.length + adds.length
      if (total > this.#options.maxSubstreams) {
        throw new AltoProtocolError('E_INVALID_FIELD_VALUE', `At most ${this.#options.maxSubstreams} substreams per stream`, { field: 'add', value: adds.at(-1)?.clientId })
      }
    } catch (error) {
      for (const { subject } of adds) if (!this.#subscribers.has(subject)) this.#versions.drop(subject)
      throw error
    }
    return { adds, removes }
  }

  #add(stream: Stream, plan: Plan): void {
    for (const { clientId, subject, request } of plan.adds) {
      const sub: Substream = { clientId, subject, incremental: request['incremental-changes'] !== false }
      stream.substreams.set(clientId, sub)
      let set = this.#subscribers.get(subject)
      if (!set) this.#subscribers.set(subject, (set = new Set()))
      set.add({ stream, sub })
      this.#sendInitial(stream, sub, request.tag)
    }
  }

  /**
   * The first message of a substream: the full body, unless the client holds a version it can be
   * brought up from (RFC 8895 §6.5 `tag`): the current one (an empty change) or the one before.
   */
  #sendInitial(stream: Stream, sub: Substream, tag: string | undefined): void {
    const subject = sub.subject
    if (sub.incremental && tag !== undefined) {
      if (tag === subject.version.tag) return this.#data(stream, subject.changeType, sub.clientId, subject.emptyChange, 'patch')
      if (tag === subject.previous?.tag) return this.#data(stream, subject.changeType, sub.clientId, subject.previous.patch, 'patch')
    }
    this.#data(stream, subject.mediaType, sub.clientId, subject.version.json, 'full')
  }

  #sendChange(stream: Stream, sub: Substream, change: Change): void {
    if (sub.incremental && change.patch !== undefined) this.#data(stream, sub.subject.changeType, sub.clientId, change.patch, 'patch')
    else this.#data(stream, sub.subject.mediaType, sub.clientId, change.full, 'full')
  }

  #unsubscribe(stream: Stream, sub: Substream): void {
    stream.substreams.delete(sub.clientId)
    const set = this.#subscribers.get(sub.subject)
    if (!set) return
    for (const entry of set) if (entry.stream === stream && entry.sub === sub) set.delete(entry)
    if (set.size === 0) {
      this.#subscribers.delete(sub.subject)
      this.#versions.drop(sub.subject)
    }
  }

  /** RFC 8895 §5.2: `event: <media-type>,<client-id>`, the JSON as data. */
  #data(stream: Stream, mediaType: string, clientId: string, json: string, kind: 'full' | 'patch'): void {
    if (kind === 'full') this.#counts.fullBodiesSent++
    else this.#counts.patchesSent++
    this.#write(stream, `event: ${mediaType},${clientId}\n${dataLines(json)}\n`)
  }

  /** RFC 8895 §5.3: a control update message. */
  #control(stream: Stream, event: UpdateStreamControlEvent): void {
    this.#counts.controlEventsSent++
    this.#write(stream, `event: ${MediaType.updateStreamControl}\n${dataLines(JSON.stringify(event))}\n`)
  }

  #write(stream: Stream, text: string): void {
    if (stream.closed || stream.res.destroyed) return
    stream.res.write(text)
    stream.lastWrite = Date.now()
    if (stream.res.writableLength > this.#options.maxBufferedBytes) {
      this.#counts.slowClosed++
      this.#logger.warn({ stream: stream.id, buffered: stream.res.writableLength }, 'update stream closed: client reads too slowly')
      stream.res.destroy()
      this.#forget(stream)
    }
  }

  #end(stream: Stream): void {
    if (stream.closed) return
    if (!stream.res.destroyed) stream.res.end()
    this.#forget(stream)
  }

  /** Drop a stream and its substreams (it ended, or its client went away). */
  #forget(stream: Stream): void {
    if (stream.closed) return
    stream.closed = true
    for (const sub of [...stream.substreams.values()]) this.#unsubscribe(stream, sub)
    this.#streams.delete(stream.id)
    if (this.#streams.size === 0) this.#stopHeartbeat()
    this.#logger.info({ stream: stream.id }, 'update stream closed')
  }

  #startHeartbeat(): void {
    const every = this.#options.heartbeatMs
    if (this.#heartbeat || every <= 0) return
    this.#heartbeat = setInterval(() => {
      const due = Date.now() - every
      for (const stream of this.#streams.values()) if (stream.lastWrite <= due) this.#write(stream, ':\n\n')
    }, Math.max(10, Math.floor(every / 2)))
    this.#heartbeat.unref()
  }

  #stopHeartbeat(): void {
    clearInterval(this.#heartbeat)
    this.#heartbeat = undefined
  }
}

/** SSE data lines for a text (JSON.stringify output has no line breaks, but be safe). */
function dataLines(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}\n`)
    .join('')
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>
}
