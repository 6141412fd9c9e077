/**
 * Resource semantics through app.inject(): the IRD, caching, and every RFC 7285 resource.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { gunzipSync } from 'node:zlib'
import { buildSnapshot } from '../../src/provisioning/snapshot.ts'
import { MT, rfcServer, rfcSpec } from '../helpers/rfc-server.ts'

const server = rfcServer()
test.after(() => server.close())

const post = (url: string, contentType: string, body: unknown, headers: Record<string, string> = {}) =>
  server.app.inject({ method: 'POST', url, headers: { 'content-type': contentType, ...headers }, payload: JSON.stringify(body) })

test('IRD lists every resource with absolute uri, media-type, accepts, uses and capabilities', async () => {
  const response = await server.app.inject({ url: '/', headers: { host: 'alto.example.net:8181' } })
  assert.equal(response.statusCode, 200)
  assert.equal(response.headers['content-type'], MT.directory)
  const ird = response.json()
  assert.equal(ird.meta['default-alto-network-map'], 'my-default-network-map')
  assert.deepEqual(ird.meta['cost-types'], {
    'num-routingcost': { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' },
    'ord-routingcost': { 'cost-mode': 'ordinal', 'cost-metric': 'routingcost' },
  })
  assert.deepEqual(Object.keys(ird.resources).sort(), [
    'costmap-num-routingcost',
    'costmap-ord-routingcost',
    'endpoint-cost',
    'endpoint-property',
    'filtered-costmap',
    'my-default-network-map',
    'my-default-network-map-filtered',
    'update-stream',
  ])
  assert.deepEqual(ird.resources['my-default-network-map'], { uri: 'http://alto.example.net:8181/networkmap/my-default-network-map', 'media-type': MT.networkMap })
  assert.deepEqual(ird.resources['filtered-costmap'], {
    uri: 'http://alto.example.net:8181/costmap/filtered-costmap',
    'media-type': MT.costMap,
    accepts: MT.costMapFilter,
    capabilities: { 'cost-type-names': ['num-routingcost', 'ord-routingcost'], 'cost-constraints': true },
    uses: ['my-default-network-map'],
  })
  assert.deepEqual(ird.resources['endpoint-property'].capabilities, { 'prop-types': ['my-default-network-map.pid', 'priv:ietf-example-prop'] })
  assert.deepEqual(ird.resources['costmap-ord-routingcost'].capabilities, { 'cost-type-names': ['ord-routingcost'] })
  // Every resource is reachable at its uri.
  for (const [id, entry] of Object.entries<any>(ird.resources)) {
    const path = new URL(entry.uri).pathname
    const probe = await server.app.inject({ method: entry.accepts ? 'POST' : 'GET', url: path, headers: entry.accepts ? { 'content-type': entry.accepts } : {}, payload: entry.accepts ? '{}' : undefined })
    assert.notEqual(probe.statusCode, 404, `${id} at ${path}`)
  }
})

test('IRD uses public-url when configured, whatever the Host header', async () => {
  const other = rfcServer({ publicUrl: 'https://alto.isp.example/' })
  const ird = (await other.app.inject({ url: '/', headers: { host: 'evil.example' } })).json()
  assert.equal(ird.resources['my-default-network-map'].uri, 'https://alto.isp.example/networkmap/my-default-network-map')
  await other.close()
})

test('GET answers carry ETag and Cache-Control; If-None-Match gives 304; HEAD has no body', async () => {
  const first = await server.app.inject({ url: '/networkmap/my-default-network-map' })
  const etag = first.headers.etag as string
  assert.match(etag, /^"[A-Za-z0-9_-]+"$/)
  assert.match(String(first.headers['cache-control']), /max-age=\d+/)
  const again = await server.app.inject({ url: '/networkmap/my-default-network-map', headers: { 'if-none-match': etag } })
  assert.equal(again.statusCode, 304)
  assert.equal(again.body, '')
  const stale = await server.app.inject({ url: '/networkmap/my-default-network-map', headers: { 'if-none-match': '"other"' } })
  assert.equal(stale.statusCode, 200)
  const head = await server.app.inject({ method: 'HEAD', url: '/costmap/costmap-num-routingcost' })
  assert.equal(head.statusCode, 200)
  assert.equal(head.body, '')
})

test('large answers are gzipped when asked, and only then', async () => {
  const spec = rfcSpec()
  // 300 PIDs make the full cost map far larger than the gzip threshold.
  const pids: Record<string, { ipv4: string[] }> = {}
  const costs: Record<string, Record<string, number>> = {}
  for (let i = 0; i < 300; i++) pids[`P${i}`] = { ipv4: [`10.${i >> 8}.${i & 255}.0/24`] }
  for (let i = 0; i < 300; i++) costs[`P${i}`] = { [`P${(i + 1) % 300}`]: i }
  spec.networkMaps.push({ id: 'big', pids })
  spec.costMaps.push({ networkMap: 'big', metric: 'routingcost', costs })
  const big = rfcServer({}, buildSnapshot(spec))
  const plain = await big.app.inject({ url: '/networkmap/big' })
  assert.equal(plain.headers['content-encoding'], undefined)
  const zipped = await big.app.inject({ url: '/networkmap/big', headers: { 'accept-encoding': 'br, gzip' } })
  assert.equal(zipped.headers['content-encoding'], 'gzip')
  assert.deepEqual(JSON.parse(gunzipSync(zipped.rawPayload).toString()), plain.json())
  const refused = await big.app.inject({ url: '/networkmap/big', headers: { 'accept-encoding': 'gzip;q=0' } })
  assert.equal(refused.headers['content-encoding'], undefined)
  const ecs = await big.app.inject({
    method: 'POST',
    url: '/endpointcost/big-endpoint-cost',
    headers: { 'content-type': MT.endpointCostParams, 'accept-encoding': 'gzip' },
    payload: JSON.stringify({ 'cost-type': { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' }, endpoints: { srcs: ['ipv4:10.0.5.1'], dsts: Array.from({ length: 300 }, (_, i) => `ipv4:10.${i >> 8}.${i & 255}.9`) } }),
  })
  assert.equal(ecs.statusCode, 200)
  assert.equal(ecs.headers['content-encoding'], undefined, 'small ECS answer stays plain')
  await big.close()
})

test('full ordinal cost map ranks the numerical costs densely over the whole map', async () => {
  const response = await server.app.inject({ url: '/costmap/costmap-ord-routingcost' })
  const body = response.json()
  assert.deepEqual(body.meta['cost-type'], { 'cost-mode': 'ordinal', 'cost-metric': 'routingcost' })
  // numerical values 1,5,10,15,20 -> ranks 1..5
  assert.deepEqual(body['cost-map'], {
    PID1: { PID1: 1, PID2: 2, PID3: 3 },
    PID2: { PID1: 2, PID2: 1, PID3: 4 },
    PID3: { PID1: 5, PID2: 4 },
  })
})

test('filtered cost map: empty lists mean all PIDs, unknown PIDs are ignored, constraints are ANDed', async () => {
  const numerical = { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' }
  const all = await post('/costmap/filtered-costmap', MT.costMapFilter, { 'cost-type': numerical, pids: { srcs: [], dsts: [] } })
  assert.deepEqual(all.json()['cost-map'], (await server.app.inject({ url: '/costmap/costmap-num-routingcost' })).json()['cost-map'])
  const noPids = await post('/costmap/filtered-costmap', MT.costMapFilter, { 'cost-type': numerical })
  assert.deepEqual(noPids.json()['cost-map'], all.json()['cost-map'])
  const unknown = await post('/costmap/filtered-costmap', MT.costMapFilter, { 'cost-type': numerical, pids: { srcs: ['PID2', 'NOPE', 'PID2'], dsts: ['PID3', 'PID1'] } })
  assert.deepEqual(unknown.json()['cost-map'], { PID2: { PID3: 15, PID1: 5 } })
  const constrained = await post('/costmap/filtered-costmap', MT.costMapFilter, { 'cost-type': numerical, constraints: ['ge 5', 'lt 15'] })
  assert.deepEqual(constrained.json()['cost-map'], { PID1: { PID2: 5, PID3: 10 }, PID2: { PID1: 5 } })
  const ordinal = await post('/costmap/filtered-costmap', MT.costMapFilter, { 'cost-type': { 'cost-mode': 'ordinal', 'cost-metric': 'routingcost' }, constraints: ['eq 1'] })
  assert.deepEqual(ordinal.json()['cost-map'], { PID1: { PID1: 1 }, PID2: { PID2: 1 } })
})

test('filtered network map: address-types restricts families; empty pids means all', async () => {
  const v6 = await post('/networkmap/my-default-network-map-filtered', MT.networkMapFilter, { pids: [], 'address-types': ['ipv6'] })
  assert.equal(v6.statusCode, 200)
  assert.deepEqual(v6.json()['network-map'], { PID1: {}, PID2: {}, PID3: { ipv6: ['::/0'] } })
  const unknown = await post('/networkmap/my-default-network-map-filtered', MT.networkMapFilter, { pids: ['PID9', 'PID2'] })
  assert.deepEqual(unknown.json()['network-map'], { PID2: { ipv4: ['198.51.100.128/25'] } })
})

test('endpoint properties: pid by longest-prefix match, IPv6, values only where defined', async () => {
  const response = await post('/endpointprop/endpoint-property', MT.endpointPropParams, {
    properties: ['my-default-network-map.pid', 'priv:ietf-example-prop'],
    endpoints: ['ipv4:198.51.100.200', 'ipv6:2001:db8::1', 'ipv4:192.0.2.34'],
  })
  assert.deepEqual(response.json()['endpoint-properties'], {
    'ipv4:198.51.100.200': { 'my-default-network-map.pid': 'PID2' },
    'ipv6:2001:db8::1': { 'my-default-network-map.pid': 'PID3' },
    'ipv4:192.0.2.34': { 'my-default-network-map.pid': 'PID1', 'priv:ietf-example-prop': '1' },
  })
})

test('endpoint costs: numerical, constraints, and the client address when srcs is absent', async () => {
  const numerical = { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' }
  const response = await post('/endpointcost/endpoint-cost', MT.endpointCostParams, {
    'cost-type': numerical,
    endpoints: { srcs: ['ipv4:198.51.100.130'], dsts: ['ipv4:192.0.2.1', 'ipv4:198.51.100.131', 'ipv6:2001:db8::2'] },
  })
  assert.deepEqual(response.json()['endpoint-cost-map'], { 'ipv4:198.51.100.130': { 'ipv4:192.0.2.1': 5, 'ipv4:198.51.100.131': 1, 'ipv6:2001:db8::2': 15 } })
  const constrained = await post('/endpointcost/endpoint-cost', MT.endpointCostParams, {
    'cost-type': numerical,
    constraints: ['le 5'],
    endpoints: { srcs: ['ipv4:198.51.100.130'], dsts: ['ipv4:192.0.2.1', 'ipv4:198.51.100.131', 'ipv6:2001:db8::2'] },
  })
  assert.deepEqual(constrained.json()['endpoint-cost-map'], { 'ipv4:198.51.100.130': { 'ipv4:192.0.2.1': 5, 'ipv4:198.51.100.131': 1 } })
  // inject's remote address is 127.0.0.1, which the RFC map puts in PID3.
  const implicit = await post('/endpointcost/endpoint-cost', MT.endpointCostParams, { 'cost-type': numerical, endpoints: { dsts: ['ipv4:192.0.2.1'] } })
  assert.deepEqual(implicit.json()['endpoint-cost-map'], { 'ipv4:127.0.0.1': { 'ipv4:192.0.2.1': 20 } })
})

test('several network maps: each gets its resources, the first is the default', async () => {
  const spec = rfcSpec()
  spec.networkMaps.push({ id: 'regional', pids: { north: { ipv4: ['10.0.0.0/9'] }, south: { ipv4: ['10.128.0.0/9'] } } })
  spec.costMaps.push({ networkMap: 'regional', metric: 'routingcost', costs: { north: { south: 7 }, south: { north: 7 } }, intraPid: 1 })
  spec.costMaps.push({ networkMap: 'regional', metric: 'hopcount', costs: { north: { south: 2 } }, ordinal: false })
  const multi = rfcServer({}, buildSnapshot(spec))
  const ird = (await multi.app.inject({ url: '/' })).json()
  assert.equal(ird.meta['default-alto-network-map'], 'my-default-network-map')
  assert.ok(ird.resources['regional-costmap-num-hopcount'])
  assert.deepEqual(ird.resources['regional-endpoint-cost'].capabilities['cost-type-names'], ['num-routingcost', 'ord-routingcost', 'num-hopcount'])
  const ecs = await multi.app.inject({
    method: 'POST',
    url: '/endpointcost/regional-endpoint-cost',
    headers: { 'content-type': MT.endpointCostParams },
    payload: JSON.stringify({ 'cost-type': { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' }, endpoints: { srcs: ['ipv4:10.1.1.1'], dsts: ['ipv4:10.200.0.1', 'ipv4:10.2.2.2', 'ipv4:192.0.2.1'] } }),
  })
  // 192.0.2.1 is in no PID of this map: left out.
  assert.deepEqual(ecs.json()['endpoint-cost-map'], { 'ipv4:10.1.1.1': { 'ipv4:10.200.0.1': 7, 'ipv4:10.2.2.2': 1 } })
  const regionalMap = (await multi.app.inject({ url: '/costmap/regional-costmap-num-routingcost' })).json()
  assert.deepEqual(regionalMap.meta['dependent-vtags'], [{ 'resource-id': 'regional', tag: multi.snapshot.networkMaps.get('regional')!.vtag }])
  await multi.close()
})

test('a new snapshot replaces the old one: new vtag, new ETag, dependent vtags follow', async () => {
  const swapping = rfcServer()
  const before = await swapping.app.inject({ url: '/networkmap/my-default-network-map' })
  const spec = rfcSpec()
  delete spec.networkMaps[0]!.vtag
  spec.networkMaps[0]!.pids.PID2 = { ipv4: ['198.51.100.128/26'] }
  swapping.setSnapshot(buildSnapshot(spec))
  const after = await swapping.app.inject({ url: '/networkmap/my-default-network-map' })
  assert.notEqual(after.headers.etag, before.headers.etag)
  const vtag = after.json().meta.vtag.tag
  assert.notEqual(vtag, before.json().meta.vtag.tag)
  const cost = (await swapping.app.inject({ url: '/costmap/costmap-num-routingcost' })).json()
  assert.equal(cost.meta['dependent-vtags'][0].tag, vtag)
  await swapping.close()
})

test('a request in progress when the snapshot is swapped is answered wholly from the old one', async () => {
  const swapping = rfcServer()
  await swapping.app.ready()
  const { PassThrough } = await import('node:stream')
  const body = new PassThrough()
  const pending = swapping.app.inject({ method: 'POST', url: '/endpointprop/endpoint-property', headers: { 'content-type': MT.endpointPropParams }, payload: body })
  await new Promise((resolve) => setTimeout(resolve, 30))
  const spec = rfcSpec()
  spec.networkMaps[0]!.pids = { renamed: { ipv4: ['0.0.0.0/0'], ipv6: ['::/0'] } }
  spec.costMaps = []
  delete spec.networkMaps[0]!.vtag
  swapping.setSnapshot(buildSnapshot(spec))
  body.end(JSON.stringify({ properties: ['my-default-network-map.pid'], endpoints: ['ipv4:192.0.2.34'] }))
  const answer = (await pending).json()
  assert.deepEqual(answer['endpoint-properties'], { 'ipv4:192.0.2.34': { 'my-default-network-map.pid': 'PID1' } })
  assert.equal(answer.meta['dependent-vtags'][0].tag, 'da65eca2eb7a10ce8b059740b0b2e3f8eb1d4785')
  const after = await swapping.app.inject({ method: 'POST', url: '/endpointprop/endpoint-property', headers: { 'content-type': MT.endpointPropParams }, payload: JSON.stringify({ properties: ['my-default-network-map.pid'], endpoints: ['ipv4:192.0.2.34'] }) })
  assert.deepEqual(after.json()['endpoint-properties'], { 'ipv4:192.0.2.34': { 'my-default-network-map.pid': 'renamed' } })
  await swapping.close()
})
