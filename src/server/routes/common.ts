/**
 * @module server/routes/common
 * Checks shared by the cost resources: the requested cost type and the constraints.
 */
import { AltoProtocolError } from '../../protocol/errors.ts'
import { costTypeKey, isCostMode } from '../../protocol/cost-types.ts'
import type { CostType } from '../../protocol/types.ts'
import { parseConstraint, type Constraint } from '../../cost/constraints.ts'
import type { ServedCostMap } from '../../provisioning/snapshot.ts'
import type { Resource } from '../resources.ts'

/** The served cost map for the requested cost type, or E_INVALID_FIELD_VALUE (RFC 7285 §11.3.2.3). */
export function costMapFor(resource: Resource, requested: CostType): ServedCostMap {
  if (!isCostMode(requested['cost-mode'])) {
    throw new AltoProtocolError('E_INVALID_FIELD_VALUE', `Unknown cost mode ${requested['cost-mode']}`, {
      field: 'cost-type/cost-mode',
      value: requested['cost-mode'],
    })
  }
  const key = costTypeKey(requested)
  const served = resource.costMaps.find((c) => costTypeKey(c.costType) === key)
  if (served) return served
  const metricKnown = resource.costMaps.some((c) => c.costType['cost-metric'] === requested['cost-metric'])
  const offered = resource.costMaps.map((c) => costTypeKey(c.costType)).join(', ')
  throw new AltoProtocolError('E_INVALID_FIELD_VALUE', `Cost type ${key} is not offered by ${resource.id} (offered: ${offered})`, {
    field: metricKnown ? 'cost-type/cost-mode' : 'cost-type/cost-metric',
    value: metricKnown ? requested['cost-mode'] : requested['cost-metric'],
  })
}

/** Parse `constraints`, refusing them where the resource does not declare `cost-constraints`. */
export function parseConstraints(list: readonly string[] | undefined, allowed: boolean): Constraint[] {
  if (list === undefined || list.length === 0) return []
  if (!allowed) {
    throw new AltoProtocolError('E_INVALID_FIELD_VALUE', 'This resource does not support cost constraints', {
      field: 'constraints',
      value: list[0],
    })
  }
  return list.map((text) => {
    const constraint = parseConstraint(text)
    if (!constraint) {
      throw new AltoProtocolError('E_INVALID_FIELD_VALUE', `Constraint ${JSON.stringify(text)} is not "<gt|lt|ge|le|eq> <number>"`, {
        field: 'constraints',
        value: text,
      })
    }
    return constraint
  })
}
