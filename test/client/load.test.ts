/**
 * Load reduction (seed 003): 1,000 clients each ranking 100 candidates every 30 s epoch for 10
 * epochs against one real server. `map` mode costs at most one full fetch per map version plus
 * revalidations; `ecs` mode one query per ranking. Requests are counted on both sides.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { AltoClient } from '../../src/client/client.ts'
import { seededRng } from '../../src/cost/rank.ts'
import { buildSnapshot } from '../../src/provisioning/snapshot.ts'
import { defaultNetworkSpec } from '../../src/provisioning/default-network.ts'
import { createAltoServer, type AltoServer } from '../../src/server/app.ts'

const CLIENTS = 1000
const CANDIDATES = 100
const EPOCHS = 10
const EPOCH_MS = 30_000

async function serverRequests(server: AltoServer): Promise<number> {
  const metric = await server.metrics.requests.get()
  return metric.values.reduce((sum, v) => sum + v.value, 0)
}

async function run(mode: 'map' | 'ecs', maxAgeS = 60) {
  const server = createAltoServer(buildSnapshot(defaultNetworkSpec()), {
    port: 0,
    logger: pino({ level: 'silent' }),
    // 1,000 clients share this process with the server: its overload guard would shed requests
    // (correctly) and make the counts depend on machine load. Counting is what this test is for.
    limits: { rateLimit: { max: 0, windowMs: 1000 }, overload: { maxEventLoopDelayMs: 0, maxInFlight: 0 } },
    maxAgeS,
  })
  const url = await server.listen()
  const rng = seededRng(2014)
  const clock = { t: 0, now: () => clock.t, sleep: async () => {} }
  // Peers spread over the default network's regions (10.R.x.y) and the rest of the world.
  const address = () => (rng() < 0.8 ? `10.${1 + Math.floor(rng() * 14)}.${Math.floor(rng() * 256)}.${1 + Math.floor(rng() * 254)}` : `198.51.100.${1 + Math.floor(rng() * 254)}`)
  const clients = Array.from({ length: CLIENTS }, () => ({ client: new AltoClient(url, { clock, timeoutMs: 60_000 }), self: address() }))
  let guided = 0
  try {
    for (let epoch = 0; epoch < EPOCHS; epoch++) {
      for (let i = 0; i < CLIENTS; i += 100) {
        await Promise.all(
          clients.slice(i, i + 100).map(async ({ client, self }) => {
            const candidates = Array.from({ length: CANDIDATES }, address)
            const ranking = await client.rankPeers(self, candidates, { mode, rng })
            if (ranking.guided) guided++
          }),
        )
      }
      clock.t += EPOCH_MS
    }
    const totals = { requests: 0, fullFetches: 0, notModified: 0, queries: 0, bytes: 0 }
    for (const { client } of clients) {
      const s = client.stats
      totals.requests += s.requests
      totals.fullFetches += s.fullFetches
      totals.notModified += s.notModified
      totals.queries += s.queries
      totals.bytes += s.bytesSent + s.bytesReceived
    }
    return { ...totals, guided, atServer: await serverRequests(server) }
  } finally {
    await Promise.all(clients.map(({ client }) => client.close()))
    await server.close()
  }
}

test(`load: ${CLIENTS} clients x ${CANDIDATES} candidates x ${EPOCHS} epochs, map mode vs ecs mode`, async (t) => {
  const map = await run('map')
  const ecs = await run('ecs')
  t.diagnostic(`map: ${JSON.stringify(map)}`)
  t.diagnostic(`ecs: ${JSON.stringify(ecs)}`)
  const rankings = CLIENTS * EPOCHS
  assert.equal(map.guided, rankings)
  assert.equal(ecs.guided, rankings)
  // map: IRD, network map and cost map fetched once per client (one version), no queries.
  assert.equal(map.fullFetches, CLIENTS * 3)
  assert.equal(map.queries, 0)
  // After that only revalidations, one per map each time the 60 s max-age has run out.
  assert.ok(map.notModified > 0 && map.notModified <= CLIENTS * 2 * (EPOCHS / 2))
  assert.equal(map.requests, map.fullFetches + map.notModified)
  assert.equal(map.atServer, map.requests, 'the server saw exactly what the clients sent')
  // ecs: one query per ranking, plus the IRD once per client.
  assert.equal(ecs.queries, rankings)
  assert.equal(ecs.requests, rankings + CLIENTS)
  assert.equal(ecs.atServer, ecs.requests)
  // With a 60 s max-age and 30 s epochs the request counts come out even (11 per client); the
  // difference is in what they carry: map-mode revalidations are bodyless 304s.
  assert.ok(map.bytes < ecs.bytes / 3, `map ${map.bytes} bytes vs ecs ${ecs.bytes} bytes`)
})

test('load: with max-age=300, map mode needs no revalidation within ten 30 s epochs', async (t) => {
  const map = await run('map', 300)
  t.diagnostic(`map, max-age 300: ${JSON.stringify(map)}`)
  assert.equal(map.requests, CLIENTS * 3)
  assert.equal(map.notModified, 0)
})
