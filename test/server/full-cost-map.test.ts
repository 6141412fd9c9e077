/**
 * Full cost map bodies built row by row, and large bodies gzipped off the event loop: the bytes
 * must be those of the one-object serialization they replace.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { gunzipSync } from 'node:zlib'
import { CostMap, seededRng } from '../../src/cost/index.ts'
import { buildSnapshot } from '../../src/provisioning/snapshot.ts'
import { LARGE_BODY, prepareBody, prepareBodyParts } from '../../src/server/prepared-body.ts'
import { costMapBodyParts, ResourceTable } from '../../src/server/resources.ts'
import { filteredCostMap } from '../../src/server/routes/cost-map.ts'
import type { CostMapBody } from '../../src/protocol/types.ts'
import { MT, rfcServer, rfcSpec } from '../helpers/rfc-server.ts'

const numerical = { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' } as const

/** The serialization the row-by-row bodies replace. */
function oneObject(meta: CostMapBody['meta'], map: CostMap): string {
  return JSON.stringify({ meta, 'cost-map': map.toData() })
}

function randomMap(pids: string[], seed: number): CostMap {
  const space = { pids, pidIndex: (pid: string) => pids.indexOf(pid) }
  const rng = seededRng(seed)
  const values = Float64Array.from({ length: pids.length ** 2 }, () => (rng() < 0.1 ? Number.NaN : Math.round(rng() * 30000) / 10))
  return CostMap.fromMatrix(space, numerical, values)
}

test('prepareBodyParts gives the bytes and ETag of prepareBody of the joined parts', () => {
  for (const parts of [['{"a":', '1}'], ['[', '"x",'.repeat(1000), '0]'], []]) {
    const joined = prepareBody(parts.join(''))
    const built = prepareBodyParts(parts)
    assert.deepEqual(built.bytes, joined.bytes)
    assert.equal(built.etag, joined.etag)
    assert.equal(built.gzip === undefined, joined.gzip === undefined)
    if (Buffer.isBuffer(built.gzip)) assert.deepEqual(gunzipSync(built.gzip), joined.bytes)
  }
})

test('a large body is gzipped off the event loop: a promise at first, then the gzipped bytes', async () => {
  const row = `"${'x'.repeat(1000)}",`
  const parts = ['[', ...Array.from({ length: Math.ceil(LARGE_BODY / row.length) }, () => row), '0]']
  const body = prepareBodyParts(parts)
  assert.ok(body.bytes.length >= LARGE_BODY)
  assert.equal(body.etag, prepareBody(parts.join('')).etag)
  assert.ok(body.gzip instanceof Promise)
  const gzipped = await body.gzip
  assert.ok(Buffer.isBuffer(gzipped))
  assert.equal(body.gzip, gzipped, 'the promise is replaced by its result')
  assert.deepEqual(gunzipSync(gzipped), body.bytes)
})

test('costMapBodyParts gives the bytes of JSON.stringify of the whole body object', () => {
  const meta = { 'dependent-vtags': [{ 'resource-id': 'net', tag: 'v1' }], 'cost-type': numerical }
  const map = randomMap(Array.from({ length: 40 }, (_, i) => `pid-${i}`), 3)
  assert.equal([...costMapBodyParts(meta, map)].join(''), oneObject(meta, map))
  assert.equal([...costMapBodyParts(meta, map.toOrdinal())].join(''), oneObject(meta, map.toOrdinal()))
  const empty = CostMap.fromData({ pids: ['A'], pidIndex: (pid) => (pid === 'A' ? 0 : -1) }, numerical, {})
  assert.equal([...costMapBodyParts(meta, empty)].join(''), oneObject(meta, empty))
})

test('a full cost map over 1 MB is served as before: same bytes, gzipped when asked, 304 on its ETag', async () => {
  const spec = rfcSpec()
  const pids: Record<string, { ipv4: string[] }> = {}
  const costs: Record<string, Record<string, number>> = {}
  const names = Array.from({ length: 300 }, (_, i) => `region-${String(i).padStart(3, '0')}`)
  const map = randomMap(names, 11)
  names.forEach((pid, i) => {
    pids[pid] = { ipv4: [`10.${i >> 8}.${i & 255}.0/24`] }
    costs[pid] = map.filterData([i], null, [])[pid] ?? {}
  })
  spec.networkMaps.push({ id: 'big', pids })
  spec.costMaps.push({ networkMap: 'big', metric: 'routingcost', costs })
  const snapshot = buildSnapshot(spec)
  const server = rfcServer({}, snapshot)
  try {
    const served = snapshot.findCostMap('big', numerical)!
    const networkMap = snapshot.networkMaps.get('big')!
    const expected = oneObject({ 'dependent-vtags': [{ 'resource-id': 'big', tag: networkMap.vtag }], 'cost-type': numerical }, served.map)
    assert.ok(expected.length > LARGE_BODY)

    const plain = await server.app.inject({ url: '/costmap/big-costmap-num-routingcost' })
    assert.equal(plain.statusCode, 200)
    assert.equal(plain.headers['content-encoding'], undefined)
    assert.equal(plain.body, expected)
    const zipped = await server.app.inject({ url: '/costmap/big-costmap-num-routingcost', headers: { 'accept-encoding': 'gzip' } })
    assert.equal(zipped.headers['content-encoding'], 'gzip')
    assert.equal(gunzipSync(zipped.rawPayload).toString(), expected)
    const again = await server.app.inject({ url: '/costmap/big-costmap-num-routingcost', headers: { 'if-none-match': String(plain.headers.etag) } })
    assert.equal(again.statusCode, 304)

    // Filtered answers are written as text too: they parse to the object answer.
    const request = { 'cost-type': numerical, pids: { srcs: ['region-007', 'region-100', 'nope'], dsts: ['region-299', 'region-000', 'region-007'] }, constraints: ['ge 100'] }
    const filtered = await server.app.inject({ method: 'POST', url: '/costmap/big-filtered-costmap', headers: { 'content-type': MT.costMapFilter }, payload: JSON.stringify(request) })
    assert.equal(filtered.statusCode, 200)
    const resource = new ResourceTable(snapshot, { costConstraints: true }).resolve('/costmap/big-filtered-costmap')!
    assert.deepEqual(filtered.json(), filteredCostMap(resource, request, true))
    const all = await server.app.inject({ method: 'POST', url: '/costmap/big-filtered-costmap', headers: { 'content-type': MT.costMapFilter }, payload: JSON.stringify({ 'cost-type': numerical }) })
    assert.equal(all.body, expected, 'a filter selecting everything answers the full map')
  } finally {
    await server.close()
  }
})
