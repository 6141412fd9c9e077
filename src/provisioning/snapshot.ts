/**
 * @module provisioning/snapshot
 * An immutable snapshot of everything a server serves, built from a {@link NetworkSpec}. A new
 * snapshot replaces the old one as a whole, so no request ever sees a mix of versions. Errors are
 * {@link SpecError}s whose path points into the spec, for the config loader to turn into lines.
 */
import { costTypeKey } from '../protocol/cost-types.ts'
import { isValidCostMetric, isValidPropertyName, isValidResourceId, isValidVtag } from '../protocol/names.ts'
import type { AddressType, CostType } from '../protocol/types.ts'
import { CostMap, CostMapError } from '../cost/cost-map.ts'
import { combineMetrics, distanceMatrix, linkClassMatrix } from '../cost/combine.ts'
import { NetworkMap, NetworkMapError } from '../netmap/network-map.ts'
import { PrefixTrie } from '../netmap/prefix-trie.ts'
import { parseAnyPrefix, type ParsedAddress } from '../netmap/address.ts'
import { SpecError, type CostMapSpec, type MetricSource, type NetworkSpec, type PropertySpec, type SpecPath } from './spec.ts'

/** One served cost map: a cost type (by its IRD name) on one network map. */
export interface ServedCostMap {
  /** IRD cost type name, e.g. `num-routingcost`. */
  readonly name: string
  readonly costType: CostType
  readonly networkMap: NetworkMap
  readonly map: CostMap
}

/** An endpoint property the operator configured (RFC 7285 §11.4.1). */
export interface PropertyIndex {
  readonly name: string
  lookup(address: ParsedAddress): string | undefined
}

export class Snapshot {
  /** Network maps by resource id, the default one first. */
  readonly networkMaps: ReadonlyMap<string, NetworkMap>
  readonly defaultNetworkMap: NetworkMap
  /** IRD cost type name -> cost type (with description when given). */
  readonly costTypes: ReadonlyMap<string, CostType>
  readonly costMaps: readonly ServedCostMap[]
  readonly properties: ReadonlyMap<string, PropertyIndex>
  /** When this snapshot was built (ms since epoch); for logs and metrics only. */
  readonly builtAt: number

  constructor(parts: {
    networkMaps: Map<string, NetworkMap>
    costTypes: Map<string, CostType>
    costMaps: ServedCostMap[]
    properties: Map<string, PropertyIndex>
    builtAt: number
  }) {
    this.networkMaps = parts.networkMaps
    this.defaultNetworkMap = parts.networkMaps.values().next().value as NetworkMap
    this.costTypes = parts.costTypes
    this.costMaps = parts.costMaps
    this.properties = parts.properties
    this.builtAt = parts.builtAt
  }

  costMapsOf(networkMapId: string): ServedCostMap[] {
    return this.costMaps.filter((c) => c.networkMap.resourceId === networkMapId)
  }

  /** The cost map of a network map for a cost type (mode and metric), if served. */
  findCostMap(networkMapId: string, type: CostType): ServedCostMap | undefined {
    const key = costTypeKey(type)
    return this.costMaps.find((c) => c.networkMap.resourceId === networkMapId && costTypeKey(c.costType) === key)
  }
}

/** Build and check a snapshot. Throws {@link SpecError} locating the first problem. */
export function buildSnapshot(spec: NetworkSpec, now: number = Date.now()): Snapshot {
  if (spec.networkMaps.length === 0) throw new SpecError(['network-maps'], 'at least one network map is required')
  const networkMaps = new Map<string, NetworkMap>()
  spec.networkMaps.forEach((m, i) => {
    const at = m.path ?? ['network-maps', i, 'pids']
    if (!isValidResourceId(m.id)) {
      throw new SpecError([...at.slice(0, -1), 'id'], `invalid resource id ${JSON.stringify(m.id)}: 1-64 characters of A-Z a-z 0-9 - : @ _`)
    }
    if (networkMaps.has(m.id)) throw new SpecError([...at.slice(0, -1), 'id'], `network map id ${m.id} is used twice`)
    if (m.vtag !== undefined && !isValidVtag(m.vtag)) {
      throw new SpecError([...at.slice(0, -1), 'vtag'], `invalid vtag ${JSON.stringify(m.vtag)}: 1-64 characters of U+0021-U+007E`)
    }
    try {
      networkMaps.set(m.id, m.prefixes ? NetworkMap.fromPrefixes(m.id, m.prefixes, m.vtag) : NetworkMap.fromData(m.id, m.pids, m.vtag))
    } catch (error) {
      if (!(error instanceof NetworkMapError)) throw error
      const where = [error.pid, error.family, error.index].filter((x) => x !== undefined)
      throw new SpecError([...at, ...where], error.message)
    }
  })

  const costTypes = new Map<string, CostType>()
  const costMaps: ServedCostMap[] = []
  // Combined maps are built after the metrics they combine.
  const order = spec.costMaps.map((c, i) => ({ c, i })).sort((a, b) => Number(a.c.source?.kind === 'combine') - Number(b.c.source?.kind === 'combine'))
  order.forEach(({ c, i }) => {
    const at = c.path ?? ['cost-maps', i, 'costs']
    const base = at.slice(0, -1)
    const networkMap = networkMaps.get(c.networkMap)
    if (!networkMap) throw new SpecError([...base, 'network-map'], `unknown network map ${c.networkMap}`)
    if (!isValidCostMetric(c.metric)) {
      throw new SpecError([...base, 'cost-metric'], `invalid cost metric ${JSON.stringify(c.metric)}: 1-32 characters of A-Z a-z 0-9 - : _`)
    }
    const description = c.description === undefined ? {} : { description: c.description }
    const numerical: CostType = { 'cost-mode': 'numerical', 'cost-metric': c.metric, ...description }
    const map = buildCostMap(c, networkMap, numerical, at, costMaps)
    addServed(costTypes, costMaps, { name: c.name ?? `num-${c.metric}`, costType: numerical, networkMap, map }, [...base, 'name'])
    if (c.ordinal ?? true) {
      const ordinalMap = map.toOrdinal()
      const name = c.ordinalName ?? `ord-${c.metric}`
      addServed(costTypes, costMaps, { name, costType: ordinalMap.costType, networkMap, map: ordinalMap }, [...base, 'ordinal-name'])
    }
  })

  const properties = new Map<string, PropertyIndex>()
  spec.properties.forEach((p, i) => {
    const at = p.path ?? ['endpoint-properties', p.name]
    if (!isValidPropertyName(p.name) || p.name.includes('.')) {
      throw new SpecError(at, `invalid property name ${JSON.stringify(p.name)}: 1-32 characters of A-Z a-z 0-9 - : _ (use priv: for private ones)`)
    }
    if (properties.has(p.name)) throw new SpecError(at, `property ${p.name} is defined twice (entry ${i})`)
    properties.set(p.name, buildProperty(p, networkMaps, at))
  })

  return new Snapshot({ networkMaps, costTypes, costMaps, properties, builtAt: now })
}

function buildCostMap(c: CostMapSpec, networkMap: NetworkMap, type: CostType, at: SpecPath, built: readonly ServedCostMap[]): CostMap {
  const fill: { intraPid?: number; default?: number } = {}
  if (c.intraPid !== undefined) fill.intraPid = c.intraPid
  if (c.default !== undefined) fill.default = c.default
  const base = at.slice(0, -1)
  try {
    if (!c.source) return CostMap.fromData(networkMap, type, c.costs, fill)
    return CostMap.fromMatrix(networkMap, type, sourceMatrix(c.source, networkMap, [...base, c.source.kind], built), fill)
  } catch (error) {
    if (!(error instanceof CostMapError)) throw error
    const where = [error.src, error.dst].filter((x): x is string => x !== undefined)
    throw new SpecError([...at, ...where], error.message)
  }
}

/** The matrix a metric source yields over the network map's PIDs (seed 000 §4.2.1 resource pools). */
function sourceMatrix(source: MetricSource, networkMap: NetworkMap, at: SpecPath, built: readonly ServedCostMap[]): Float64Array {
  const pids = networkMap.pids
  const known = (pid: string, path: SpecPath) => {
    if (networkMap.pidIndex(pid) < 0) throw new SpecError(path, `PID ${pid} is not in network map ${networkMap.resourceId}`)
  }
  switch (source.kind) {
    case 'distance': {
      for (const pid of Object.keys(source.coordinates)) known(pid, [...at, 'coordinates', pid])
      return distanceMatrix(pids.map((pid) => source.coordinates[pid]))
    }
    case 'link-class': {
      for (const pid of Object.keys(source.classes)) known(pid, [...at, 'classes', pid])
      return linkClassMatrix(pids.map((pid) => source.classes[pid] ?? source.defaultClass), source.prices)
    }
    case 'combine': {
      const inputs = source.inputs.map((input, j) => {
        const served = built.find((m) => m.networkMap === networkMap && m.costType['cost-mode'] === 'numerical' && m.costType['cost-metric'] === input.metric)
        if (!served) throw new SpecError([...at, 'metrics', j, 'cost-metric'], `no numerical ${input.metric} cost map on network map ${networkMap.resourceId} to combine`)
        return { values: served.map.values, weight: input.weight, normalize: input.normalize }
      })
      return combineMetrics(inputs, source.scale)
    }
  }
}

function addServed(types: Map<string, CostType>, maps: ServedCostMap[], served: ServedCostMap, namePath: SpecPath): void {
  const existing = types.get(served.name)
  // One IRD name denotes one cost type; it may be served on several network maps.
  if (existing && costTypeKey(existing) !== costTypeKey(served.costType)) {
    throw new SpecError(namePath, `cost type name ${served.name} already denotes ${costTypeKey(existing)}`)
  }
  if (maps.some((m) => m.networkMap === served.networkMap && costTypeKey(m.costType) === costTypeKey(served.costType))) {
    throw new SpecError(namePath, `network map ${served.networkMap.resourceId} already has a ${costTypeKey(served.costType)} cost map`)
  }
  if (!existing) types.set(served.name, served.costType)
  maps.push(served)
}

function buildProperty(p: PropertySpec, networkMaps: Map<string, NetworkMap>, at: SpecPath): PropertyIndex {
  const tries: Record<AddressType, PrefixTrie> = { ipv4: new PrefixTrie(32), ipv6: new PrefixTrie(128) }
  const values: string[] = []
  for (const [prefixText, value] of Object.entries(p.prefixes ?? {})) {
    const prefix = parseAnyPrefix(prefixText)
    if ('error' in prefix) throw new SpecError([...at, 'prefixes', prefixText], prefix.error)
    if (typeof value !== 'string') throw new SpecError([...at, 'prefixes', prefixText], 'property values are strings')
    values.push(value)
    tries[prefix.family].insert(prefix.bytes, prefix.length, values.length - 1)
  }
  let byPid: { map: NetworkMap; values: Record<string, string> } | undefined
  if (p.pids) {
    const map = networkMaps.get(p.pids.networkMap)
    if (!map) throw new SpecError([...at, 'pids', 'network-map'], `unknown network map ${p.pids.networkMap}`)
    for (const [pid, value] of Object.entries(p.pids.values)) {
      if (map.pidIndex(pid) < 0) throw new SpecError([...at, 'pids', 'values', pid], `PID ${pid} is not in network map ${map.resourceId}`)
      if (typeof value !== 'string') throw new SpecError([...at, 'pids', 'values', pid], 'property values are strings')
    }
    byPid = { map, values: p.pids.values }
  }
  return {
    name: p.name,
    lookup(address: ParsedAddress): string | undefined {
      const index = tries[address.family].lookup(address.bytes)
      if (index >= 0) return values[index]
      if (!byPid) return undefined
      const pid = byPid.map.lookup(address)
      return pid === undefined ? undefined : byPid.values[pid]
    },
  }
}
