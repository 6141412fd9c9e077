/**
 * The server-load scenario: request rates follow from the epoch, the cache lifetime and the
 * strategy, and redistribution spares the server.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loadNetwork } from '../../src/provisioning/load.ts'
import { runServerLoad } from '../../src/sim/scenarios/server-load.ts'
import type { SimNetwork } from '../../src/sim/network.ts'

const { snapshot, source } = loadNetwork({})
const networkMap = snapshot.defaultNetworkMap
const network: SimNetwork = { networkMap, costMap: snapshot.findCostMap(networkMap.resourceId, { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' })!.map, source }

test('per-peer ECS costs one query per peer per epoch; map clients revalidate once per max-age', () => {
  const r = runServerLoad({ network, peers: 3000, swarms: 30, duration: 600, session: 1e9, mapChangesPerHour: 0, seed: 1 })
  const by = Object.fromEntries(r.summary.loads.map((l) => [l.strategy, l]))
  assert.equal(r.summary.arrivals, 0)
  // 3000 peers / 30 s = 100 req/s.
  assert.ok(Math.abs(by.ecs!.meanPerSecond - 100) < 1, String(by.ecs!.meanPerSecond))
  // Two maps every 60 s: 3000 * 2 / 60 = 100 req/s, all 304 (nothing changed).
  assert.ok(Math.abs(by.map!.meanPerSecond - 100) < 1, String(by.map!.meanPerSecond))
  assert.equal(by.map!.fullResponses, 0)
  // One tracker: two conditional GETs a minute.
  assert.ok(Math.abs(by.tracker!.meanPerSecond - 2 / 60) < 0.01, String(by.tracker!.meanPerSecond))
  // One refresher per swarm: 30 * 2 / 60 = 1 req/s.
  assert.ok(Math.abs(by.dht!.meanPerSecond - 1) < 0.1, String(by.dht!.meanPerSecond))
})

test('a map change makes every map client fetch full maps once; DHT swarms once each', () => {
  const r = runServerLoad({ network, peers: 2000, swarms: 20, duration: 900, session: 1e9, mapChangesPerHour: 6, seed: 2 })
  const by = Object.fromEntries(r.summary.loads.map((l) => [l.strategy, l]))
  // Changes every 600 s from 300 s: one within 900 s.
  assert.equal(r.summary.mapChanges, 1)
  assert.equal(by.map!.fullResponses, 2 * 2000)
  assert.equal(by.dht!.fullResponses, 2 * 20)
  // The tracker starts with nothing cached: two maps at start, two after the change.
  assert.equal(by.tracker!.fullResponses, 4)
})

test('churn: arrivals fetch the IRD and full maps; redistribution keeps the server nearly idle', () => {
  const r = runServerLoad({ network, peers: 2000, duration: 1200, seed: 3 })
  const by = Object.fromEntries(r.summary.loads.map((l) => [l.strategy, l]))
  assert.ok(r.summary.arrivals > 1000)
  assert.ok(by.dht!.meanPerSecond < by.map!.meanPerSecond / 20)
  assert.ok(by.tracker!.meanPerSecond < by.dht!.meanPerSecond)
  assert.ok(by.map!.meanBytesPerSecond < by.ecs!.meanBytesPerSecond)
  assert.ok(by.dht!.dhtLookupsPerSecond > 0)
})

test('the same seed gives identical JSON', () => {
  const options = { network, peers: 500, duration: 300, seed: 4 }
  assert.equal(JSON.stringify(runServerLoad(options)), JSON.stringify(runServerLoad(options)))
})
