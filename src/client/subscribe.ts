/**
 * @module client/subscribe
 * Keeping maps current without asking for them again (RFC 8895). A {@link Subscription} opens the
 * server's update stream for a set of network and cost maps, holds each one's current body by
 * applying the incremental changes the server pushes (JSON patches, merge patches), reconnects
 * with backoff when the stream drops (resuming from the network maps' vtags), and, when the IRD
 * offers no update stream, polls the maps instead with conditional GETs.
 */
import { EventEmitter } from 'node:events'
import { AltoError, AltoProtocolError, createAltoError } from '../protocol/errors.ts'
import { applyJsonPatch, type JsonPatchOperation } from '../protocol/json-patch.ts'
import { applyMergePatch } from '../protocol/merge-patch.ts'
import { MediaType } from '../protocol/media-types.ts'
import type { CostType, UpdateStreamControlEvent, UpdateStreamRequest, VersionTag } from '../protocol/types.ts'
import { isCostMapBody, isNetworkMapBody } from '../protocol/validate.ts'
import type { AltoClient, AltoClientOptions } from './client.ts'
import type { Directory, DirectoryResource } from './directory.ts'
import type { ServerSentEvent } from './sse.ts'
import { UpdateStreamHttp } from './update-stream-http.ts'

/** A map to keep current: an IRD resource id, a network map (the default one when no id), or a cost map. */
export type SubscriptionTarget = string | { networkMap?: string } | { costMap: string | CostType; networkMap?: string }

export interface SubscribeOptions {
  /**
   * `stream`: use the server's update stream (fail when it offers none); `poll`: poll with
   * conditional GETs; `auto`: stream when offered for all the maps, else poll.
   * @default 'auto'
   */
  mode?: 'auto' | 'stream' | 'poll'
  /** Poll period when polling. @default 30000 */
  pollIntervalMs?: number
  /** Ask for incremental changes; false has the server send full maps on every change. @default true */
  incremental?: boolean
  /** First wait before reconnecting a dropped stream; doubles per failed attempt. @default 1000 */
  reconnectMs?: number
  /** Longest wait between reconnection attempts. @default 30000 */
  maxReconnectMs?: number
  /**
   * A stream silent this long is taken as dead and reconnected (ALTOkit servers send a keep-alive
   * every 15 s). 0 waits for ever.
   * @default 90000
   */
  idleTimeoutMs?: number
  /** Randomness for reconnection jitter. @default Math.random */
  rng?: () => number
}

export interface SubscriptionUpdate {
  resourceId: string
  /** The new current body (do not modify it: later patches share its unchanged parts). */
  body: unknown
  /** `meta.vtag` of a network map. */
  vtag: VersionTag | undefined
  /** How it arrived. */
  via: 'full' | 'json-patch' | 'merge-patch' | 'poll'
}

export interface SubscriptionEvents {
  update: [SubscriptionUpdate]
  /** Something went wrong that the subscription works around (dropped stream, bad event, server-stopped map). */
  warning: [Error]
  close: []
}

export interface SubscriptionStats {
  connects: number
  fullBodies: number
  patches: number
  polls: number
}

interface Entry {
  readonly id: string
  readonly mediaType: string
  body: unknown
  waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }>
}

type Settings = Required<Omit<SubscribeOptions, 'rng'>> & { rng: () => number }

const CHECKERS: Record<string, ((body: unknown) => boolean) & { explain(): string }> = {
  [MediaType.networkMap]: isNetworkMapBody,
  [MediaType.costMap]: isCostMapBody,
}

export class Subscription extends EventEmitter<SubscriptionEvents> {
  readonly #client: AltoClient
  readonly #opts: Settings
  readonly #entries = new Map<string, Entry>()
  readonly #http: UpdateStreamHttp
  #mode: 'stream' | 'poll' = 'poll'
  #stream: DirectoryResource | undefined
  #connection: { abort: AbortController; controlUri: string | undefined } | undefined
  #running = false
  #timer: NodeJS.Timeout | undefined
  #wake: (() => void) | undefined
  #closed = false
  readonly stats: SubscriptionStats = { connects: 0, fullBodies: 0, patches: 0, polls: 0 }

  private constructor(client: AltoClient, options: SubscribeOptions, transport: AltoClientOptions) {
    super()
    this.#client = client
    this.#opts = Object.freeze({
      mode: options.mode ?? 'auto',
      pollIntervalMs: options.pollIntervalMs ?? 30_000,
      incremental: options.incremental ?? true,
      reconnectMs: options.reconnectMs ?? 1000,
      maxReconnectMs: options.maxReconnectMs ?? 30_000,
      idleTimeoutMs: options.idleTimeoutMs ?? 90_000,
      rng: options.rng ?? Math.random,
    })
    this.#http = new UpdateStreamHttp(transport)
  }

  /** Use {@link AltoClient.subscribe}. Resolves once every map has its first body. */
  static async open(client: AltoClient, targets: SubscriptionTarget | readonly SubscriptionTarget[], options: SubscribeOptions, transport: AltoClientOptions): Promise<Subscription> {
    const subscription = new Subscription(client, options, transport)
    try {
      const directory = await client.directory()
      const list = Array.isArray(targets) ? targets : [targets as SubscriptionTarget]
      const resources = list.map((t) => resolveTarget(directory, t))
      if (resources.length === 0) throw createAltoError('ALTO_ERR_NO_RESOURCE', ['map to subscribe to (the list is empty)'])
      subscription.#plan(directory, resources.map((r) => r.id))
      const ready = Promise.all(resources.map((r) => subscription.#track(r)))
      subscription.#start()
      await ready
      return subscription
    } catch (error) {
      await subscription.close()
      throw error
    }
  }

  /** `stream` while the server's update stream is used, `poll` otherwise. */
  get mode(): 'stream' | 'poll' {
    return this.#mode
  }

  get resourceIds(): string[] {
    return [...this.#entries.keys()]
  }

  /** The current body of a map (the first subscribed one when no id is given). */
  current<T = unknown>(resourceId?: string): T | undefined {
    const entry = resourceId === undefined ? this.#entries.values().next().value : this.#entries.get(resourceId)
    return entry?.body as T | undefined
  }

  /** The current `meta.vtag` of a network map. */
  vtag(resourceId?: string): VersionTag | undefined {
    return vtagOf(this.current(resourceId))
  }

  /** Keep one more map current; resolves when its first body is here. */
  async add(target: SubscriptionTarget): Promise<void> {
    const directory = await this.#client.directory()
    const resource = resolveTarget(directory, target)
    if (this.#entries.has(resource.id)) return
    if (this.#mode === 'stream' && !this.#stream!.uses.includes(resource.id)) {
      throw createAltoError('ALTO_ERR_NO_RESOURCE', [`update stream carrying ${resource.id} (subscribe to it separately)`])
    }
    const ready = this.#track(resource)
    const connection = this.#connection
    if (!this.#running) {
      this.#start()
    } else if (this.#mode === 'poll') {
      void this.#pollOnce()
    } else if (connection?.controlUri) {
      // RFC 8895 §7: add a substream to the running stream.
      await this.#controlRequest(connection.controlUri, { add: this.#addRequests([resource.id]) })
    } else {
      this.#restart()
    }
    return ready
  }

  /** Stop keeping a map current. */
  async remove(resourceId: string): Promise<void> {
    const entry = this.#entries.get(resourceId)
    if (!entry) return
    this.#entries.delete(resourceId)
    for (const w of entry.waiters) w.reject(new AltoError('ALTO_ERR_NO_RESOURCE', `The subscription to ${resourceId} was removed before its first body`))
    const connection = this.#connection
    if (this.#mode !== 'stream' || !connection) return
    // Without substreams the server ends the stream (RFC 8895 §7), and the loop stops with it.
    if (connection.controlUri) await this.#controlRequest(connection.controlUri, { remove: [resourceId] })
    else this.#restart()
  }

  /** Close the stream or stop polling. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#timer)
    this.#connection?.abort.abort()
    this.#wake?.()
    for (const entry of this.#entries.values()) for (const w of entry.waiters) w.reject(new AltoError('ALTO_ERR_NO_RESOURCE', `The subscription was closed before the first body of ${entry.id}`))
    await this.#http.close()
    this.emit('close')
  }

  /** Stream when the IRD has an update stream using every map (and the options allow), else poll. */
  #plan(directory: Directory, ids: readonly string[]): void {
    const stream = [...directory.resources.values()].find(
      (r) => r.mediaType === MediaType.updateStream && r.accepts === MediaType.updateStreamParams && ids.every((id) => r.uses.includes(id)),
    )
    if (this.#opts.mode === 'stream' && !stream) throw createAltoError('ALTO_ERR_NO_RESOURCE', [`update stream carrying ${ids.join(', ')}`])
    this.#stream = this.#opts.mode === 'poll' ? undefined : stream
    this.#mode = this.#stream ? 'stream' : 'poll'
  }

  #track(resource: DirectoryResource): Promise<void> {
    const entry: Entry = { id: resource.id, mediaType: resource.mediaType, body: undefined, waiters: [] }
    this.#entries.set(resource.id, entry)
    return new Promise((resolve, reject) => entry.waiters.push({ resolve, reject }))
  }

  #start(): void {
    if (this.#running || this.#closed) return
    this.#running = true
    void this.#run()
  }

  async #run(): Promise<void> {
    try {
      await (this.#mode === 'stream' ? this.#streamLoop() : this.#pollLoop())
    } finally {
      this.#running = false
    }
    // A map added while the loop was ending (it stops when the last map is removed).
    if ([...this.#entries.values()].some((e) => e.waiters.length > 0)) this.#start()
  }

  /** Reconnect now (the set of maps changed and the stream has no control URI to say so). */
  #restart(): void {
    this.#connection?.abort.abort()
    this.#wake?.()
  }

  async #pollLoop(): Promise<void> {
    while (!this.#closed && this.#entries.size > 0) {
      await this.#pollOnce()
      await this.#sleep(this.#opts.pollIntervalMs)
    }
  }

  /** One conditional GET per map; a map whose answer changed is updated. */
  async #pollOnce(): Promise<void> {
    this.stats.polls++
    await Promise.all(
      [...this.#entries.values()].map(async (entry) => {
        try {
          const body = await this.#client.revalidate(entry.id)
          if (!this.#closed && this.#entries.get(entry.id) === entry && body !== entry.body) this.#set(entry, body, 'poll')
        } catch (error) {
          this.#fail(entry, error)
        }
      }),
    )
  }

  async #streamLoop(): Promise<void> {
    let delay = this.#opts.reconnectMs
    let first = true
    while (!this.#closed && this.#entries.size > 0) {
      const before = this.stats.fullBodies + this.stats.patches
      const abort = new AbortController()
      this.#connection = { abort, controlUri: undefined }
      let error: unknown
      try {
        await this.#connect(abort.signal)
      } catch (caught) {
        error = caught
      } finally {
        this.#connection = undefined
      }
      if (this.#closed) break
      const delivered = this.stats.fullBodies + this.stats.patches > before
      // Our own restart (the set of maps changed), or a map the server refused: reconnect at once.
      if (abort.signal.aborted || this.#dropRefused(error)) continue
      if (error === undefined) {
        if (this.#entries.size === 0) break // we removed the last map: the server ended the stream
        this.emit('warning', createAltoError('ALTO_ERR_UNREACHABLE', [this.#stream!.uri, 'the server ended the update stream']))
      } else {
        const gone = error instanceof AltoError && [404, 405, 415, 501].includes(error.statusCode ?? 0)
        if (gone && this.#opts.mode === 'auto') {
          // The IRD lists a stream the server does not serve (a proxy in the way?): poll instead.
          this.emit('warning', error as Error)
          this.#mode = 'poll'
          this.#stream = undefined
          return this.#pollLoop()
        }
        // The first connection decides whether the subscription works at all.
        if (first && !delivered) return this.#failAll(error)
        this.emit('warning', error as Error)
      }
      first = false
      if (delivered) delay = this.#opts.reconnectMs
      await this.#sleep(delay * (1 + 0.25 * this.#opts.rng()))
      delay = Math.min(this.#opts.maxReconnectMs, delay * 2)
    }
  }

  /** Open the stream and read it to its end. */
  #connect(signal: AbortSignal): Promise<void> {
    this.stats.connects++
    const body: UpdateStreamRequest = { add: this.#addRequests([...this.#entries.keys()]) }
    return this.#http.stream(this.#stream!.uri, body, (event) => this.#onEvent(event), { signal, idleTimeoutMs: this.#opts.idleTimeoutMs })
  }

  /** Substream requests, one per map, named by the resource id; resuming from a vtag where we have one. */
  #addRequests(ids: readonly string[]): NonNullable<UpdateStreamRequest['add']> {
    const add: NonNullable<UpdateStreamRequest['add']> = {}
    for (const id of ids) {
      const tag = vtagOf(this.#entries.get(id)?.body)?.tag
      add[id] = { 'resource-id': id, ...(tag !== undefined && this.#opts.incremental ? { tag } : {}), ...(this.#opts.incremental ? {} : { 'incremental-changes': false }) }
    }
    return add
  }

  /** RFC 8895 §5: control events and data events `<media-type>,<client-id>`. */
  #onEvent(event: ServerSentEvent): void {
    if (event.type === MediaType.updateStreamControl) return this.#onControl(JSON.parse(event.data) as UpdateStreamControlEvent)
    const comma = event.type.lastIndexOf(',')
    const entry = comma === -1 ? undefined : this.#entries.get(event.type.slice(comma + 1))
    if (!entry) return // a substream we removed, or an event type we do not know
    const mediaType = event.type.slice(0, comma)
    let body: unknown
    let via: SubscriptionUpdate['via']
    try {
      const data: unknown = JSON.parse(event.data)
      if (mediaType === entry.mediaType) {
        body = data
        via = 'full'
      } else if (mediaType === MediaType.jsonPatch || mediaType === MediaType.mergePatch) {
        if (entry.body === undefined) throw new Error('an incremental change came before any full body')
        body = mediaType === MediaType.jsonPatch ? applyJsonPatch(entry.body, data as JsonPatchOperation[]) : applyMergePatch(entry.body, data)
        via = mediaType === MediaType.jsonPatch ? 'json-patch' : 'merge-patch'
      } else {
        throw new Error(`unexpected event type ${event.type}`)
      }
      const check = CHECKERS[entry.mediaType]
      if (check && !check(body)) throw new Error(check.explain())
    } catch (error) {
      // Our copy can no longer be trusted: start again from full bodies.
      entry.body = undefined
      throw createAltoError('ALTO_ERR_BAD_RESPONSE', [this.#stream!.uri, `${mediaType} for ${entry.id}`, (error as Error).message], error)
    }
    if (via === 'full') this.stats.fullBodies++
    else this.stats.patches++
    this.#set(entry, body, via)
  }

  #onControl(event: UpdateStreamControlEvent): void {
    if (typeof event['control-uri'] === 'string' && this.#connection) this.#connection.controlUri = event['control-uri']
    for (const id of event['stopped-substreams'] ?? []) {
      const entry = this.#entries.get(id)
      if (!entry) continue // one we removed
      this.#entries.delete(id)
      this.#fail(entry, new AltoError('ALTO_ERR_NO_RESOURCE', `The server stopped the update stream of ${id}: ${event.description ?? 'no reason given'}`))
    }
  }

  async #controlRequest(uri: string, body: UpdateStreamRequest): Promise<void> {
    // A stream that ended meanwhile is gone (404): the reconnection carries the new set of maps.
    if (!(await this.#http.control(uri, body))) this.#restart()
  }

  /** A stream refused for one map (E_INVALID_FIELD_VALUE on `add/<id>/…`): drop that map, retry the rest. */
  #dropRefused(error: unknown): boolean {
    if (!(error instanceof AltoProtocolError) || !error.field?.startsWith('add/')) return false
    const entry = this.#entries.get(error.field.split('/')[1]!)
    if (!entry || this.#entries.size === 1) return false
    this.#entries.delete(entry.id)
    this.#fail(entry, error)
    return true
  }

  #set(entry: Entry, body: unknown, via: SubscriptionUpdate['via']): void {
    entry.body = body
    for (const w of entry.waiters.splice(0)) w.resolve()
    this.emit('update', { resourceId: entry.id, body, vtag: vtagOf(body), via })
  }

  /** A map cannot be kept: reject whoever waits for it, else warn. */
  #fail(entry: Entry, error: unknown): void {
    if (entry.waiters.length > 0) for (const w of entry.waiters.splice(0)) w.reject(error)
    else this.emit('warning', error as Error)
  }

  #failAll(error: unknown): void {
    for (const entry of this.#entries.values()) for (const w of entry.waiters.splice(0)) w.reject(error)
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#closed) return resolve()
      this.#wake = resolve
      this.#timer = setTimeout(resolve, ms)
      // The application's own work keeps the process alive, not our retries.
      this.#timer.unref()
    })
  }
}

/** The resource a target names: a network map or a full cost map. */
function resolveTarget(directory: Directory, target: SubscriptionTarget): DirectoryResource {
  if (typeof target === 'string') {
    const resource = directory.resource(target)
    if (!CHECKERS[resource.mediaType] || resource.accepts !== undefined) {
      throw createAltoError('ALTO_ERR_NO_RESOURCE', [`network map or cost map with id ${target} (it is ${resource.mediaType}${resource.accepts ? ' taking input' : ''})`])
    }
    return resource
  }
  if ('costMap' in target) return directory.costMap(directory.costType(target.costMap), target.networkMap)
  return directory.networkMap(target.networkMap)
}

function vtagOf(body: unknown): VersionTag | undefined {
  const vtag = (body as { meta?: { vtag?: VersionTag } } | undefined)?.meta?.vtag
  return vtag && typeof vtag.tag === 'string' ? vtag : undefined
}
