/**
 * The fast lane (src/server/fast-lane.ts) against the full fastify path, over real sockets (the
 * lane sits in front of fastify's request handler, so `inject` never reaches it): the same bytes
 * for every body, the same policies (rate limit, access list, authentication, closing), and the
 * answer cache's rules (per snapshot, per client address).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { gunzipSync } from 'node:zlib'
import fc from 'fast-check'
import { request } from 'undici'
import type { AltoServer, AltoServerOptions } from '../../src/server/app.ts'
import { createAltoServer } from '../../src/server/app.ts'
import { buildSnapshot } from '../../src/provisioning/snapshot.ts'
import { hashPassword } from '../../src/server/passwords.ts'
import { body, resources } from '../helpers/alto-bodies.ts'
import { MT, rfcSnapshot, rfcSpec } from '../helpers/rfc-server.ts'

const ecs = resources.find((r) => r.type === MT.endpointCostParams)!
const ecsBody = JSON.stringify({
  'cost-type': { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' },
  endpoints: { srcs: ['ipv4:192.0.2.2'], dsts: ['ipv4:192.0.2.89', 'ipv4:198.51.100.34', 'ipv4:203.0.113.45'] },
})

async function started(options: AltoServerOptions): Promise<{ server: AltoServer; url: string }> {
  const server = createAltoServer(rfcSnapshot(), { port: 0, logLevel: 'silent', ...options })
  const url = await server.listen()
  return { server, url }
}

async function post(base: string, path: string, type: string, payload: string, headers: Record<string, string> = {}) {
  const response = await request(new URL(path, base), { method: 'POST', headers: { 'content-type': type, ...headers }, body: payload })
  const bytes = Buffer.from(await response.body.arrayBuffer())
  return { status: response.statusCode, headers: response.headers, bytes }
}

/** How many answers the lane's cache saw (it is consulted by the lane only). */
async function laneCount(server: AltoServer): Promise<number> {
  const metric = await server.metrics.registry.getSingleMetric('alto_answer_cache_total')!.get()
  return metric.values.reduce((sum, v) => sum + v.value, 0)
}

test('every body gets the same answer, byte for byte, on the fast lane and the full path', async () => {
  const lane = await started({ limits: { rateLimit: { max: 0, windowMs: 1000 } } })
  const full = await started({ limits: { rateLimit: { max: 0, windowMs: 1000 } }, fastLane: false })
  try {
    for (const resource of resources) {
      await fc.assert(
        fc.asyncProperty(body, fc.boolean(), async (payload, gzip) => {
          const headers: Record<string, string> = gzip ? { 'accept-encoding': 'gzip' } : {}
          const [a, b] = await Promise.all([post(lane.url, resource.url, resource.type, payload, headers), post(full.url, resource.url, resource.type, payload, headers)])
          assert.equal(a.status, b.status, payload)
          assert.notEqual(a.status, 500, payload)
          for (const name of ['content-type', 'cache-control', 'vary', 'content-encoding', 'retry-after']) assert.equal(a.headers[name], b.headers[name], `${name} for ${payload}`)
          const text = (r: typeof a) => (r.headers['content-encoding'] === 'gzip' ? gunzipSync(r.bytes) : r.bytes).toString()
          assert.equal(text(a), text(b), payload)
        }),
        { numRuns: 150, seed: 9 },
      )
    }
    assert.ok((await laneCount(lane.server)) > 0, 'the lane answered')
    assert.equal(await laneCount(full.server), 0, 'fastLane: false keeps every request on the full path')
  } finally {
    await Promise.all([lane.server.close(), full.server.close()])
  }
})

test('full maps (GET, 200 and 304, gzip or not) come out the same on both paths', async () => {
  const lane = await started({ limits: { rateLimit: { max: 0, windowMs: 1000 } } })
  const full = await started({ limits: { rateLimit: { max: 0, windowMs: 1000 } }, fastLane: false })
  try {
    const get = async (base: string, path: string, headers: Record<string, string>) => {
      const response = await request(new URL(path, base), { headers })
      return { status: response.statusCode, headers: response.headers, bytes: Buffer.from(await response.body.arrayBuffer()) }
    }
    const paths = ['/networkmap/my-default-network-map', '/costmap/costmap-num-routingcost', '/costmap/costmap-ord-routingcost', '/networkmap/my-default-network-map?x=1', '/networkmap/my-default-network-map/']
    const etag = (await get(full.url, paths[0]!, {})).headers.etag as string
    assert.match(etag, /^"/)
    const variants: Record<string, string>[] = [
      {},
      { 'accept-encoding': 'gzip' },
      { 'accept-encoding': 'gzip;q=0' },
      { 'if-none-match': etag },
      { 'if-none-match': `W/${etag}`, 'accept-encoding': 'gzip' },
      { 'if-none-match': '"other"' },
      { 'if-none-match': '*' },
      { accept: MT.networkMap },
      { accept: 'application/json' }, // 406 for a cost map and a network map alike: fastify answers
      { accept: '*/*', 'if-none-match': `"nope", ${etag}` },
    ]
    const before = lane.server.fastLane!.taken
    let answerable = 0 // requests that get a 200 or 304: the lane takes exactly those
    for (const path of paths) {
      for (const headers of variants) {
        const [a, b] = await Promise.all([get(lane.url, path, headers), get(full.url, path, headers)])
        const what = `${path} ${JSON.stringify(headers)}`
        assert.equal(a.status, b.status, what)
        for (const name of ['content-type', 'cache-control', 'vary', 'etag', 'content-encoding', 'content-length']) assert.equal(a.headers[name], b.headers[name], `${name}: ${what}`)
        assert.deepEqual(a.bytes, b.bytes, what)
        if (b.status < 400) answerable++
      }
    }
    const taken = lane.server.fastLane!.taken - before
    assert.equal(taken, answerable, 'the lane answered every GET that gets a 200 or 304, and no other')
    assert.ok(answerable >= paths.length * 8)
    assert.equal(full.server.fastLane, undefined)
  } finally {
    await Promise.all([lane.server.close(), full.server.close()])
  }
})

test('the rate limit counts requests of both paths and answers 429 with Retry-After', async () => {
  const { server, url } = await started({ limits: { rateLimit: { max: 3, windowMs: 60_000 } } })
  try {
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) statuses.push((await post(url, ecs.url, ecs.type, ecsBody)).status)
    statuses.push((await request(url, { headers: { accept: MT.directory } }).then(async (r) => (await r.body.dump(), r.statusCode))))
    const refused = await post(url, ecs.url, ecs.type, ecsBody)
    assert.deepEqual(statuses, [200, 200, 200, 429], 'three POSTs on the lane, then the GET is the fourth')
    assert.equal(refused.status, 429)
    assert.ok(Number(refused.headers['retry-after']) >= 1)
    assert.equal(JSON.parse(refused.bytes.toString()).code, 'ALTO_ERR_RATE_LIMITED')
  } finally {
    await server.close()
  }
})

test('a client outside the access list gets 403 from the lane\'s resources too', async () => {
  const { server, url } = await started({ access: { allow: ['192.0.2.0/24'] } })
  try {
    const refused = await post(url, ecs.url, ecs.type, ecsBody)
    assert.equal(refused.status, 403)
    assert.equal(await laneCount(server), 0)
  } finally {
    await server.close()
  }
})

test('with authentication, every request takes the full path and needs credentials', async () => {
  const { server, url } = await started({ auth: { users: [{ name: 'peer', passwordHash: await hashPassword('secret') }] } })
  try {
    assert.equal((await post(url, ecs.url, ecs.type, ecsBody)).status, 401)
    const ok = await post(url, ecs.url, ecs.type, ecsBody, { authorization: `Basic ${Buffer.from('peer:secret').toString('base64')}` })
    assert.equal(ok.status, 200)
    assert.equal(await laneCount(server), 0)
  } finally {
    await server.close()
  }
})

test('the answer cache: kept the second time, then hits; a new snapshot is computed afresh', async () => {
  const { server, url } = await started({})
  try {
    const values = async () => Object.fromEntries((await server.metrics.registry.getSingleMetric('alto_answer_cache_total')!.get()).values.map((v) => [v.labels.result, v.value]))
    const first = await post(url, ecs.url, ecs.type, ecsBody)
    const second = await post(url, ecs.url, ecs.type, ecsBody)
    assert.deepEqual(await values(), { miss: 2 }, 'seen once: noted, not kept; seen twice: kept')
    const third = await post(url, ecs.url, ecs.type, ecsBody)
    assert.deepEqual(await values(), { miss: 2, hit: 1 })
    assert.equal(second.bytes.toString(), first.bytes.toString())
    assert.equal(third.bytes.toString(), first.bytes.toString())

    // New costs: the old answer must not be served from the cache.
    const spec = rfcSpec()
    const costs = spec.costMaps[0]!.costs
    for (const row of Object.values(costs)) for (const dst of Object.keys(row)) row[dst] = row[dst]! + 100
    server.setSnapshot(buildSnapshot(spec))
    const fresh = await post(url, ecs.url, ecs.type, ecsBody)
    assert.notEqual(fresh.bytes.toString(), first.bytes.toString())
    const before = JSON.parse(first.bytes.toString())['endpoint-cost-map']['ipv4:192.0.2.2']
    const after = JSON.parse(fresh.bytes.toString())['endpoint-cost-map']['ipv4:192.0.2.2']
    for (const dst of Object.keys(before)) assert.equal(after[dst], before[dst] + 100, dst)
    assert.deepEqual(await values(), { miss: 3, hit: 1 })

    // No srcs: the answer is about the client's own address, so the address is part of the key.
    const noSrcs = JSON.stringify({ 'cost-type': { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' }, endpoints: { dsts: ['ipv4:192.0.2.89'] } })
    const viaV4 = await post(url, ecs.url, ecs.type, noSrcs)
    assert.equal(viaV4.status, 200)
    assert.deepEqual(Object.keys(JSON.parse(viaV4.bytes.toString())['endpoint-cost-map']), ['ipv4:127.0.0.1'])
  } finally {
    await server.close()
  }
})

test('answerCacheBytes: 0 turns the cache off: nothing is looked up or kept', async () => {
  const { server, url } = await started({ answerCacheBytes: 0 })
  try {
    for (let i = 0; i < 3; i++) assert.equal((await post(url, ecs.url, ecs.type, ecsBody)).status, 200)
    assert.equal(await laneCount(server), 0, 'no key is made when the cache is off')
  } finally {
    await server.close()
  }
})
