/**
 * AltoClient against the real server on port 0: every typed call, ALTO errors, caching, secondary
 * IRDs; and transport faults a real server will not produce, injected with undici's MockAgent.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { MockAgent } from 'undici'
import { AltoClient } from '../../src/client/client.ts'
import { AltoProtocolError, isAltoError } from '../../src/protocol/errors.ts'
import { buildSnapshot } from '../../src/provisioning/snapshot.ts'
import { fixture, MT, rfcServer, rfcSpec } from '../helpers/rfc-server.ts'

const numerical = { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' } as const
const ordinal = { 'cost-mode': 'ordinal', 'cost-metric': 'routingcost' } as const

async function started(options = {}) {
  const server = rfcServer({ port: 0, limits: { rateLimit: { max: 0, windowMs: 1000 } }, ...options })
  const url = await server.listen()
  return { server, url }
}

function fakeClock(start = 1_000_000) {
  const clock = { t: start, slept: [] as number[], now: () => clock.t, sleep: async (ms: number) => void clock.slept.push(ms) }
  return clock
}

test('every typed call answers what the server serves', async (t) => {
  const { server, url } = await started()
  const client = new AltoClient(url)
  t.after(async () => {
    await client.close()
    await server.close()
  })
  assert.deepEqual(await client.networkMap(), fixture('rfc7285/network-map.json'))
  const costMap = await client.costMap('num-routingcost')
  assert.deepEqual(costMap['cost-map'], fixture('rfc7285/cost-map.json')['cost-map'])
  assert.deepEqual((await client.costMap(ordinal))['cost-map'].PID1, { PID1: 1, PID2: 2, PID3: 3 })
  assert.deepEqual(await client.filteredCostMap(fixture('rfc7285/filtered-cost-map.request.json')), fixture('rfc7285/filtered-cost-map.response.json'))
  assert.deepEqual((await client.filteredNetworkMap({ pids: ['PID2'] }))['network-map'], { PID2: { ipv4: ['198.51.100.128/25'] } })
  assert.deepEqual(await client.endpointProperties(fixture('rfc7285/endpoint-prop.request.json')), fixture('rfc7285/endpoint-prop.response.json'))
  assert.deepEqual(await client.endpointCosts(fixture('rfc7285/endpoint-cost.request.json')), fixture('rfc7285/endpoint-cost.response.json'))
  const constrained = await client.filteredCostMap({ 'cost-type': numerical, constraints: ['le 5'], pids: { srcs: ['PID1'] } })
  assert.deepEqual(constrained['cost-map'], { PID1: { PID1: 1, PID2: 5 } })
  const directory = await client.directory()
  assert.equal(directory.defaultNetworkMap, 'my-default-network-map')
  assert.equal(directory.endpointCost(ordinal).id, 'endpoint-cost')
})

test('an ALTO error answer becomes an AltoProtocolError with code, field and value', async (t) => {
  const { server, url } = await started()
  const client = new AltoClient(url)
  t.after(async () => {
    await client.close()
    await server.close()
  })
  await assert.rejects(
    client.endpointCosts({ 'cost-type': numerical, endpoints: { srcs: ['ipv4:192.0.2.1'], dsts: ['ipv4:999.0.0.1'] } }),
    (error: unknown) =>
      error instanceof AltoProtocolError && error.altoCode === 'E_INVALID_FIELD_VALUE' && error.field === 'endpoints/dsts' && error.value === 'ipv4:999.0.0.1' && error.statusCode === 400,
  )
  await assert.rejects(client.costMap({ 'cost-mode': 'numerical', 'cost-metric': 'hopcount' }), (error: unknown) => isAltoError(error) && error.code === 'ALTO_ERR_NO_RESOURCE')
  await assert.rejects(client.costMap('no-such-name'), /cost type named no-such-name/)
})

test('caching: within max-age no request; then a 304 revalidation; a new network map vtag drops the cost map', async (t) => {
  const { server, url } = await started({ maxAgeS: 60 })
  const clock = fakeClock()
  const client = new AltoClient(url, { clock })
  t.after(async () => {
    await client.close()
    await server.close()
  })
  await client.networkMap()
  const first = await client.costMap('num-routingcost')
  assert.deepEqual({ ...client.stats, bytesReceived: 0 }, { requests: 3, fullFetches: 3, notModified: 0, cacheHits: 0, queries: 0, bytesSent: 0, bytesReceived: 0 })
  assert.ok(client.stats.bytesReceived > 1000)
  assert.equal(await client.costMap('num-routingcost'), first, 'fresh: same object, no request')
  assert.equal(client.stats.requests, 3)
  clock.t += 61_000
  assert.equal(await client.costMap('num-routingcost'), first, 'stale: revalidated')
  assert.equal(client.stats.notModified, 1)
  assert.equal(client.stats.requests, 4)

  const spec = rfcSpec()
  delete spec.networkMaps[0]!.vtag
  spec.costMaps[0]!.costs.PID1!.PID2 = 7
  server.setSnapshot(buildSnapshot(spec))
  clock.t += 61_000
  const map = await client.networkMap()
  assert.notEqual(map.meta.vtag.tag, 'da65eca2eb7a10ce8b059740b0b2e3f8eb1d4785')
  // The cached cost map depended on the old vtag: fetched again in full although still "fresh".
  clock.t += 1_000
  const fullBefore = client.stats.fullFetches
  const second = await client.costMap('num-routingcost')
  assert.equal(client.stats.fullFetches, fullBefore + 1)
  assert.equal(second['cost-map'].PID1!.PID2, 7)
  assert.equal(second.meta['dependent-vtags'][0]!.tag, map.meta.vtag.tag)
})

test('concurrent identical requests share one exchange', async (t) => {
  const { server, url } = await started()
  const client = new AltoClient(url)
  t.after(async () => {
    await client.close()
    await server.close()
  })
  await client.directory()
  const before = client.stats.requests
  const maps = await Promise.all(Array.from({ length: 20 }, () => client.networkMap()))
  assert.equal(client.stats.requests, before + 1)
  assert.ok(maps.every((m) => m === maps[0]))
  const request = { 'cost-type': numerical, endpoints: { srcs: ['ipv4:192.0.2.1'], dsts: ['ipv4:198.51.100.200'] } }
  await Promise.all(Array.from({ length: 10 }, () => client.endpointCosts(request)))
  assert.equal(client.stats.requests, before + 2)
})

test('local guidance maps addresses to PIDs and costs, and is rebuilt only on change', async (t) => {
  const { server, url } = await started()
  const client = new AltoClient(url)
  t.after(async () => {
    await client.close()
    await server.close()
  })
  const guidance = await client.guidance('num-routingcost')
  const { parseTypedAddress } = await import('../../src/netmap/address.ts')
  const a = parseTypedAddress('ipv4:192.0.2.7')!
  const b = parseTypedAddress('ipv4:198.51.100.129')!
  assert.equal(guidance.pidOf(a), 'PID1')
  assert.equal(guidance.cost(a, b), 5)
  assert.equal(guidance.cost(b, parseTypedAddress('ipv6:2001:db8::9')!), 15)
  assert.equal(await client.guidance('num-routingcost'), guidance)
})

test('secondary IRDs are followed; relative URIs resolve against the IRD that lists them', async (t) => {
  const { server, url } = await started()
  // A root IRD on another server that names the ALTO server's IRD as a secondary one, and one
  // resource with a relative URI.
  const root = createServer((request, response) => {
    response.writeHead(200, { 'content-type': MT.directory })
    response.end(JSON.stringify({
      meta: { 'cost-types': {}, 'default-alto-network-map': 'my-default-network-map' },
      resources: {
        more: { uri: url, 'media-type': MT.directory },
        loop: { uri: '/', 'media-type': MT.directory },
        'local-map': { uri: 'maps/local', 'media-type': MT.networkMap },
      },
    }))
  })
  await new Promise<void>((resolve) => root.listen(0, '127.0.0.1', resolve))
  const rootUrl = `http://127.0.0.1:${(root.address() as AddressInfo).port}/ird/`
  const client = new AltoClient(rootUrl)
  t.after(async () => {
    await client.close()
    await server.close()
    await new Promise((resolve) => root.close(resolve))
  })
  const directory = await client.directory()
  assert.equal(directory.resource('local-map').uri, `${rootUrl}maps/local`)
  assert.equal(directory.resource('filtered-costmap').uri, `${url}costmap/filtered-costmap`)
  // cost-type-names of the secondary IRD resolve in the secondary IRD's own meta.
  assert.deepEqual(directory.resource('costmap-ord-routingcost').costTypes, [ordinal])
  assert.deepEqual((await client.endpointCosts(fixture('rfc7285/endpoint-cost.request.json')))['endpoint-cost-map'], fixture('rfc7285/endpoint-cost.response.json')['endpoint-cost-map'])
})

test('503 and 429 are retried after Retry-After, bounded; connection failures become ALTO_ERR_UNREACHABLE', async () => {
  const agent = new MockAgent()
  agent.disableNetConnect()
  const pool = agent.get('http://alto.test')
  const ird = JSON.stringify({ meta: { 'cost-types': {} }, resources: {} })
  pool.intercept({ path: '/', method: 'GET' }).reply(503, 'busy', { headers: { 'retry-after': '2' } })
  pool.intercept({ path: '/', method: 'GET' }).reply(429, 'slow down', { headers: { 'retry-after': '120' } })
  pool.intercept({ path: '/', method: 'GET' }).reply(200, ird, { headers: { 'content-type': MT.directory } })
  const clock = fakeClock()
  const client = new AltoClient('http://alto.test/', { dispatcher: agent, clock, rng: () => 0, retries: 2, maxBackoffMs: 30_000 })
  await client.directory()
  assert.deepEqual(clock.slept, [2000, 30_000], 'Retry-After honoured, capped by maxBackoffMs')

  pool.intercept({ path: '/', method: 'GET' }).reply(503, 'busy').times(3)
  const giveUp = new AltoClient('http://alto.test/', { dispatcher: agent, clock: fakeClock(), rng: () => 0, retries: 2 })
  await assert.rejects(giveUp.directory(), (error: unknown) => isAltoError(error) && error.code === 'ALTO_ERR_HTTP_STATUS' && error.statusCode === 503)

  pool.intercept({ path: '/', method: 'GET' }).replyWithError(new Error('socket hang up')).times(3)
  const clock3 = fakeClock()
  const unreachable = new AltoClient('http://alto.test/', { dispatcher: agent, clock: clock3, rng: () => 0.5, retries: 2, backoffMs: 100 })
  await assert.rejects(unreachable.directory(), (error: unknown) => isAltoError(error) && error.code === 'ALTO_ERR_UNREACHABLE' && /socket hang up/.test(error.message))
  assert.deepEqual(clock3.slept, [112.5, 225], 'exponential backoff with jitter')

  pool.intercept({ path: '/', method: 'GET' }).reply(200, '{"resources": 5}', { headers: { 'content-type': MT.directory } })
  const bad = new AltoClient('http://alto.test/', { dispatcher: agent })
  await assert.rejects(bad.directory(), (error: unknown) => isAltoError(error) && error.code === 'ALTO_ERR_BAD_RESPONSE' && /resources/.test(error.message))
  pool.intercept({ path: '/', method: 'GET' }).reply(200, '{}', { headers: { 'content-type': 'text/html' } })
  await assert.rejects(new AltoClient('http://alto.test/', { dispatcher: agent }).directory(), /Content-Type is text\/html/)
  await agent.close()
})

test('TLS with a custom CA and Basic credentials', async (t) => {
  const { selfSignedCertificate } = await import('../helpers/tls.ts')
  const { hashPassword } = await import('../../src/server/passwords.ts')
  const tls = selfSignedCertificate()
  const { server, url } = await started({ tls, auth: { users: [{ name: 'app', passwordHash: await hashPassword('pw', { N: 1024, r: 8, p: 1 }) }] } })
  const client = new AltoClient(url, { ca: tls.cert, credentials: { username: 'app', password: 'pw' } })
  const stranger = new AltoClient(url, { ca: tls.cert, retries: 0 })
  t.after(async () => {
    await client.close()
    await stranger.close()
    await server.close()
  })
  assert.equal((await client.networkMap()).meta.vtag['resource-id'], 'my-default-network-map')
  await assert.rejects(stranger.directory(), (error: unknown) => isAltoError(error) && error.statusCode === 401)
})

test('timeouts: a server that never answers fails the call within the bound', async (t) => {
  const silent = createServer(() => {})
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    silent.closeAllConnections()
    return new Promise((resolve) => silent.close(resolve))
  })
  const client = new AltoClient(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/`, { timeoutMs: 200, retries: 0 })
  const started = Date.now()
  await assert.rejects(client.directory(), (error: unknown) => isAltoError(error) && error.code === 'ALTO_ERR_UNREACHABLE')
  assert.ok(Date.now() - started < 5000)
  await client.close()
})
