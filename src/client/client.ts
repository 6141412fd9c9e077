/**
 * @module client/client
 * `AltoClient`: every RFC 7285 resource as a typed call, found through the IRD, with a cache that
 * spares the server (seed 003): GET answers are kept with their ETag for the server's max-age and
 * then revalidated with If-None-Match; answers depending on a network map are dropped when its
 * vtag changes; identical concurrent requests share one exchange.
 */
import { createAltoError } from '../protocol/errors.ts'
import { MediaType } from '../protocol/media-types.ts'
import type {
  CostMapBody,
  CostMapFilterRequest,
  CostType,
  EndpointCostBody,
  EndpointCostRequest,
  EndpointPropBody,
  EndpointPropRequest,
  IrdBody,
  NetworkMapBody,
  NetworkMapFilterRequest,
  VersionTag,
} from '../protocol/types.ts'
import { isCostMapBody, isEndpointCostBody, isEndpointPropBody, isIrdBody, isNetworkMapBody } from '../protocol/validate.ts'
import { CostMap } from '../cost/cost-map.ts'
import { NetworkMap } from '../netmap/network-map.ts'
import { loadDirectory, type Directory, type DirectoryResource } from './directory.ts'
import { LocalGuidance } from './guidance.ts'
import type { AltoServerLocator, DiscoveryOptions } from './discover.ts'
import { rankPeers, type PeerRanking, type RankPeersOptions } from './rank-peers.ts'
import { Subscription, type SubscribeOptions, type SubscriptionTarget } from './subscribe.ts'
import { Transport, type TransportOptions } from './transport.ts'

export interface AltoClientOptions extends TransportOptions {
  /**
   * How long a cached GET answer is used without asking the server. Default: the answer's
   * `Cache-Control: max-age`, else 0 (revalidate every time).
   */
  cacheTtlMs?: number
}

export interface ClientStats {
  /** HTTP requests sent, retries included. */
  requests: number
  /** GET answers with a body (200). */
  fullFetches: number
  /** Conditional GETs answered 304. */
  notModified: number
  /** GET calls answered from the cache without a request. */
  cacheHits: number
  /** POST queries (filtered maps, endpoint services). */
  queries: number
  /** Request and response body bytes (uncompressed). */
  bytesSent: number
  bytesReceived: number
}

interface CacheEntry {
  etag: string | undefined
  body: unknown
  freshUntil: number
  dependsOn: readonly VersionTag[]
}

type Checker<T> = ((body: unknown) => body is T) & { explain(): string }

export class AltoClient {
  readonly irdUri: string
  readonly #transport: Transport
  readonly #options: AltoClientOptions
  readonly #now: () => number
  readonly #cache = new Map<string, CacheEntry>()
  readonly #inflight = new Map<string, Promise<unknown>>()
  readonly #guidance = new Map<string, { mapBody: NetworkMapBody; costBody: CostMapBody; guidance: LocalGuidance }>()
  #directory: Promise<Directory> | undefined
  readonly #stats: Omit<ClientStats, 'requests' | 'bytesSent' | 'bytesReceived'> = { fullFetches: 0, notModified: 0, cacheHits: 0, queries: 0 }

  constructor(irdUri: string, options: AltoClientOptions = {}) {
    this.irdUri = new URL(irdUri).href
    this.#options = options
    this.#transport = new Transport(options)
    this.#now = options.clock?.now ?? Date.now
  }

  /** RFC 7286: a client for the ALTO server discovered for a domain. See {@link discoverClient}. */
  static async discover(domain: string, options: DiscoveryOptions = {}): Promise<AltoClient> {
    const { discoverClient } = await import('./discover.ts')
    return discoverClient(domain, options)
  }

  /**
   * RFC 8686: a client for the ALTO server responsible for an address or prefix, or undefined when
   * none is published. Pass one `locator` to share its caches across calls (a tracker should).
   */
  static async discoverFor(addressOrPrefix: string, options: DiscoveryOptions & { locator?: AltoServerLocator } = {}): Promise<AltoClient | undefined> {
    const { AltoServerLocator } = await import('./discover.ts')
    const locator = options.locator ?? new AltoServerLocator(options)
    return (await locator.locate(addressOrPrefix)).client
  }

  /** A client whose IRD has been read (fails early when the server is unusable). */
  static async create(irdUri: string, options: AltoClientOptions = {}): Promise<AltoClient> {
    const client = new AltoClient(irdUri, options)
    await client.directory()
    return client
  }

  get stats(): ClientStats {
    const t = this.#transport
    return { requests: t.requests, bytesSent: t.bytesSent, bytesReceived: t.bytesReceived, ...this.#stats }
  }

  /** The IRD and its secondary IRDs, read once (a failed read is retried on the next call). */
  directory(): Promise<Directory> {
    this.#directory ??= loadDirectory(this.irdUri, (uri) => this.#get(uri, MediaType.directory, isIrdBody as Checker<IrdBody>)).catch((error: unknown) => {
      this.#directory = undefined
      throw error
    })
    return this.#directory
  }

  /** Forget the IRD, e.g. after the operator changed the server's resources. */
  refreshDirectory(): void {
    this.#directory = undefined
  }

  /** The root IRD as the server sent it (cached like every GET). */
  irdBody(): Promise<IrdBody> {
    return this.#get(this.irdUri, MediaType.directory, isIrdBody as Checker<IrdBody>)
  }

  /**
   * Ask the resource with this IRD id directly: GET it, or POST `request` to it as given, for the
   * server to judge. The answer is checked against the schema of the resource's media type.
   */
  async query(resourceId: string, request?: unknown): Promise<unknown> {
    const resource = (await this.directory()).resource(resourceId)
    const check = CHECKERS[resource.mediaType]
    if (!check) throw createAltoError('ALTO_ERR_NO_RESOURCE', [`resource ALTOkit can read at id ${resourceId} (it is ${resource.mediaType})`])
    return resource.accepts === undefined ? this.#get(resource.uri, resource.mediaType, check) : this.#post(resource, request ?? {}, check)
  }

  /**
   * GET a resource again, revalidating a cached answer with its ETag (a 304 costs no body) even
   * when its max-age has not run out.
   */
  async revalidate(resourceId: string): Promise<unknown> {
    this.#expire((await this.directory()).resource(resourceId).uri)
    return this.query(resourceId)
  }

  /**
   * Keep network and cost maps current: through the server's RFC 8895 update stream when it
   * offers one, else by polling. Resolves once every map has its first body; see {@link Subscription}.
   * @example
   * const sub = await client.subscribe([{ networkMap: undefined }, { costMap: 'num-routingcost' }])
   * sub.on('update', ({ resourceId, vtag }) => console.log(resourceId, vtag?.tag))
   */
  subscribe(targets: SubscriptionTarget | readonly SubscriptionTarget[], options: SubscribeOptions = {}): Promise<Subscription> {
    return Subscription.open(this, targets, options, this.#options)
  }

  async networkMap(networkMapId?: string): Promise<NetworkMapBody> {
    const resource = (await this.directory()).networkMap(networkMapId)
    return this.#get(resource.uri, MediaType.networkMap, isNetworkMapBody as Checker<NetworkMapBody>)
  }

  async filteredNetworkMap(request: NetworkMapFilterRequest, networkMapId?: string): Promise<NetworkMapBody> {
    const resource = (await this.directory()).filteredNetworkMap(networkMapId)
    return this.#post(resource, request, isNetworkMapBody as Checker<NetworkMapBody>)
  }

  /** The full cost map of a cost type (an IRD name like `num-routingcost`, or a cost type). */
  async costMap(costType: string | CostType, networkMapId?: string): Promise<CostMapBody> {
    const directory = await this.directory()
    const resource = directory.costMap(directory.costType(costType), networkMapId)
    return this.#get(resource.uri, MediaType.costMap, isCostMapBody as Checker<CostMapBody>)
  }

  async filteredCostMap(request: CostMapFilterRequest, networkMapId?: string): Promise<CostMapBody> {
    const resource = (await this.directory()).filteredCostMap(request['cost-type'], networkMapId, (request.constraints?.length ?? 0) > 0)
    return this.#post(resource, request, isCostMapBody as Checker<CostMapBody>)
  }

  async endpointProperties(request: EndpointPropRequest): Promise<EndpointPropBody> {
    const directory = await this.directory()
    const resource = directory.endpointProperty(request.properties[0] ?? '')
    for (const property of request.properties.slice(1)) {
      if (!resource.propTypes.includes(property)) throw createAltoError('ALTO_ERR_NO_RESOURCE', [`endpoint property service offering both ${request.properties[0]} and ${property}`])
    }
    return this.#post(resource, request, isEndpointPropBody as Checker<EndpointPropBody>)
  }

  async endpointCosts(request: EndpointCostRequest, networkMapId?: string): Promise<EndpointCostBody> {
    const resource = (await this.directory()).endpointCost(request['cost-type'], networkMapId, (request.constraints?.length ?? 0) > 0)
    return this.#post(resource, request, isEndpointCostBody as Checker<EndpointCostBody>)
  }

  /**
   * Network map and cost map of a cost type, indexed for local lookups (longest-prefix match,
   * costs between PIDs). Rebuilt only when the server's maps change.
   */
  async guidance(costType: string | CostType, networkMapId?: string): Promise<LocalGuidance> {
    const directory = await this.directory()
    const type = directory.costType(costType)
    for (let attempt = 0; ; attempt++) {
      const mapBody = await this.networkMap(networkMapId)
      const costBody = await this.costMap(type, networkMapId)
      const tag = mapBody.meta.vtag
      const consistent = costBody.meta['dependent-vtags'].some((v) => v['resource-id'] === tag['resource-id'] && v.tag === tag.tag)
      // The maps can change between the two fetches: look once more, then use what we have.
      if (!consistent && attempt === 0) {
        this.#expire(directory.networkMap(networkMapId).uri)
        this.#expire(directory.costMap(type, networkMapId).uri)
        continue
      }
      // The cache hands out the same body objects until the server's maps change.
      const uri = directory.costMap(type, networkMapId).uri
      const built = this.#guidance.get(uri)
      if (built && built.mapBody === mapBody && built.costBody === costBody) return built.guidance
      const guidance = buildGuidance(mapBody, costBody, type, uri)
      this.#guidance.set(uri, { mapBody, costBody, guidance })
      return guidance
    }
  }

  /** Rank candidate peers for a peer at `self`; see {@link rankPeers}. */
  rankPeers(self: string, candidates: readonly string[], options?: RankPeersOptions): Promise<PeerRanking> {
    return rankPeers(this, self, candidates, options)
  }

  async close(): Promise<void> {
    await this.#transport.close()
  }

  /** A cached, revalidated, shared GET. */
  #get<T>(uri: string, accept: string, check: Checker<T>): Promise<T> {
    const entry = this.#cache.get(uri)
    if (entry && entry.freshUntil > this.#now()) {
      this.#stats.cacheHits++
      return Promise.resolve(entry.body as T)
    }
    return this.#shared(`GET ${uri}`, async () => {
      const headers: Record<string, string> = entry?.etag ? { 'if-none-match': entry.etag } : {}
      const answer = await this.#transport.exchange({ method: 'GET', url: uri, accept, headers })
      const ttl = this.#options.cacheTtlMs ?? maxAgeMs(answer.headers['cache-control'])
      if (answer.status === 304 && entry) {
        this.#stats.notModified++
        entry.freshUntil = this.#now() + ttl
        return entry.body as T
      }
      if (!check(answer.json)) throw createAltoError('ALTO_ERR_BAD_RESPONSE', [uri, accept, check.explain()])
      this.#stats.fullFetches++
      const body = answer.json
      const etag = typeof answer.headers.etag === 'string' ? answer.headers.etag : undefined
      this.#cache.set(uri, { etag, body, freshUntil: this.#now() + ttl, dependsOn: dependentVtags(body) })
      if (accept === MediaType.networkMap) this.#dropDependents((body as NetworkMapBody).meta.vtag)
      return body
    })
  }

  #post<T>(resource: DirectoryResource, request: unknown, check: Checker<T>): Promise<T> {
    const body = JSON.stringify(request)
    return this.#shared(`POST ${resource.uri}\u0000${body}`, async () => {
      this.#stats.queries++
      const answer = await this.#transport.exchange({ method: 'POST', url: resource.uri, accept: resource.mediaType, contentType: resource.accepts!, body })
      if (!check(answer.json)) throw createAltoError('ALTO_ERR_BAD_RESPONSE', [resource.uri, resource.mediaType, check.explain()])
      return answer.json
    })
  }

  #shared<T>(key: string, run: () => Promise<T>): Promise<T> {
    const pending = this.#inflight.get(key)
    if (pending) return pending as Promise<T>
    const promise = run().finally(() => this.#inflight.delete(key))
    this.#inflight.set(key, promise)
    return promise
  }

  /** Make the next GET of `uri` revalidate (a cheap 304 when nothing changed). */
  #expire(uri: string): void {
    const entry = this.#cache.get(uri)
    if (entry) entry.freshUntil = 0
  }

  /** A network map now has `current`: drop cached answers that depend on another version of it. */
  #dropDependents(current: VersionTag): void {
    for (const [uri, entry] of this.#cache) {
      if (entry.dependsOn.some((v) => v['resource-id'] === current['resource-id'] && v.tag !== current.tag)) this.#cache.delete(uri)
    }
  }
}

/** Response checkers by media type (RFC 7285 §13.7). */
const CHECKERS: Record<string, Checker<unknown>> = {
  [MediaType.directory]: isIrdBody as Checker<unknown>,
  [MediaType.networkMap]: isNetworkMapBody as Checker<unknown>,
  [MediaType.costMap]: isCostMapBody as Checker<unknown>,
  [MediaType.endpointProp]: isEndpointPropBody as Checker<unknown>,
  [MediaType.endpointCost]: isEndpointCostBody as Checker<unknown>,
}

function dependentVtags(body: unknown): readonly VersionTag[] {
  const meta = (body as { meta?: { 'dependent-vtags'?: VersionTag[] } }).meta
  return meta?.['dependent-vtags'] ?? []
}

function maxAgeMs(cacheControl: string | string[] | undefined): number {
  const text = Array.isArray(cacheControl) ? cacheControl.join(',') : (cacheControl ?? '')
  if (/no-cache|no-store/i.test(text)) return 0
  const match = /max-age=(\d+)/i.exec(text)
  return match ? Number(match[1]) * 1000 : 0
}

function buildGuidance(mapBody: NetworkMapBody, costBody: CostMapBody, type: CostType, uri: string): LocalGuidance {
  let networkMap: NetworkMap
  let costMap: CostMap
  try {
    networkMap = NetworkMap.fromData(mapBody.meta.vtag['resource-id'], mapBody['network-map'], mapBody.meta.vtag.tag)
    costMap = CostMap.fromData(networkMap, type, costBody['cost-map'])
  } catch (error) {
    throw createAltoError('ALTO_ERR_BAD_RESPONSE', [uri, 'map for local guidance', (error as Error).message], error)
  }
  return new LocalGuidance(networkMap, costMap)
}
