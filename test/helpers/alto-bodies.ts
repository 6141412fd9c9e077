/**
 * Request bodies for the POST resources of the RFC 7285 example server (test/helpers/rfc-server.ts):
 * random values that look like ALTO input, and mutations of them. Shared by the fuzz test and the
 * test that compares the fast lane with the full path.
 */
import fc from 'fast-check'
import { MT } from './rfc-server.ts'

export const resources = [
  { url: '/networkmap/my-default-network-map-filtered', type: MT.networkMapFilter, answer: MT.networkMap },
  { url: '/costmap/filtered-costmap', type: MT.costMapFilter, answer: MT.costMap },
  { url: '/endpointprop/endpoint-property', type: MT.endpointPropParams, answer: MT.endpointProp },
  { url: '/endpointcost/endpoint-cost', type: MT.endpointCostParams, answer: MT.endpointCost },
]

// Values that look like ALTO input: names, addresses, cost types, constraints, and junk.
const token = fc.oneof(
  fc.constantFrom('PID1', 'PID2', 'PID3', 'my-default-network-map.pid', 'priv:ietf-example-prop', 'routingcost', 'hopcount', 'numerical', 'ordinal'),
  fc.constantFrom('ipv4:192.0.2.1', 'ipv6:2001:db8::1', 'ipv4:', 'ipv6:::', 'ipv4:256.0.0.1', 'ipv6:1::2::3', 'ipv4:1.2.3.4/8', 'le 5', 'gt -1', 'eq 1e400', 'lt'),
  fc.constantFrom('ipv4', 'ipv6', '', '.', '\u0000', '__proto__', 'constructor'),
  fc.string(),
)
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  any: fc.oneof({ depthSize: 'small' }, token, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(tie('any'), { maxLength: 4 }), fc.dictionary(token, tie('any'), { maxKeys: 4 })),
})).any

const wellFormedish = fc.record(
  {
    'cost-type': fc.oneof(fc.record({ 'cost-mode': fc.oneof(token, value), 'cost-metric': fc.oneof(token, value) }, { requiredKeys: [] }), value),
    pids: fc.oneof(fc.array(token), fc.record({ srcs: fc.array(token), dsts: fc.array(token) }, { requiredKeys: [] }), value),
    'address-types': fc.oneof(fc.array(token), value),
    constraints: fc.oneof(fc.array(token), value),
    properties: fc.oneof(fc.array(token), value),
    endpoints: fc.oneof(fc.array(token), fc.record({ srcs: fc.array(token), dsts: fc.array(token) }, { requiredKeys: [] }), value),
  },
  { requiredKeys: [] },
)

// Bodies: structured objects serialized, then sometimes mutated at the byte level.
export const body = fc.oneof(
  wellFormedish.map((v) => JSON.stringify(v)),
  value.map((v) => JSON.stringify(v) ?? 'undefined'),
  fc.tuple(wellFormedish, fc.nat(), fc.string({ maxLength: 3 })).map(([v, at, junk]) => {
    const text = JSON.stringify(v)
    const i = at % (text.length + 1)
    return text.slice(0, i) + junk + text.slice(i + 1)
  }),
  fc.string(),
)

