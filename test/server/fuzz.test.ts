/**
 * Property-based fuzzing of every POST resource: thousands of random and mutated bodies, each
 * answered with a well-formed ALTO answer (200 with the resource's media type, or 400 with an
 * RFC 7285 error body), never a 500, a stack trace or a hang.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { ALTO_WIRE_CODES } from '../../src/protocol/errors.ts'
import { MT, rfcServer } from '../helpers/rfc-server.ts'

const server = rfcServer({ limits: { rateLimit: { max: 0, windowMs: 1000 } } })
test.after(() => server.close())

const resources = [
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
const body = fc.oneof(
  wellFormedish.map((v) => JSON.stringify(v)),
  value.map((v) => JSON.stringify(v) ?? 'undefined'),
  fc.tuple(wellFormedish, fc.nat(), fc.string({ maxLength: 3 })).map(([v, at, junk]) => {
    const text = JSON.stringify(v)
    const i = at % (text.length + 1)
    return text.slice(0, i) + junk + text.slice(i + 1)
  }),
  fc.string(),
)

async function checkAnswer(resource: (typeof resources)[number], payload: string): Promise<void> {
  const response = await server.app.inject({ method: 'POST', url: resource.url, headers: { 'content-type': resource.type }, payload })
  const type = response.headers['content-type']
  if (response.statusCode === 200) {
    assert.equal(type, resource.answer)
    const json = response.json()
    assert.equal(typeof json.meta, 'object')
    return
  }
  assert.equal(response.statusCode, 400, `unexpected ${response.statusCode} for ${payload}: ${response.body}`)
  assert.equal(type, MT.error)
  const meta = response.json().meta
  assert.ok((ALTO_WIRE_CODES as readonly string[]).includes(meta.code), `code ${meta.code}`)
  assert.doesNotMatch(response.body, /\n\s+at /, 'no stack trace')
  if (meta.code === 'E_MISSING_FIELD') assert.equal(typeof meta.field, 'string')
  if (meta.code === 'E_INVALID_FIELD_VALUE' && meta.value !== undefined) assert.equal(typeof meta.value, 'string')
}

for (const resource of resources) {
  test(`fuzz ${resource.url}: every body gets a well-formed ALTO answer`, async () => {
    await fc.assert(
      fc.asyncProperty(body, (payload) => checkAnswer(resource, payload)),
      { numRuns: 1500, seed: 7285 },
    )
  })
}
