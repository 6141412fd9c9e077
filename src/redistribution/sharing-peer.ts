/**
 * @module redistribution/sharing-peer
 * A peer that shares reusable ALTO information (seed 001's trackerless example): it keeps signed
 * bundles of the IRD, full network maps and full cost maps, announces each on a BitTorrent DHT
 * under sha1(resource URI) and serves them over HTTP on the DHT's address. Wanting a resource, it
 * looks the URI up, fetches a bundle from a holder, verifies it, and falls back to the ALTO server
 * when no holder answers with a valid bundle. Endpoint cost and property answers are never shared.
 */
import { createHash } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent, type Dispatcher } from 'undici'
import { createAltoError } from '../protocol/errors.ts'
import { MediaType } from '../protocol/media-types.ts'
import type { CostType, IrdBody } from '../protocol/types.ts'
import { BUNDLE_MEDIA_TYPE, encodeBundle, type Bundle } from './bundle.ts'
import { DhtNode } from './dht-node.ts'
import { headerValue, httpGet } from './http.ts'
import { parseIrd, REUSABLE_MEDIA_TYPES, reusableResources, type ReusableResource } from './ird.ts'
import { ServerKeys, type KeySource } from './keys.ts'
import { isBundleRejectedError, type RejectReason } from './reasons.ts'
import { verifyBundle, type VerifiedBundle, type Wanted } from './verify.ts'

/** Response header of the ALTO server carrying the attestation (server/signing.ts). */
import { ATTESTATION_HEADER } from '../protocol/attestation.ts'

export { ATTESTATION_HEADER }
/** Path prefix of the bundles a peer serves: `/alto-bundles/<sha1(URI) in hex>`. */
export const BUNDLE_PATH = '/alto-bundles/'

export interface SharingPeerOptions {
  /** IRD URI of the authoritative ALTO server, from configuration or discovery. */
  server: string
  /** DHT nodes to join through, `IPV4:PORT`; empty for the first node. */
  bootstrap: readonly string[]
  /** Where verification keys come from. @default the JWKS the server's IRD lists */
  keys?: KeySource
  /** The server's JWKS URI, when configured (else read from its IRD). */
  jwksUri?: string
  /** IPv4 address of both the DHT socket and the HTTP server. @default '127.0.0.1' */
  host?: string
  /** HTTP port; the DHT binds the same port number over UDP. 0 picks one. @default 0 */
  port?: number
  /** Longest DHT lookup. @default 2000 */
  lookupTimeoutMs?: number
  /** Time allowed for each HTTP exchange. @default 5000 */
  fetchTimeoutMs?: number
  /**
   * Holders that may fail (unreachable, or a bundle that does not verify) before the server is
   * asked instead. Holders answering 404 (their bundle expired) do not count. @default 4
   */
  maxHolders?: number
  /** Re-announce held bundles this often (DHT records age out). @default 900000 */
  reannounceMs?: number
  /** Clock in milliseconds (expiry of bundles, verification). @default Date.now */
  now?: () => number
  /** Randomness for the order holders are tried in. @default Math.random */
  rng?: () => number
  /** undici dispatcher for all HTTP (server and holders). @default an Agent closed with the peer */
  dispatcher?: Dispatcher
}

export interface Obtained {
  verified: VerifiedBundle
  /** `local`: a bundle this peer already held; `peer`: fetched from a holder; `server`: from the ALTO server. */
  source: 'local' | 'peer' | 'server'
  /** The holder it came from (`host:port`), for `peer`. */
  holder?: string
}

export interface SharingStats {
  fromServer: number
  fromPeers: number
  local: number
  /** Bundles this peer served to others. */
  served: number
  /** Bundles from holders that failed verification, by reason. */
  rejected: Partial<Record<RejectReason, number>>
  /** Holders that did not answer (gone, timeout, HTTP error). */
  unreachable: number
  /** Holders that answered 404: their bundle had expired. */
  stale: number
}

interface Held {
  verified: VerifiedBundle
  encoded: Buffer
}

/** Most holders asked for one resource, whatever they answer. */
const MAX_CANDIDATES = 64

/** The DHT key of a resource: sha1 of its absolute URI (seed 001: put(hash(URL), holder)). */
export function resourceKey(uri: string): Buffer {
  return createHash('sha1').update(new URL(uri).href).digest()
}

/** Emits `warning` (Error, with `reason` for rejected bundles) for trouble caused by others. */
export class SharingPeer extends EventEmitter {
  readonly serverUri: string
  readonly keys: KeySource
  readonly stats: SharingStats = { fromServer: 0, fromPeers: 0, local: 0, served: 0, rejected: {}, unreachable: 0, stale: 0 }
  readonly #options: SharingPeerOptions
  readonly #now: () => number
  readonly #dispatcher: Dispatcher
  readonly #ownsDispatcher: boolean
  readonly #held = new Map<string, Held>()
  readonly #byKey = new Map<string, string>()
  readonly #inflight = new Map<string, Promise<Obtained>>()
  #dht!: DhtNode
  #http!: Server
  #timer: NodeJS.Timeout | undefined

  private constructor(options: SharingPeerOptions) {
    super()
    this.#options = options
    this.serverUri = new URL(options.server).href
    this.#now = options.now ?? Date.now
    this.#ownsDispatcher = options.dispatcher === undefined
    this.#dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 1000 })
    const http = { dispatcher: this.#dispatcher, timeoutMs: options.fetchTimeoutMs ?? 5000 }
    this.keys = options.keys ?? new ServerKeys({ issuer: this.serverUri, ...(options.jwksUri ? { jwksUri: options.jwksUri } : {}), ...http, now: this.#now })
  }

  /** Start the HTTP server and the DHT node on the same address (and port number). */
  static async start(options: SharingPeerOptions): Promise<SharingPeer> {
    const peer = new SharingPeer(options)
    await peer.#listen()
    return peer
  }

  /** Base URL of the bundles this peer serves, e.g. `http://127.0.0.1:40001/`. */
  get url(): string {
    return `http://${this.host}:${this.port}/`
  }

  get host(): string {
    return this.#dht.host
  }

  /** The HTTP port; the DHT uses the same number over UDP. */
  get port(): number {
    return (this.#http.address() as AddressInfo).port
  }

  /** `host:port` of the DHT node, for other peers' `bootstrap`. */
  get dhtAddress(): string {
    return `${this.#dht.host}:${this.#dht.port}`
  }

  get dhtNodes(): number {
    return this.#dht.nodeCount
  }

  /** Bundles held and not expired, by URI. */
  held(): Map<string, VerifiedBundle> {
    const now = this.#now()
    return new Map([...this.#held].filter(([, h]) => now < h.verified.expiresAt).map(([uri, h]) => [uri, h.verified]))
  }

  /** The server's IRD. */
  async ird(): Promise<Obtained> {
    return this.obtain({ uri: this.serverUri, mediaType: MediaType.directory })
  }

  /** The reusable resources the IRD lists (full network and cost maps). */
  async resources(): Promise<ReusableResource[]> {
    const ird = await this.#irdBody()
    return reusableResources(ird.body, this.serverUri)
  }

  /** A full network map by id (default: the IRD's default network map). */
  async networkMap(id?: string): Promise<Obtained> {
    const { body } = await this.#irdBody()
    const wantedId = id ?? body.meta?.['default-alto-network-map']
    const resource = reusableResources(body, this.serverUri).find((r) => r.mediaType === MediaType.networkMap && (wantedId === undefined || r.id === wantedId))
    if (!resource) throw createAltoError('ALTO_ERR_NO_RESOURCE', [`network map${wantedId ? ` ${wantedId}` : ''}`])
    return this.obtain({ uri: resource.uri, mediaType: resource.mediaType })
  }

  /** The full cost map of an IRD cost type name (e.g. `num-routingcost`) or cost type. */
  async costMap(costType: string | Pick<CostType, 'cost-mode' | 'cost-metric'>, networkMapId?: string): Promise<Obtained> {
    const { body } = await this.#irdBody()
    const mapId = networkMapId ?? body.meta?.['default-alto-network-map']
    const matches = (r: ReusableResource) =>
      typeof costType === 'string'
        ? r.costTypeName === costType
        : r.costType?.['cost-mode'] === costType['cost-mode'] && r.costType['cost-metric'] === costType['cost-metric']
    const resource = reusableResources(body, this.serverUri).find((r) => r.mediaType === MediaType.costMap && matches(r) && (mapId === undefined || r.networkMap === mapId))
    const label = typeof costType === 'string' ? costType : `${costType['cost-mode']} ${costType['cost-metric']}`
    if (!resource) throw createAltoError('ALTO_ERR_NO_RESOURCE', [`cost map of ${label}`])
    const wanted: Wanted & { mediaType: string } = { uri: resource.uri, mediaType: resource.mediaType }
    if (resource.costType) wanted.costType = resource.costType
    return this.obtain(wanted)
  }

  /**
   * A reusable resource: held, else from a holder found on the DHT, else from the server; then
   * held and announced. Concurrent calls for one URI share the work.
   */
  obtain(wanted: Wanted & { mediaType: string }): Promise<Obtained> {
    if ((wanted.method ?? 'GET') !== 'GET' || wanted.request !== undefined || !REUSABLE_MEDIA_TYPES.includes(wanted.mediaType)) {
      // Seed 001: only information every client would get alike is shared.
      return Promise.reject(createAltoError('ALTO_ERR_NO_RESOURCE', [`shareable resource: only GET of ${REUSABLE_MEDIA_TYPES.join(', ')} is redistributed`]))
    }
    const uri = new URL(wanted.uri).href
    let pending = this.#inflight.get(uri)
    if (!pending) {
      pending = this.#obtain({ ...wanted, uri }).finally(() => this.#inflight.delete(uri))
      this.#inflight.set(uri, pending)
    }
    return pending
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    await Promise.allSettled([...this.#inflight.values()])
    this.#http.closeAllConnections()
    await new Promise<void>((resolve) => this.#http.close(() => resolve()))
    await this.#dht.close()
    if (this.#ownsDispatcher) await this.#dispatcher.close()
  }

  async #obtain(wanted: Wanted & { mediaType: string }): Promise<Obtained> {
    const held = this.#held.get(wanted.uri)
    if (held && this.#now() < held.verified.expiresAt) {
      this.stats.local++
      return { verified: held.verified, source: 'local' }
    }
    const key = resourceKey(wanted.uri)
    const fromPeer = await this.#fromHolders(wanted, key)
    if (fromPeer) return fromPeer
    const verified = await this.#fromServer(wanted)
    this.stats.fromServer++
    await this.#keep(wanted.uri, key, verified)
    return { verified, source: 'server' }
  }

  async #fromHolders(wanted: Wanted & { mediaType: string }, key: Buffer): Promise<Obtained | undefined> {
    const self = `${this.host}:${this.port}`
    const holders = await this.#dht.lookup(key, { timeoutMs: this.#options.lookupTimeoutMs ?? 2000, exclude: self })
    const candidates = shuffle(holders.map((h) => `${h.host}:${h.port}`), this.#options.rng ?? Math.random)
    const isIrd = wanted.mediaType === MediaType.directory
    // Holders that no longer have a fresh bundle say 404 at once and are not counted against
    // `maxHolders`; those that fail (gone, slow, or a bundle that does not verify) are.
    let failures = 0
    for (const holder of candidates.slice(0, MAX_CANDIDATES)) {
      if (failures >= (this.#options.maxHolders ?? 4)) break
      let bytes: Buffer
      try {
        const answer = await httpGet(`http://${holder}${BUNDLE_PATH}${key.toString('hex')}`, BUNDLE_MEDIA_TYPE, this.#httpOptions())
        if (answer.status === 404) {
          this.stats.stale++
          continue
        }
        if (answer.status !== 200) throw new Error(`HTTP ${answer.status}`)
        bytes = answer.body
      } catch {
        this.stats.unreachable++
        failures++
        continue
      }
      try {
        // An IRD from a holder may name the JWKS before it is verified (keys.ts: same origin only).
        if (isIrd && this.keys instanceof ServerKeys) this.keys.noteIrd(irdBodyOf(bytes), false)
        const verified = await verifyBundle(bytes, wanted, { keys: this.keys, now: this.#now })
        if (isIrd && this.keys instanceof ServerKeys) this.keys.noteIrd(verified.bundle.response.body, true)
        this.stats.fromPeers++
        await this.#keep(wanted.uri, key, verified)
        return { verified, source: 'peer', holder }
      } catch (error) {
        if (isIrd && this.keys instanceof ServerKeys) this.keys.forgetHint()
        if (!isBundleRejectedError(error)) throw error
        failures++
        this.stats.rejected[error.reason] = (this.stats.rejected[error.reason] ?? 0) + 1
        this.emit('warning', Object.assign(new Error(`holder ${holder}: ${error.message}`), { reason: error.reason, holder }))
      }
    }
    return undefined
  }

  async #fromServer(wanted: Wanted & { mediaType: string }): Promise<VerifiedBundle> {
    const answer = await httpGet(wanted.uri, wanted.mediaType, this.#httpOptions())
    if (answer.status !== 200) throw createAltoError('ALTO_ERR_HTTP_STATUS', [answer.status, `GET ${wanted.uri}`])
    const attestation = headerValue(answer.headers, ATTESTATION_HEADER)
    if (!attestation) throw createAltoError('ALTO_ERR_BAD_RESPONSE', [wanted.uri, 'signed answer', `no ${ATTESTATION_HEADER} header (signing is not enabled on the server)`])
    const bundle: Bundle = {
      attestation,
      request: { method: 'GET', uri: wanted.uri, contentType: null, body: Buffer.alloc(0) },
      response: { contentType: answer.contentType, body: answer.body },
    }
    // Straight from the authoritative server: its IRD may say where its keys are.
    if (wanted.mediaType === MediaType.directory && this.keys instanceof ServerKeys) this.keys.noteIrd(answer.body, true)
    return verifyBundle(bundle, wanted, { keys: this.keys, now: this.#now })
  }

  async #keep(uri: string, key: Buffer, verified: VerifiedBundle): Promise<void> {
    this.#held.set(uri, { verified, encoded: encodeBundle(verified.bundle) })
    this.#byKey.set(key.toString('hex'), uri)
    await this.#announce(key)
  }

  async #announce(key: Buffer): Promise<void> {
    try {
      await this.#dht.announce(key, this.port)
    } catch (error) {
      this.emit('warning', error)
    }
  }

  async #irdBody(): Promise<{ body: IrdBody }> {
    const { verified } = await this.ird()
    const body = parseIrd(verified.json)
    if (!body) throw createAltoError('ALTO_ERR_BAD_RESPONSE', [this.serverUri, MediaType.directory, 'not an IRD'])
    return { body }
  }

  #httpOptions() {
    return { dispatcher: this.#dispatcher, timeoutMs: this.#options.fetchTimeoutMs ?? 5000 }
  }

  async #listen(): Promise<void> {
    const host = this.#options.host ?? '127.0.0.1'
    // With port 0 the HTTP port is picked first and the DHT takes the same number over UDP;
    // should that UDP port be taken, try another pair.
    for (let attempt = 0; ; attempt++) {
      this.#http = createServer((request, response) => this.#serve(request, response))
      await new Promise<void>((resolve, reject) => {
        this.#http.once('error', reject)
        this.#http.listen(this.#options.port ?? 0, host, () => resolve())
      })
      try {
        this.#dht = await DhtNode.start({ host, port: this.port, bootstrap: this.#options.bootstrap, queryTimeoutMs: Math.min(2000, this.#options.lookupTimeoutMs ?? 2000) })
        break
      } catch (error) {
        await new Promise<void>((resolve) => this.#http.close(() => resolve()))
        if ((this.#options.port ?? 0) !== 0 || attempt >= 4) throw error
      }
    }
    this.#dht.on('warning', (error: Error) => this.emit('warning', error))
    this.#timer = setInterval(() => {
      for (const [hex, uri] of this.#byKey) if (this.#held.get(uri) && this.#now() < this.#held.get(uri)!.verified.expiresAt) void this.#announce(Buffer.from(hex, 'hex'))
    }, this.#options.reannounceMs ?? 15 * 60_000)
    this.#timer.unref()
  }

  #serve(request: IncomingMessage, response: ServerResponse): void {
    const url = request.url ?? ''
    const held = url.startsWith(BUNDLE_PATH) && request.method === 'GET' ? this.#held.get(this.#byKey.get(url.slice(BUNDLE_PATH.length).toLowerCase()) ?? '') : undefined
    // An expired bundle is not offered: the seeker would reject it, and should go to the server.
    if (!held || this.#now() >= held.verified.expiresAt) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('no such bundle\n')
      return
    }
    this.stats.served++
    response.writeHead(200, { 'content-type': BUNDLE_MEDIA_TYPE, 'content-length': held.encoded.length, 'cache-control': 'no-cache' }).end(held.encoded)
  }
}

/** The response body of an encoded bundle, unverified, or empty when it cannot be read. */
function irdBodyOf(bytes: Buffer): Buffer {
  try {
    const body = (JSON.parse(bytes.toString('utf8')) as { response?: { body?: unknown } }).response?.body
    return typeof body === 'string' ? Buffer.from(body, 'base64') : Buffer.alloc(0)
  } catch {
    return Buffer.alloc(0)
  }
}

function shuffle<T>(items: T[], rng: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1))
    ;[items[i], items[j]] = [items[j]!, items[i]!]
  }
  return items
}
