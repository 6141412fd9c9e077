import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { AltoClient } from '../../src/client/client.ts'
import { buildSnapshot } from '../../src/provisioning/snapshot.ts'
import { encodeBundle, type Bundle } from '../../src/redistribution/bundle.ts'
import { DhtNode, parseBootstrap } from '../../src/redistribution/dht-node.ts'
import { httpGet } from '../../src/redistribution/http.ts'
import { verifyBundle } from '../../src/redistribution/verify.ts'
import { BUNDLE_PATH, resourceKey, SharingPeer, type Obtained } from '../../src/redistribution/sharing-peer.ts'
import { MT, nextVersionSpec, startSigningServer, TestClock, type SigningServer } from './helpers.ts'

const PEERS = 20
const NETWORK_MAP = 'networkmap/my-default-network-map'
const NUM_COSTS = 'costmap/costmap-num-routingcost'
const ORD_COSTS = 'costmap/costmap-ord-routingcost'
const MAP_PATHS = ['/', `/${NETWORK_MAP}`, `/${NUM_COSTS}`, `/${ORD_COSTS}`]

/** Start `count` peers: the first is the DHT's first node, the others join through it. */
async function startPeers(t: { after(fn: () => unknown): void }, alto: SigningServer, count: number, clock: TestClock): Promise<SharingPeer[]> {
  const first = await SharingPeer.start({ server: alto.url, bootstrap: [], now: clock.now, lookupTimeoutMs: 3000 })
  const peers = [first]
  t.after(() => Promise.all(peers.map((p) => p.close())))
  for (let i = 1; i < count; i++) peers.push(await SharingPeer.start({ server: alto.url, bootstrap: [first.dhtAddress], now: clock.now, lookupTimeoutMs: 3000 }))
  return peers
}

/** What an application peer wants: the IRD, the default network map and both cost maps. */
async function fetchAll(peer: SharingPeer): Promise<Obtained[]> {
  return [await peer.ird(), await peer.networkMap(), await peer.costMap('num-routingcost'), await peer.costMap('ord-routingcost')]
}

function mapRequests(alto: SigningServer): Record<string, number> {
  return Object.fromEntries(MAP_PATHS.map((p) => [p, alto.counts.get(p) ?? 0]))
}

function mapBytes(alto: SigningServer): number {
  return MAP_PATHS.reduce((sum, p) => sum + (alto.bytes.get(p) ?? 0), 0)
}

test('twenty peers share the maps over the DHT: the server sees one fetch per resource version, every peer the same verified bytes', { timeout: 60_000 }, async (t) => {
  const clock = new TestClock()
  const alto = await startSigningServer({ now: clock.now, lifetimeS: 60 })
  t.after(() => alto.close())
  const peers = await startPeers(t, alto, PEERS, clock)
  assert.ok(peers.every((p) => p.host === '127.0.0.1'))

  // The first peer asks the server; the 19 others then all ask at once.
  const started = performance.now()
  const firstResults = await fetchAll(peers[0]!)
  assert.deepEqual(firstResults.map((r) => r.source), ['server', 'server', 'server', 'server'])
  const rest = await Promise.all(peers.slice(1).map(fetchAll))
  const elapsedMs = performance.now() - started
  for (const results of rest) assert.deepEqual(results.map((r) => r.source), ['peer', 'peer', 'peer', 'peer'])

  assert.deepEqual(mapRequests(alto), { '/': 1, [`/${NETWORK_MAP}`]: 1, [`/${NUM_COSTS}`]: 1, [`/${ORD_COSTS}`]: 1 })
  assert.equal(alto.counts.get('/attestation-keys'), PEERS, 'each peer reads the JWKS from the server itself (its trust anchor)')

  const served = peers.reduce((n, p) => n + p.stats.served, 0)
  assert.equal(served, (PEERS - 1) * 4, 'every bundle a peer took came from another peer')
  t.diagnostic(`with sharing: ${PEERS} peers x 4 resources in ${elapsedMs.toFixed(0)} ms; server map requests ${JSON.stringify(mapRequests(alto))}, map bytes ${mapBytes(alto)}, JWKS requests ${alto.counts.get('/attestation-keys')}`)

  // Identical verified bytes everywhere, and the server's own bytes (fetched here once more).
  for (const path of MAP_PATHS) {
    const uri = `${alto.url}${path.slice(1)}`
    const direct = (await httpGet(uri, path === '/' ? MT.directory : path.includes('costmap') ? MT.costMap : MT.networkMap)).body
    for (const peer of peers) assert.ok(peer.held().get(uri)?.bundle.response.body.equals(direct), `${uri} at ${peer.url}`)
  }

  // A new version: the old bundles expire, the first peer to ask after that goes to the server,
  // everyone else gets the new version from peers.
  const oldNetworkMap = peers[5]!.held().get(`${alto.url}${NETWORK_MAP}`)!.bundle
  alto.setSnapshot(buildSnapshot(nextVersionSpec()))
  await verifyBundle(oldNetworkMap, { uri: `${alto.url}${NETWORK_MAP}` }, { keys: peers[5]!.keys, now: clock.now })
  clock.advance(66_000) // past exp and the verifier's 5 s tolerance
  await assert.rejects(verifyBundle(oldNetworkMap, { uri: `${alto.url}${NETWORK_MAP}` }, { keys: peers[5]!.keys, now: clock.now }), { reason: 'expired' })

  const renewed = await fetchAll(peers[3]!)
  assert.deepEqual(renewed.map((r) => r.source), ['server', 'server', 'server', 'server'])
  assert.equal((renewed[1]!.verified.json as any).meta.vtag.tag, 'version-two-of-the-map')
  const others = await Promise.all(peers.filter((_, i) => i !== 3).map(fetchAll))
  for (const results of others) assert.deepEqual(results.map((r) => r.source), ['peer', 'peer', 'peer', 'peer'])
  // One fetch per resource per version, plus the direct reads of the check above.
  assert.deepEqual(mapRequests(alto), { '/': 3, [`/${NETWORK_MAP}`]: 3, [`/${NUM_COSTS}`]: 3, [`/${ORD_COSTS}`]: 3 })
  t.diagnostic(`after a new version: server map requests ${JSON.stringify(mapRequests(alto))} (one each was this test's own check), JWKS requests ${alto.counts.get('/attestation-keys')}`)
  for (const peer of peers) {
    const map = peer.held().get(`${alto.url}${NETWORK_MAP}`)!
    assert.equal((map.json as any).meta.vtag.tag, 'version-two-of-the-map')
    assert.ok(map.bundle.response.body.equals(renewed[1]!.verified.bundle.response.body))
    const costs = peer.held().get(`${alto.url}${NUM_COSTS}`)!
    assert.deepEqual(costs.claims['dependent-vtags'], [{ 'resource-id': 'my-default-network-map', tag: 'version-two-of-the-map' }])
  }
})

test('without sharing, twenty clients cost the server twenty fetches of every resource', { timeout: 30_000 }, async (t) => {
  const alto = await startSigningServer({ lifetimeS: 60 })
  t.after(() => alto.close())
  const clients = Array.from({ length: PEERS }, () => new AltoClient(alto.url))
  t.after(() => Promise.all(clients.map((c) => c.close())))
  await Promise.all(clients.map(async (c) => [await c.networkMap(), await c.costMap('num-routingcost'), await c.costMap('ord-routingcost')]))
  assert.deepEqual(mapRequests(alto), { '/': PEERS, [`/${NETWORK_MAP}`]: PEERS, [`/${NUM_COSTS}`]: PEERS, [`/${ORD_COSTS}`]: PEERS })
  t.diagnostic(`without sharing: server map requests ${JSON.stringify(mapRequests(alto))}, map bytes ${mapBytes(alto)}`)
})

test('peers arriving 25 ms apart, with no holder at first: the server sees about one fetch per resource', { timeout: 60_000 }, async (t) => {
  const clock = new TestClock()
  const alto = await startSigningServer({ now: clock.now, lifetimeS: 60 })
  t.after(() => alto.close())
  const peers = await startPeers(t, alto, PEERS, clock)
  // Arrivals 25 ms apart: the first arrivals overlap, later ones find holders.
  await Promise.all(peers.map(async (peer, i) => {
    await new Promise((resolve) => setTimeout(resolve, i * 25))
    return fetchAll(peer)
  }))
  const counts = mapRequests(alto)
  for (const path of MAP_PATHS) assert.ok(counts[path]! < PEERS / 2, `${path}: ${counts[path]} server fetches`)
  t.diagnostic(`staggered arrivals (25 ms apart): server map requests ${JSON.stringify(counts)}, map bytes ${mapBytes(alto)}`)
})

test('twenty peers asking at the same instant, before anyone holds a bundle, all go to the server (the worst case)', { timeout: 60_000 }, async (t) => {
  const clock = new TestClock()
  const alto = await startSigningServer({ now: clock.now, lifetimeS: 60 })
  t.after(() => alto.close())
  const peers = await startPeers(t, alto, PEERS, clock)
  const results = await Promise.all(peers.map(fetchAll))
  const counts = mapRequests(alto)
  for (const path of MAP_PATHS) assert.ok(counts[path]! >= 1 && counts[path]! <= PEERS, `${path}: ${counts[path]} server fetches`)
  const first = results[0]!.map((r) => r.verified.bundle.response.body)
  for (const r of results) r.forEach((o, i) => assert.ok(o.verified.bundle.response.body.equals(first[i]!)))
  t.diagnostic(`simultaneous arrivals: server map requests ${JSON.stringify(counts)}, map bytes ${mapBytes(alto)}`)
})

test('a holder serving a forged bundle is passed over with its reason, and the server answers instead', { timeout: 30_000 }, async (t) => {
  const clock = new TestClock()
  const alto = await startSigningServer({ now: clock.now, lifetimeS: 60 })
  t.after(() => alto.close())
  const [honest] = await startPeers(t, alto, 1, clock)
  await honest!.ird()

  // A forger on the same DHT, holding a flipped-byte network map and a numerical cost map
  // offered as the ordinal one.
  const networkMapUri = `${alto.url}${NETWORK_MAP}`
  const bundleOf = async (path: string, mediaType: string): Promise<Bundle> => {
    const answer = await httpGet(`${alto.url}${path}`, mediaType)
    return { attestation: String(answer.headers['alto-attestation']), request: { method: 'GET', uri: `${alto.url}${path}`, contentType: null, body: Buffer.alloc(0) }, response: { contentType: mediaType, body: answer.body } }
  }
  const genuine = await bundleOf(NETWORK_MAP, MT.networkMap)
  const flipped = Buffer.from(genuine.response.body)
  flipped[30] = flipped[30]! ^ 0x01
  const forged = new Map([
    [resourceKey(networkMapUri).toString('hex'), encodeBundle({ ...genuine, response: { ...genuine.response, body: flipped } })],
    [resourceKey(`${alto.url}${ORD_COSTS}`).toString('hex'), encodeBundle(await bundleOf(NUM_COSTS, MT.costMap))],
  ])
  const forger = createServer((request, response) => {
    const bundle = forged.get((request.url ?? '').slice(BUNDLE_PATH.length))
    response.writeHead(bundle ? 200 : 404).end(bundle)
  })
  await new Promise<void>((resolve) => forger.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise((resolve) => forger.close(resolve)))
  const forgerDht = await DhtNode.start({ host: '127.0.0.1', bootstrap: [honest!.dhtAddress] })
  t.after(() => forgerDht.close())
  const forgerPort = (forger.address() as AddressInfo).port
  for (const key of forged.keys()) await forgerDht.announce(Buffer.from(key, 'hex'), forgerPort)

  const seeker = await SharingPeer.start({ server: alto.url, bootstrap: [honest!.dhtAddress], now: clock.now })
  t.after(() => seeker.close())
  const warnings: { reason?: string; holder?: string }[] = []
  seeker.on('warning', (w) => warnings.push(w))
  const before = alto.counts.get(`/${NETWORK_MAP}`) ?? 0
  const map = await seeker.networkMap()
  assert.equal(map.source, 'server')
  assert.ok(map.verified.bundle.response.body.equals(genuine.response.body))
  assert.equal(alto.counts.get(`/${NETWORK_MAP}`), before + 1)
  const ordinal = await seeker.costMap('ord-routingcost')
  assert.equal(ordinal.source, 'server')
  assert.deepEqual(seeker.stats.rejected, { 'response-digest': 1, 'wrong-cost-type': 1 })
  assert.deepEqual(warnings.filter((w) => w.reason).map((w) => [w.reason, w.holder]), [['response-digest', `127.0.0.1:${forgerPort}`], ['wrong-cost-type', `127.0.0.1:${forgerPort}`]])
})

test('endpoint cost answers are never shared', async (t) => {
  const alto = await startSigningServer()
  t.after(() => alto.close())
  const peer = await SharingPeer.start({ server: alto.url, bootstrap: [] })
  t.after(() => peer.close())
  await assert.rejects(peer.obtain({ uri: `${alto.url}endpointcost/endpoint-cost`, mediaType: MT.endpointCost, request: { 'cost-type': { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' } } }), { code: 'ALTO_ERR_NO_RESOURCE' })
  await assert.rejects(peer.obtain({ uri: `${alto.url}costmap/filtered-costmap`, mediaType: MT.costMap, method: 'POST' }), { code: 'ALTO_ERR_NO_RESOURCE' })
})

test('DHT bootstrap is explicit: IPV4:PORT entries only', () => {
  assert.deepEqual(parseBootstrap('127.0.0.1:6881, 127.0.0.2:7000'), ['127.0.0.1:6881', '127.0.0.2:7000'])
  assert.deepEqual(parseBootstrap(''), [])
  assert.throws(() => parseBootstrap('router.bittorrent.com:6881'), { code: 'ALTO_ERR_USAGE' })
  assert.throws(() => parseBootstrap('127.0.0.1'), { code: 'ALTO_ERR_USAGE' })
  assert.throws(() => parseBootstrap('127.0.0.1:0'), { code: 'ALTO_ERR_USAGE' })
})
