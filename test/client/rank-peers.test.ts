/**
 * rankPeers against the real server: both modes agree, ties are shuffled uniformly, the random
 * fraction is honoured, and a failing server never stops the application.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { AltoClient } from '../../src/client/client.ts'
import { rankPeers } from '../../src/client/rank-peers.ts'
import { seededRng } from '../../src/cost/rank.ts'
import { isAltoError } from '../../src/protocol/errors.ts'
import { buildSnapshot } from '../../src/provisioning/snapshot.ts'
import { defaultNetworkSpec } from '../../src/provisioning/default-network.ts'
import { createAltoServer } from '../../src/server/app.ts'
import { rfcServer } from '../helpers/rfc-server.ts'

const noRateLimit = { limits: { rateLimit: { max: 0, windowMs: 1000 } } }

async function rfc() {
  const server = rfcServer({ port: 0, ...noRateLimit })
  const url = await server.listen()
  const client = new AltoClient(url)
  return { server, client, url, close: async () => (await client.close(), await server.close()) }
}

// Self in PID1 (192.0.2.0/24). PID1 costs 1, PID2 (198.51.100.128/25) 5, PID3 (default) 10.
const local = ['192.0.2.10:6881', '192.0.2.11:6881', '192.0.2.12']
const near = ['198.51.100.200:6881', '198.51.100.201']
const far = ['203.0.113.1:6881', '[2001:db8::1]:6881', 'ipv4:8.8.8.8', '[::ffff:192.0.2.12]:1']

test('map and ecs modes rank the same, best first, with PID (map) and cost', async (t) => {
  const env = await rfc()
  t.after(env.close)
  const candidates = [...far, ...near, ...local]
  const byMap = await rankPeers(env.client, '192.0.2.1', candidates, { mode: 'map', randomFraction: 0, rng: seededRng(1) })
  const byEcs = await rankPeers(env.client, '192.0.2.1', candidates, { mode: 'ecs', randomFraction: 0, rng: seededRng(1) })
  assert.equal(byMap.guided, true)
  assert.equal(byMap.selfPid, 'PID1')
  assert.deepEqual(byMap.peers.map((p) => p.peer), byEcs.peers.map((p) => p.peer))
  assert.deepEqual(byMap.peers.map((p) => p.cost), [1, 1, 1, 5, 5, 10, 10, 10, 10])
  assert.deepEqual(byEcs.peers.map((p) => p.cost), [1, 1, 1, 5, 5, 10, 10, 10, 10])
  assert.deepEqual(byMap.peers.map((p) => p.pid), ['PID1', 'PID1', 'PID1', 'PID2', 'PID2', 'PID3', 'PID3', 'PID3', 'PID3'])
  assert.ok(byEcs.peers.every((p) => p.pid === undefined))
  const first = byMap.peers.find((p) => p.peer === '[2001:db8::1]:6881')!
  assert.deepEqual({ address: first.address, port: first.port }, { address: 'ipv6:2001:db8::1', port: 6881 })
  assert.equal(byMap.peers.find((p) => p.peer === '[::ffff:192.0.2.12]:1')!.pid, 'PID3', 'an IPv4-mapped IPv6 address is an IPv6 address')
})

test('map mode asks the server nothing per ranking once the maps are cached; ecs asks once per ranking', async (t) => {
  const env = await rfc()
  t.after(env.close)
  await env.client.rankPeers('192.0.2.1', local, { mode: 'map' })
  const before = env.client.stats.requests
  for (let i = 0; i < 50; i++) await env.client.rankPeers('192.0.2.1', [...far, ...near], { mode: 'map' })
  assert.equal(env.client.stats.requests, before)
  for (let i = 0; i < 5; i++) await env.client.rankPeers('192.0.2.1', [...far, ...near, `10.0.0.${i}`], { mode: 'ecs' })
  assert.equal(env.client.stats.requests, before + 5)
})

test('equal costs are shuffled uniformly', async (t) => {
  const env = await rfc()
  t.after(env.close)
  const rng = seededRng(42)
  const counts = new Map<string, number>()
  const runs = 3000
  for (let i = 0; i < runs; i++) {
    const ranking = await env.client.rankPeers('192.0.2.1', local, { randomFraction: 0, rng })
    const key = ranking.peers.map((p) => p.peer).join(' ')
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  assert.equal(counts.size, 6, 'all 3! orders occur')
  // Each order expected 500 times; a chi-square of 5 degrees of freedom stays under 20.5 (p = 0.001).
  const chi = [...counts.values()].reduce((sum, n) => sum + (n - runs / 6) ** 2 / (runs / 6), 0)
  assert.ok(chi < 20.5, `chi-square ${chi.toFixed(1)}`)
})

test('randomFraction gives that share of every prefix to random lower-ranked candidates', async (t) => {
  const env = await rfc()
  t.after(env.close)
  const localPeers = Array.from({ length: 20 }, (_, i) => `192.0.2.${100 + i}:6881`)
  const farPeers = Array.from({ length: 80 }, (_, i) => `203.0.113.${i + 1}:6881`)
  const rng = seededRng(7)
  let farInTop10 = 0
  const runs = 500
  for (let i = 0; i < runs; i++) {
    const { peers } = await env.client.rankPeers('192.0.2.1', [...farPeers, ...localPeers], { randomFraction: 0.2, rng })
    assert.equal(peers.length, 100)
    assert.equal(new Set(peers.map((p) => p.peer)).size, 100, 'each candidate once')
    const top = peers.slice(0, 10)
    assert.deepEqual(top.map((p) => p.random), [false, false, false, false, true, false, false, false, false, true])
    farInTop10 += top.filter((p) => p.cost === 10).length
  }
  // Two random draws among 98 remaining, 80 of them far: about 1.63 far peers per top ten.
  const mean = farInTop10 / runs
  assert.ok(mean > 1.45 && mean < 1.8, `mean far peers in top 10: ${mean}`)
  const { peers } = await env.client.rankPeers('192.0.2.1', [...farPeers, ...localPeers], { randomFraction: 0, rng })
  assert.ok(peers.slice(0, 20).every((p) => p.cost === 1), 'without random fraction the local peers come first')
})

test('ALTO down or erroring: candidates come back unguided in random order, with the reason', async () => {
  const env = await rfc()
  const ranking = await env.client.rankPeers('192.0.2.1', local, { costType: { 'cost-mode': 'numerical', 'cost-metric': 'hopcount' } })
  assert.equal(ranking.guided, false)
  assert.match(ranking.reason!, /no cost map of numerical\/hopcount/)
  assert.equal(ranking.peers.length, 3)
  await env.close()
  const down = new AltoClient(env.url, { retries: 0 })
  const unguided = await down.rankPeers('192.0.2.1', [...local, ...far], { mode: 'ecs' })
  assert.equal(unguided.guided, false)
  assert.match(unguided.reason!, /Cannot reach/)
  assert.deepEqual(new Set(unguided.peers.map((p) => p.peer)), new Set([...local, ...far]))
  assert.ok(unguided.peers.every((p) => p.cost === null && !p.random))
  await down.close()
})

test('bad addresses are refused with ALTO_ERR_BAD_ADDRESS', async (t) => {
  const env = await rfc()
  t.after(env.close)
  for (const bad of ['example.org:80', '192.0.2.1:99999', '[2001:db8::1', '300.1.1.1', '']) {
    await assert.rejects(env.client.rankPeers('192.0.2.1', [bad]), (error: unknown) => isAltoError(error) && error.code === 'ALTO_ERR_BAD_ADDRESS', bad)
  }
  await assert.rejects(env.client.rankPeers('nonsense', local), (error: unknown) => isAltoError(error) && error.code === 'ALTO_ERR_BAD_ADDRESS')
})

test('on the default network, a Warsaw peer prefers Warsaw, then Łódź, then Gdańsk, then transit', async (t) => {
  const server = createAltoServer(buildSnapshot(defaultNetworkSpec()), { port: 0, logger: pino({ level: 'silent' }) })
  const client = new AltoClient(await server.listen())
  t.after(async () => (await client.close(), await server.close()))
  const ranking = await client.rankPeers('10.1.2.3', ['198.51.100.9', '10.3.0.1', '10.6.0.1', '10.1.9.9'], { randomFraction: 0 })
  const pids = ranking.peers.map((p) => p.pid)
  assert.deepEqual(pids, ['region-warszawa', 'region-lodz', 'region-gdansk', 'transit'])
})
