/**
 * Every error path: RFC 7285 §8.5 error bodies for bad requests, and the HTTP statuses of the
 * transport layer (404, 405, 406, 413, 415, 429, 503), never a 500 or a stack trace.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MT, rfcServer } from '../helpers/rfc-server.ts'

const server = rfcServer()
test.after(() => server.close())

const numerical = { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' }

async function altoError(url: string, contentType: string, payload: string) {
  const response = await server.app.inject({ method: 'POST', url, headers: { 'content-type': contentType }, payload })
  assert.equal(response.statusCode, 400, response.body)
  assert.equal(response.headers['content-type'], MT.error)
  return response.json().meta
}

test('malformed JSON -> E_SYNTAX', async () => {
  const meta = await altoError('/costmap/filtered-costmap', MT.costMapFilter, '{"cost-type": ')
  assert.equal(meta.code, 'E_SYNTAX')
  assert.equal(typeof meta['syntax-error'], 'string')
  assert.equal((await altoError('/costmap/filtered-costmap', MT.costMapFilter, '')).code, 'E_SYNTAX')
})

test('missing fields -> E_MISSING_FIELD naming the field path', async () => {
  assert.deepEqual(await altoError('/costmap/filtered-costmap', MT.costMapFilter, '{}'), { code: 'E_MISSING_FIELD', field: 'cost-type' })
  assert.deepEqual(await altoError('/costmap/filtered-costmap', MT.costMapFilter, '{"cost-type":{"cost-mode":"numerical"}}'), {
    code: 'E_MISSING_FIELD',
    field: 'cost-type/cost-metric',
  })
  assert.deepEqual(await altoError('/endpointcost/endpoint-cost', MT.endpointCostParams, JSON.stringify({ 'cost-type': numerical, endpoints: {} })), {
    code: 'E_MISSING_FIELD',
    field: 'endpoints/dsts',
  })
  assert.deepEqual(await altoError('/networkmap/my-default-network-map-filtered', MT.networkMapFilter, '{}'), { code: 'E_MISSING_FIELD', field: 'pids' })
})

test('wrong JSON types -> E_INVALID_FIELD_TYPE', async () => {
  const meta = await altoError('/networkmap/my-default-network-map-filtered', MT.networkMapFilter, '{"pids":"PID1"}')
  assert.equal(meta.code, 'E_INVALID_FIELD_TYPE')
  assert.equal(meta.field, 'pids')
  const item = await altoError('/costmap/filtered-costmap', MT.costMapFilter, JSON.stringify({ 'cost-type': numerical, pids: { srcs: [1] } }))
  assert.deepEqual(item, { code: 'E_INVALID_FIELD_TYPE', field: 'pids/srcs', value: '1' })
  assert.equal((await altoError('/costmap/filtered-costmap', MT.costMapFilter, '[]')).code, 'E_INVALID_FIELD_TYPE')
  assert.equal((await altoError('/costmap/filtered-costmap', MT.costMapFilter, 'null')).code, 'E_INVALID_FIELD_TYPE')
})

test('bad values -> E_INVALID_FIELD_VALUE with field and value', async () => {
  const cases: [string, string, unknown, { field: string; value: string }][] = [
    ['/costmap/filtered-costmap', MT.costMapFilter, { 'cost-type': { 'cost-mode': 'numerical', 'cost-metric': 'hopcount' } }, { field: 'cost-type/cost-metric', value: 'hopcount' }],
    ['/costmap/filtered-costmap', MT.costMapFilter, { 'cost-type': { 'cost-mode': 'fancy', 'cost-metric': 'routingcost' } }, { field: 'cost-type/cost-mode', value: 'fancy' }],
    ['/costmap/filtered-costmap', MT.costMapFilter, { 'cost-type': numerical, constraints: ['less 5'] }, { field: 'constraints', value: 'less 5' }],
    ['/costmap/filtered-costmap', MT.costMapFilter, { 'cost-type': numerical, constraints: ['le five'] }, { field: 'constraints', value: 'le five' }],
    ['/costmap/filtered-costmap', MT.costMapFilter, { 'cost-type': numerical, pids: { srcs: ['bad.pid'] } }, { field: 'pids/srcs', value: 'bad.pid' }],
    ['/networkmap/my-default-network-map-filtered', MT.networkMapFilter, { pids: [], 'address-types': ['ipx'] }, { field: 'address-types', value: 'ipx' }],
    ['/endpointprop/endpoint-property', MT.endpointPropParams, { properties: ['nope'], endpoints: ['ipv4:192.0.2.1'] }, { field: 'properties', value: 'nope' }],
    ['/endpointprop/endpoint-property', MT.endpointPropParams, { properties: ['my-default-network-map.pid'], endpoints: ['ipv4:300.1.1.1'] }, { field: 'endpoints', value: 'ipv4:300.1.1.1' }],
    ['/endpointcost/endpoint-cost', MT.endpointCostParams, { 'cost-type': numerical, endpoints: { dsts: ['ipv6:192.0.2.1'] } }, { field: 'endpoints/dsts', value: 'ipv6:192.0.2.1' }],
    ['/endpointcost/endpoint-cost', MT.endpointCostParams, { 'cost-type': numerical, endpoints: { srcs: ['192.0.2.1'], dsts: ['ipv4:192.0.2.1'] } }, { field: 'endpoints/srcs', value: '192.0.2.1' }],
    ['/endpointcost/endpoint-cost', MT.endpointCostParams, { 'cost-type': numerical, endpoints: { dsts: [] } }, { field: 'endpoints/dsts', value: '[]' }],
  ]
  for (const [url, type, body, expected] of cases) {
    const meta = await altoError(url, type, JSON.stringify(body))
    assert.deepEqual(meta, { code: 'E_INVALID_FIELD_VALUE', ...expected }, JSON.stringify(body))
  }
})

test('constraints are refused where the resource does not declare cost-constraints', async () => {
  const strict = rfcServer({ costConstraints: false })
  const ird = (await strict.app.inject({ url: '/' })).json()
  assert.equal(ird.resources['filtered-costmap'].capabilities['cost-constraints'], undefined)
  const response = await strict.app.inject({
    method: 'POST',
    url: '/costmap/filtered-costmap',
    headers: { 'content-type': MT.costMapFilter },
    payload: JSON.stringify({ 'cost-type': numerical, constraints: ['le 10'] }),
  })
  assert.equal(response.statusCode, 400)
  assert.deepEqual(response.json().meta, { code: 'E_INVALID_FIELD_VALUE', field: 'constraints', value: 'le 10' })
  await strict.close()
})

test('unknown resource -> 404, wrong method -> 405 with Allow', async () => {
  const missing = await server.app.inject({ url: '/networkmap/nope' })
  assert.equal(missing.statusCode, 404)
  assert.equal(missing.headers['content-type'], 'application/problem+json')
  assert.equal(missing.json().status, 404)
  const post = await server.app.inject({ method: 'POST', url: '/networkmap/my-default-network-map', headers: { 'content-type': MT.networkMapFilter }, payload: '{}' })
  assert.equal(post.statusCode, 405)
  assert.equal(post.headers.allow, 'GET, HEAD')
  const get = await server.app.inject({ url: '/endpointcost/endpoint-cost' })
  assert.equal(get.statusCode, 405)
  assert.equal(get.headers.allow, 'POST')
  for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const) {
    assert.equal((await server.app.inject({ method, url: '/' })).statusCode, 405, method)
  }
})

test('406 when Accept excludes both the resource type and the error type', async () => {
  const refused = await server.app.inject({ url: '/networkmap/my-default-network-map', headers: { accept: 'text/html' } })
  assert.equal(refused.statusCode, 406)
  for (const accept of [MT.networkMap, MT.error, '*/*', 'application/*', `text/html, ${MT.networkMap};q=0.5`]) {
    assert.equal((await server.app.inject({ url: '/networkmap/my-default-network-map', headers: { accept } })).statusCode, 200, accept)
  }
  assert.equal((await server.app.inject({ url: '/networkmap/my-default-network-map', headers: { accept: `${MT.networkMap};q=0` } })).statusCode, 406)
})

test('415 for a wrong or missing Content-Type, before the body is parsed', async () => {
  const wrong = await server.app.inject({ method: 'POST', url: '/costmap/filtered-costmap', headers: { 'content-type': 'application/json' }, payload: '{not json' })
  assert.equal(wrong.statusCode, 415)
  const missing = await server.app.inject({ method: 'POST', url: '/costmap/filtered-costmap', payload: '{}' })
  assert.equal(missing.statusCode, 415)
  const withCharset = await server.app.inject({
    method: 'POST',
    url: '/costmap/filtered-costmap',
    headers: { 'content-type': `${MT.costMapFilter}; charset=utf-8` },
    payload: JSON.stringify({ 'cost-type': numerical }),
  })
  assert.equal(withCharset.statusCode, 200)
})

test('413 for a body over the limit', async () => {
  const small = rfcServer({ limits: { bodyBytes: 100 } })
  const response = await small.app.inject({
    method: 'POST',
    url: '/costmap/filtered-costmap',
    headers: { 'content-type': MT.costMapFilter },
    payload: JSON.stringify({ 'cost-type': numerical, pids: { srcs: Array(50).fill('PID1') } }),
  })
  assert.equal(response.statusCode, 413)
  assert.equal(response.headers['content-type'], 'application/problem+json')
  await small.close()
})

test('429 with Retry-After past the per-client rate limit', async () => {
  const limited = rfcServer({ limits: { rateLimit: { max: 3, windowMs: 60_000 } } })
  const statuses = []
  for (let i = 0; i < 5; i++) statuses.push((await limited.app.inject({ url: '/' })).statusCode)
  assert.deepEqual(statuses, [200, 200, 200, 429, 429])
  const response = await limited.app.inject({ url: '/' })
  assert.ok(Number(response.headers['retry-after']) > 0)
  assert.equal(response.json().status, 429)
  await limited.close()
})

test('503 with Retry-After when more requests are in flight than allowed', async () => {
  const crowded = rfcServer({ limits: { overload: { maxInFlight: 1, retryAfterS: 7 } } })
  await crowded.app.ready()
  // Hold one request open: its body never finishes arriving.
  const { PassThrough } = await import('node:stream')
  const slow = new PassThrough()
  const pending = crowded.app.inject({ method: 'POST', url: '/costmap/filtered-costmap', headers: { 'content-type': MT.costMapFilter }, payload: slow })
  await new Promise((resolve) => setTimeout(resolve, 50))
  const refused = await crowded.app.inject({ url: '/' })
  assert.equal(refused.statusCode, 503)
  assert.equal(refused.headers['retry-after'], '7')
  slow.end(JSON.stringify({ 'cost-type': numerical }))
  assert.equal((await pending).statusCode, 200)
  assert.equal((await crowded.app.inject({ url: '/' })).statusCode, 200, 'accepted again once the first is done')
  await crowded.close()
})
