/**
 * The RFC 7285 §11 example maps, served unchanged, answer the RFC's example requests with the
 * RFC's example results (vtags following the served network map, see fixtures/rfc7285/README.md).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fixture, MT, rfcServer } from '../helpers/rfc-server.ts'

const server = rfcServer()
test.after(() => server.close())

async function post(url: string, contentType: string, accept: string, body: unknown) {
  return server.app.inject({ method: 'POST', url, headers: { 'content-type': contentType, accept: `${accept},${MT.error}` }, payload: JSON.stringify(body) })
}

test('§11.2.1.7 network map is served exactly as given', async () => {
  const response = await server.app.inject({ url: '/networkmap/my-default-network-map', headers: { accept: `${MT.networkMap},${MT.error}` } })
  assert.equal(response.statusCode, 200)
  assert.equal(response.headers['content-type'], MT.networkMap)
  assert.deepEqual(response.json(), fixture('rfc7285/network-map.json'))
})

test('§11.2.3.7 cost map is served with dependent-vtags following the served network map', async () => {
  const response = await server.app.inject({ url: '/costmap/costmap-num-routingcost' })
  assert.equal(response.statusCode, 200)
  assert.equal(response.headers['content-type'], MT.costMap)
  const expected = fixture('rfc7285/cost-map.json')
  expected.meta['dependent-vtags'][0].tag = 'da65eca2eb7a10ce8b059740b0b2e3f8eb1d4785'
  assert.deepEqual(response.json(), expected)
})

test('§11.3.1.7 filtered network map returns only the requested PIDs', async () => {
  const response = await post('/networkmap/my-default-network-map-filtered', MT.networkMapFilter, MT.networkMap, fixture('rfc7285/filtered-network-map.request.json'))
  assert.equal(response.statusCode, 200)
  const full = fixture('rfc7285/network-map.json')
  assert.deepEqual(response.json(), {
    meta: full.meta,
    'network-map': { PID1: full['network-map'].PID1, PID2: full['network-map'].PID2 },
  })
})

test('§11.3.2.7 filtered cost map', async () => {
  const response = await post('/costmap/filtered-costmap', MT.costMapFilter, MT.costMap, fixture('rfc7285/filtered-cost-map.request.json'))
  assert.equal(response.statusCode, 200)
  assert.deepEqual(response.json(), fixture('rfc7285/filtered-cost-map.response.json'))
})

test('§11.4.1.7 endpoint properties', async () => {
  const response = await post('/endpointprop/endpoint-property', MT.endpointPropParams, MT.endpointProp, fixture('rfc7285/endpoint-prop.request.json'))
  assert.equal(response.statusCode, 200)
  assert.equal(response.headers['content-type'], MT.endpointProp)
  assert.deepEqual(response.json(), fixture('rfc7285/endpoint-prop.response.json'))
})

test('§11.5.1.7 endpoint costs, ordinal', async () => {
  const response = await post('/endpointcost/endpoint-cost', MT.endpointCostParams, MT.endpointCost, fixture('rfc7285/endpoint-cost.request.json'))
  assert.equal(response.statusCode, 200)
  assert.equal(response.headers['content-type'], MT.endpointCost)
  assert.deepEqual(response.json(), fixture('rfc7285/endpoint-cost.response.json'))
})
