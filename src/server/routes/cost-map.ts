/**
 * @module server/routes/cost-map
 * Filtered cost map (RFC 7285 §11.3.2).
 */
import { AltoProtocolError } from '../../protocol/errors.ts'
import { isValidPidName } from '../../protocol/names.ts'
import { wireCostType } from '../../protocol/cost-types.ts'
import type { CostMapBody } from '../../protocol/types.ts'
import { validateCostMapFilter } from '../../protocol/validate.ts'
import type { NetworkMap } from '../../netmap/network-map.ts'
import type { Constraint } from '../../cost/constraints.ts'
import type { CostMap } from '../../cost/cost-map.ts'
import { dependentVtags, type Resource } from '../resources.ts'
import { costMapFor, parseConstraints } from './common.ts'

/** What a filter request asks for, checked: the answer's meta and the part of which map. */
interface CostMapSelection {
  meta: CostMapBody['meta']
  map: CostMap
  /** PID indexes; null for all. */
  srcs: number[] | null
  dsts: number[] | null
  constraints: Constraint[]
}

function select(resource: Resource, body: unknown, allowConstraints: boolean): CostMapSelection {
  const request = validateCostMapFilter(body)
  const served = costMapFor(resource, request['cost-type'])
  const constraints = parseConstraints(request.constraints, allowConstraints)
  const map = resource.networkMap!
  return {
    meta: { 'dependent-vtags': dependentVtags(map), 'cost-type': wireCostType(served.costType) },
    map: served.map,
    srcs: pidIndexes(map, request.pids?.srcs, 'pids/srcs'),
    dsts: pidIndexes(map, request.pids?.dsts, 'pids/dsts'),
    constraints,
  }
}

export function filteredCostMap(resource: Resource, body: unknown, allowConstraints: boolean): CostMapBody {
  const { meta, map, srcs, dsts, constraints } = select(resource, body, allowConstraints)
  return { meta, 'cost-map': map.filterData(srcs, dsts, constraints) }
}

/** {@link filteredCostMap} serialized, built as text without the objects: what the server sends. */
export function filteredCostMapJson(resource: Resource, body: unknown, allowConstraints: boolean): string {
  const { meta, map, srcs, dsts, constraints } = select(resource, body, allowConstraints)
  return `{"meta":${JSON.stringify(meta)},"cost-map":${map.filterJson(srcs, dsts, constraints)}}`
}

/** Indexes of the listed PIDs, unknown ones ignored, duplicates once; null (all) for an absent or empty list. */
function pidIndexes(map: NetworkMap, pids: readonly string[] | undefined, field: string): number[] | null {
  if (pids === undefined || pids.length === 0) return null
  const indexes = new Set<number>()
  for (const pid of pids) {
    if (!isValidPidName(pid)) throw new AltoProtocolError('E_INVALID_FIELD_VALUE', `Invalid PID name ${JSON.stringify(pid)}`, { field, value: pid })
    const index = map.pidIndex(pid)
    if (index >= 0) indexes.add(index)
  }
  return [...indexes]
}
