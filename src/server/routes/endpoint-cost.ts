/**
 * @module server/routes/endpoint-cost
 * Endpoint cost service (RFC 7285 §11.5.1): typed addresses mapped to PIDs by longest-prefix
 * match, costs read from the cost map of the requested type.
 */
import { AltoProtocolError } from '../../protocol/errors.ts'
import { wireCostType } from '../../protocol/cost-types.ts'
import type { EndpointCostBody } from '../../protocol/types.ts'
import { validateEndpointCost } from '../../protocol/validate.ts'
import { satisfiesAll } from '../../cost/constraints.ts'
import { parseTypedAddress } from '../../netmap/address.ts'
import { dependentVtags, type Resource } from '../resources.ts'
import { costMapFor, parseConstraints } from './common.ts'

export interface EndpointCostContext {
  /** The requesting client's address as a typed address, used when `srcs` is absent or empty (§11.5.1.3). */
  clientAddress: string | undefined
  allowConstraints: boolean
}

export function endpointCosts(resource: Resource, body: unknown, context: EndpointCostContext): EndpointCostBody {
  const request = validateEndpointCost(body)
  const served = costMapFor(resource, request['cost-type'])
  const constraints = parseConstraints(request.constraints, context.allowConstraints)
  const map = resource.networkMap!
  const ordinal = served.costType['cost-mode'] === 'ordinal'
  // Ordinal answers rank the requested destinations from the numerical costs of the same metric.
  const numeric = ordinal
    ? (resource.costMaps.find((c) => c.costType['cost-mode'] === 'numerical' && c.costType['cost-metric'] === served.costType['cost-metric']) ?? served)
    : served

  const requestedSrcs = request.endpoints.srcs ?? []
  const srcs = requestedSrcs.length > 0 ? requestedSrcs : context.clientAddress ? [context.clientAddress] : []
  const dsts = request.endpoints.dsts.map((endpoint) => ({ endpoint, pid: pidOf(endpoint, 'endpoints/dsts') }))

  const out: EndpointCostBody['endpoint-cost-map'] = {}
  for (const src of srcs) {
    const s = pidOf(src, 'endpoints/srcs')
    const row: { endpoint: string; cost: number }[] = []
    const seen = new Set<string>()
    for (const dst of dsts) {
      if (s < 0 || dst.pid < 0 || seen.has(dst.endpoint)) continue
      const cost = numeric.map.cost(s, dst.pid)
      if (Number.isNaN(cost)) continue
      seen.add(dst.endpoint)
      row.push({ endpoint: dst.endpoint, cost })
    }
    if (ordinal) {
      // Rank = position in cost order; equal costs keep the request's order, as in the
      // example of RFC 7285 §11.5.1.7 (ranks 1, 2, 3).
      row.sort((a, b) => a.cost - b.cost).forEach((entry, i) => (entry.cost = i + 1))
    }
    const answer: Record<string, number> = {}
    for (const entry of row) if (satisfiesAll(entry.cost, constraints)) answer[entry.endpoint] = entry.cost
    out[src] = answer
  }
  return {
    meta: { 'cost-type': wireCostType(served.costType), 'dependent-vtags': dependentVtags(map) },
    'endpoint-cost-map': out,
  }

  function pidOf(endpoint: string, field: string): number {
    const address = parseTypedAddress(endpoint)
    if (!address) throw new AltoProtocolError('E_INVALID_FIELD_VALUE', `Invalid typed endpoint address ${JSON.stringify(endpoint)}`, { field, value: endpoint })
    return map.lookupIndex(address.family, address.bytes)
  }
}
