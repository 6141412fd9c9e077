/**
 * @module client/directory
 * The Information Resource Directory as a client needs it (RFC 7285 §9): resources by id with
 * absolute URIs, cost type names resolved to cost types, secondary IRDs (§9.2.4) followed and
 * merged. Finds the resource that serves a request ("a filtered cost map for ordinal
 * routingcost on network map M").
 */
import { costTypeKey } from '../protocol/cost-types.ts'
import { createAltoError } from '../protocol/errors.ts'
import { MediaType } from '../protocol/media-types.ts'
import type { CostType, IrdBody } from '../protocol/types.ts'

export interface DirectoryResource {
  readonly id: string
  /** Absolute URI (relative ones resolved against the IRD that lists them). */
  readonly uri: string
  readonly mediaType: string
  readonly accepts: string | undefined
  readonly uses: readonly string[]
  /** `cost-type-names` resolved in the IRD that declared them. */
  readonly costTypes: readonly CostType[]
  readonly costConstraints: boolean
  readonly propTypes: readonly string[]
  /** URI of the IRD that listed it. */
  readonly ird: string
}

export class Directory {
  readonly uri: string
  readonly defaultNetworkMap: string | undefined
  /** Cost types by name, from the root IRD (secondary IRDs' names are local to them). */
  readonly costTypes: ReadonlyMap<string, CostType>
  readonly resources: ReadonlyMap<string, DirectoryResource>

  constructor(uri: string, root: IrdBody, resources: Map<string, DirectoryResource>) {
    this.uri = uri
    this.defaultNetworkMap = root.meta?.['default-alto-network-map']
    this.costTypes = new Map(Object.entries(root.meta?.['cost-types'] ?? {}))
    this.resources = resources
  }

  resource(id: string): DirectoryResource {
    const resource = this.resources.get(id)
    if (!resource) throw createAltoError('ALTO_ERR_NO_RESOURCE', [`resource with id ${id}`])
    return resource
  }

  /** The network map with this id, or the default one (else the first). */
  networkMap(id?: string): DirectoryResource {
    if (id !== undefined) return this.#expect(this.resource(id), MediaType.networkMap, undefined)
    const fallback = this.#find((r) => r.mediaType === MediaType.networkMap && r.accepts === undefined)
    const chosen = this.defaultNetworkMap !== undefined ? (this.resources.get(this.defaultNetworkMap) ?? fallback) : fallback
    if (!chosen) throw createAltoError('ALTO_ERR_NO_RESOURCE', ['network map'])
    return chosen
  }

  filteredNetworkMap(networkMapId?: string): DirectoryResource {
    const map = this.networkMap(networkMapId).id
    return this.#need((r) => r.accepts === MediaType.networkMapFilter && r.uses.includes(map), `filtered network map for ${map}`)
  }

  /** A full (GET) cost map of this cost type on the network map. */
  costMap(type: CostType, networkMapId?: string): DirectoryResource {
    const map = this.networkMap(networkMapId).id
    return this.#need((r) => r.mediaType === MediaType.costMap && r.accepts === undefined && r.uses.includes(map) && offers(r, type), `cost map of ${costTypeKey(type)} for ${map}`)
  }

  filteredCostMap(type: CostType, networkMapId?: string, withConstraints = false): DirectoryResource {
    const map = this.networkMap(networkMapId).id
    return this.#need(
      (r) => r.accepts === MediaType.costMapFilter && r.uses.includes(map) && offers(r, type) && (!withConstraints || r.costConstraints),
      `filtered cost map of ${costTypeKey(type)} for ${map}${withConstraints ? ' with cost constraints' : ''}`,
    )
  }

  /** An endpoint cost service for this cost type; on the given network map when one is named. */
  endpointCost(type: CostType, networkMapId?: string, withConstraints = false): DirectoryResource {
    const preferred = networkMapId ?? this.defaultNetworkMap
    const candidates = [...this.resources.values()].filter(
      (r) => r.accepts === MediaType.endpointCostParams && offers(r, type) && (!withConstraints || r.costConstraints),
    )
    const chosen = candidates.find((r) => preferred !== undefined && r.uses.includes(preferred)) ?? (networkMapId === undefined ? candidates[0] : undefined)
    if (!chosen) throw createAltoError('ALTO_ERR_NO_RESOURCE', [`endpoint cost service for ${costTypeKey(type)}`])
    return chosen
  }

  endpointProperty(property: string): DirectoryResource {
    return this.#need((r) => r.accepts === MediaType.endpointPropParams && r.propTypes.includes(property), `endpoint property service for ${property}`)
  }

  /** Resolve a cost type name of the root IRD, or pass a cost type through. */
  costType(nameOrType: string | CostType): CostType {
    if (typeof nameOrType !== 'string') return nameOrType
    const type = this.costTypes.get(nameOrType)
    if (!type) throw createAltoError('ALTO_ERR_NO_RESOURCE', [`cost type named ${nameOrType} (known: ${[...this.costTypes.keys()].join(', ') || 'none'})`])
    return type
  }

  #find(predicate: (r: DirectoryResource) => boolean): DirectoryResource | undefined {
    for (const r of this.resources.values()) if (predicate(r)) return r
    return undefined
  }

  #need(predicate: (r: DirectoryResource) => boolean, what: string): DirectoryResource {
    const found = this.#find(predicate)
    if (!found) throw createAltoError('ALTO_ERR_NO_RESOURCE', [what])
    return found
  }

  #expect(resource: DirectoryResource, mediaType: string, accepts: string | undefined): DirectoryResource {
    if (resource.mediaType !== mediaType || resource.accepts !== accepts) {
      throw createAltoError('ALTO_ERR_NO_RESOURCE', [`${mediaType} resource with id ${resource.id} (it is ${resource.mediaType})`])
    }
    return resource
  }
}

function offers(resource: DirectoryResource, type: CostType): boolean {
  const key = costTypeKey(type)
  return resource.costTypes.some((t) => costTypeKey(t) === key)
}

/**
 * Read an IRD and the secondary IRDs it lists (depth-bounded, each fetched once), merging their
 * resources; on an id listed twice the first wins.
 */
export async function loadDirectory(uri: string, fetchIrd: (uri: string) => Promise<IrdBody>, maxDepth = 4): Promise<Directory> {
  const resources = new Map<string, DirectoryResource>()
  const seen = new Set<string>()
  const root = await fetchIrd(uri)
  seen.add(uri)
  await merge(uri, root, 0)
  return new Directory(uri, root, resources)

  async function merge(irdUri: string, ird: IrdBody, depth: number): Promise<void> {
    const costTypes = ird.meta?.['cost-types'] ?? {}
    const secondary: string[] = []
    for (const [id, entry] of Object.entries(ird.resources)) {
      let absolute: string
      try {
        absolute = new URL(entry.uri, irdUri).href
      } catch {
        continue // an unusable URI makes that one resource unusable, not the directory
      }
      if (entry['media-type'] === MediaType.directory) {
        secondary.push(absolute)
        continue
      }
      if (resources.has(id)) continue
      const names = entry.capabilities?.['cost-type-names'] ?? []
      resources.set(id, {
        id,
        uri: absolute,
        mediaType: entry['media-type'],
        accepts: entry.accepts,
        uses: entry.uses ?? [],
        costTypes: names.map((name) => costTypes[name]).filter((t): t is CostType => t !== undefined),
        costConstraints: entry.capabilities?.['cost-constraints'] === true,
        propTypes: entry.capabilities?.['prop-types'] ?? [],
        ird: irdUri,
      })
    }
    if (depth >= maxDepth) return
    for (const next of secondary) {
      if (seen.has(next)) continue
      seen.add(next)
      await merge(next, await fetchIrd(next), depth + 1)
    }
  }
}
