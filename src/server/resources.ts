/**
 * @module server/resources
 * The resource layout of a snapshot: which information resources exist, at which paths, with
 * which media types, capabilities and dependencies (RFC 7285 §9), and the bodies of the GET
 * resources serialized once. Built once per snapshot; a request resolves its resource here.
 */
import { wireCostType } from '../protocol/cost-types.ts'
import { MediaType } from '../protocol/media-types.ts'
import type { CostMapBody, IrdBody, IrdResourceEntry, VersionTag } from '../protocol/types.ts'
import type { NetworkMap } from '../netmap/network-map.ts'
import type { CostMap } from '../cost/cost-map.ts'
import type { ServedCostMap, Snapshot } from '../provisioning/snapshot.ts'
import { prepareBody, prepareBodyParts, type PreparedBody } from './prepared-body.ts'
import { ATTESTATION_KEYS_ID, ATTESTATION_KEYS_PATH, JWK_SET_MEDIA_TYPE } from './signing.ts'

export type ResourceKind =
  | 'directory'
  | 'network-map'
  | 'filtered-network-map'
  | 'cost-map'
  | 'filtered-cost-map'
  | 'endpoint-prop'
  | 'endpoint-cost'
  | 'update-stream'
  | 'stream-control'
  | 'attestation-keys'

export interface Resource {
  readonly id: string
  readonly kind: ResourceKind
  /** Path on this server, e.g. `/networkmap/default-network-map`. */
  readonly path: string
  readonly method: 'GET' | 'POST'
  readonly mediaType: string
  /** Media type of the request body, for POST resources. */
  readonly accepts: string | undefined
  /** The IRD entry without its `uri`. */
  readonly entry: Omit<IrdResourceEntry, 'uri'>
  /** The network map this resource is about or depends on. */
  readonly networkMap: NetworkMap | undefined
  /** The cost maps a cost resource may answer from (one for a GET cost map). */
  readonly costMaps: readonly ServedCostMap[]
  /** The serialized body of a GET resource (not the IRD, whose URIs depend on the base). */
  readonly body: PreparedBody | undefined
}

export interface LayoutOptions {
  costConstraints: boolean
  /** List an RFC 8895 update stream service in the IRD. @default false */
  updateStreams?: boolean
  /** The signer's key set: served at ATTESTATION_KEYS_PATH and listed in the IRD (docs/redistribution.md). */
  attestationKeys?: Buffer | undefined
}

/** Path of the update stream service; its stream control URIs are under {@link STREAM_CONTROL_PATH}. */
export const UPDATE_STREAM_PATH = '/updates/stream'
export const STREAM_CONTROL_PATH = '/updates/control'

/**
 * The incremental change media type of each resource kind an update stream can carry (RFC 8895
 * §3: merge patches suit cost maps and property maps, whose leaves are single values; JSON patches
 * suit network maps, whose prefix lists are arrays that a merge patch would resend whole).
 */
export const INCREMENTAL_CHANGE_TYPE: Partial<Record<ResourceKind, string>> = {
  'network-map': MediaType.jsonPatch,
  'filtered-network-map': MediaType.jsonPatch,
  'cost-map': MediaType.mergePatch,
  'filtered-cost-map': MediaType.mergePatch,
  'endpoint-prop': MediaType.mergePatch,
}

/** Resource id `base-suffix`, shortened to RFC 7285's 64 characters when needed. */
function derivedId(base: string, suffix: string): string {
  const id = `${base}-${suffix}`
  return id.length <= 64 ? id : `${base.slice(0, 63 - suffix.length)}-${suffix}`
}

export function dependentVtags(map: NetworkMap): VersionTag[] {
  return [{ 'resource-id': map.resourceId, tag: map.vtag }]
}

export class ResourceTable {
  readonly snapshot: Snapshot
  readonly byPath: ReadonlyMap<string, Resource>
  readonly byId: ReadonlyMap<string, Resource>
  readonly #irdCache = new Map<string, PreparedBody>()

  constructor(snapshot: Snapshot, options: LayoutOptions) {
    this.snapshot = snapshot
    const resources = layout(snapshot, options)
    this.byPath = new Map(resources.map((r) => [r.path, r]))
    this.byId = new Map(resources.filter((r) => r.kind !== 'directory' && r.kind !== 'stream-control').map((r) => [r.id, r]))
  }

  /** The resource at a request path (each stream's control URI is under one shared path). */
  resolve(path: string): Resource | undefined {
    const exact = this.byPath.get(path)
    if (exact || !path.startsWith(`${STREAM_CONTROL_PATH}/`)) return exact
    return this.byPath.get(STREAM_CONTROL_PATH)
  }

  /** The IRD with absolute URIs under `base` (e.g. `http://127.0.0.1:8181`), serialized once per base. */
  ird(base: string): PreparedBody {
    let body = this.#irdCache.get(base)
    if (!body) {
      // Bases come from Host headers: bound the cache so odd hosts cannot grow it without end.
      if (this.#irdCache.size >= 32) this.#irdCache.clear()
      body = prepareBody(JSON.stringify(this.irdBody(base)))
      this.#irdCache.set(base, body)
    }
    return body
  }

  irdBody(base: string): IrdBody {
    const costTypes: IrdBody['meta']['cost-types'] = {}
    for (const [name, type] of this.snapshot.costTypes) costTypes[name] = type
    const resources: IrdBody['resources'] = {}
    for (const r of this.byId.values()) resources[r.id] = { uri: base + r.path, ...r.entry }
    return { meta: { 'cost-types': costTypes, 'default-alto-network-map': this.snapshot.defaultNetworkMap.resourceId }, resources }
  }
}

function layout(snapshot: Snapshot, options: LayoutOptions): Resource[] {
  const out: Resource[] = [
    {
      id: '',
      kind: 'directory',
      path: '/',
      method: 'GET',
      mediaType: MediaType.directory,
      accepts: undefined,
      entry: { 'media-type': MediaType.directory },
      networkMap: undefined,
      costMaps: [],
      body: undefined,
    },
  ]
  const isDefault = (m: NetworkMap) => m === snapshot.defaultNetworkMap
  const constraints = options.costConstraints ? { 'cost-constraints': true } : {}

  for (const map of snapshot.networkMaps.values()) {
    const uses = [map.resourceId]
    out.push({
      id: map.resourceId,
      kind: 'network-map',
      path: `/networkmap/${map.resourceId}`,
      method: 'GET',
      mediaType: MediaType.networkMap,
      accepts: undefined,
      entry: { 'media-type': MediaType.networkMap },
      networkMap: map,
      costMaps: [],
      // Written from the tries part by part: no string per prefix is built or kept (docs/libloc.md).
      body: prepareBodyParts(map.toBodyParts()),
    })
    const filteredId = derivedId(map.resourceId, 'filtered')
    out.push({
      id: filteredId,
      kind: 'filtered-network-map',
      path: `/networkmap/${filteredId}`,
      method: 'POST',
      mediaType: MediaType.networkMap,
      accepts: MediaType.networkMapFilter,
      entry: { 'media-type': MediaType.networkMap, accepts: MediaType.networkMapFilter, uses },
      networkMap: map,
      costMaps: [],
      body: undefined,
    })

    const costMaps = snapshot.costMapsOf(map.resourceId)
    for (const served of costMaps) {
      const id = isDefault(map) ? `costmap-${served.name}` : derivedId(map.resourceId, `costmap-${served.name}`)
      const meta: CostMapBody['meta'] = { 'dependent-vtags': dependentVtags(map), 'cost-type': wireCostType(served.costType) }
      out.push({
        id,
        kind: 'cost-map',
        path: `/costmap/${id}`,
        method: 'GET',
        mediaType: MediaType.costMap,
        accepts: undefined,
        entry: { 'media-type': MediaType.costMap, capabilities: { 'cost-type-names': [served.name] }, uses },
        networkMap: map,
        costMaps: [served],
        body: prepareBodyParts(costMapBodyParts(meta, served.map)),
      })
    }
    if (costMaps.length === 0) continue
    const names = costMaps.map((c) => c.name)
    const filteredCostId = isDefault(map) ? 'filtered-costmap' : derivedId(map.resourceId, 'filtered-costmap')
    out.push({
      id: filteredCostId,
      kind: 'filtered-cost-map',
      path: `/costmap/${filteredCostId}`,
      method: 'POST',
      mediaType: MediaType.costMap,
      accepts: MediaType.costMapFilter,
      entry: { 'media-type': MediaType.costMap, accepts: MediaType.costMapFilter, capabilities: { 'cost-type-names': names, ...constraints }, uses },
      networkMap: map,
      costMaps,
      body: undefined,
    })
    const ecsId = isDefault(map) ? 'endpoint-cost' : derivedId(map.resourceId, 'endpoint-cost')
    out.push({
      id: ecsId,
      kind: 'endpoint-cost',
      path: `/endpointcost/${ecsId}`,
      method: 'POST',
      mediaType: MediaType.endpointCost,
      accepts: MediaType.endpointCostParams,
      entry: { 'media-type': MediaType.endpointCost, accepts: MediaType.endpointCostParams, capabilities: { 'cost-type-names': names, ...constraints }, uses },
      networkMap: map,
      costMaps,
      body: undefined,
    })
  }

  if (options.attestationKeys) {
    const entry = { 'media-type': JWK_SET_MEDIA_TYPE }
    out.push({ id: ATTESTATION_KEYS_ID, kind: 'attestation-keys', path: ATTESTATION_KEYS_PATH, method: 'GET', mediaType: JWK_SET_MEDIA_TYPE, accepts: undefined, entry, networkMap: undefined, costMaps: [], body: prepareBody(options.attestationKeys.toString('utf8')) })
  }
  const propTypes = [...snapshot.networkMaps.keys()].map((id) => `${id}.pid`).concat([...snapshot.properties.keys()])
  out.push({
    id: 'endpoint-property',
    kind: 'endpoint-prop',
    path: '/endpointprop/endpoint-property',
    method: 'POST',
    mediaType: MediaType.endpointProp,
    accepts: MediaType.endpointPropParams,
    entry: {
      'media-type': MediaType.endpointProp,
      accepts: MediaType.endpointPropParams,
      capabilities: { 'prop-types': propTypes },
      uses: [...snapshot.networkMaps.keys()],
    },
    networkMap: undefined,
    costMaps: [],
    body: undefined,
  })
  if (options.updateStreams) out.push(...updateStreamResources(out))
  return out
}

/**
 * A full cost map body (RFC 7285 §11.2.3.6) as parts of its JSON text, one source row each: the
 * bytes of `JSON.stringify({ meta, 'cost-map': map.toData() })` without building either. At 2,000
 * PIDs the object would be 4 million properties and the string ~65 MB, a tenth of V8's limit.
 */
export function* costMapBodyParts(meta: CostMapBody['meta'], map: CostMap): Generator<string> {
  yield `{"meta":${JSON.stringify(meta)},"cost-map":{`
  let first = true
  for (const row of map.jsonRows(null, null, [])) {
    if (!first) yield ','
    yield row
    first = false
  }
  yield '}}'
}

/** RFC 8895 §6.3 and §7: the update stream service over every resource it can carry, and its control. */
function updateStreamResources(resources: readonly Resource[]): Resource[] {
  const changeTypes: Record<string, string> = {}
  for (const r of resources) {
    const type = INCREMENTAL_CHANGE_TYPE[r.kind]
    if (type) changeTypes[r.id] = type
  }
  const common = { networkMap: undefined, costMaps: [], body: undefined, method: 'POST' as const }
  return [
    {
      ...common,
      id: 'update-stream',
      kind: 'update-stream',
      path: UPDATE_STREAM_PATH,
      mediaType: MediaType.updateStream,
      accepts: MediaType.updateStreamParams,
      entry: {
        'media-type': MediaType.updateStream,
        accepts: MediaType.updateStreamParams,
        capabilities: { 'incremental-change-media-types': changeTypes, 'support-stream-control': true },
        uses: Object.keys(changeTypes),
      },
    },
    {
      // Not in the IRD: each stream announces its own control URI (RFC 8895 §5.3, §7.2).
      ...common,
      id: 'stream-control',
      kind: 'stream-control',
      path: STREAM_CONTROL_PATH,
      mediaType: MediaType.updateStreamControl,
      accepts: MediaType.updateStreamParams,
      entry: { 'media-type': MediaType.updateStreamControl, accepts: MediaType.updateStreamParams },
    },
  ]
}
