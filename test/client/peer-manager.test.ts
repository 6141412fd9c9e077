/**
 * PeerManager against the real server on a fake clock: promotion follows cost with random slots,
 * slow and data-less peers die (after a grace epoch), only new candidates cost a query, a new
 * network map re-ranks everyone in map mode, epochs go on unguided when ALTO is down, and the
 * epoch timer is cleaned up and never keeps the process alive.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { AltoClient } from '../../src/client/client.ts'
import { PeerManager, type DemoteEvent, type EpochScheduler, type PeerManagerOptions, type PromoteEvent } from '../../src/client/peer-manager.ts'
import { seededRng } from '../../src/cost/rank.ts'
import type { EndpointCostRequest } from '../../src/protocol/types.ts'
import { buildSnapshot } from '../../src/provisioning/snapshot.ts'
import { rfcServer, rfcSpec } from '../helpers/rfc-server.ts'

const SELF = '192.0.2.1:6881'
// RFC 7285 example network, self in PID1: PID1 (192.0.2.0/24) costs 1, PID2 (198.51.100.128/25) 5, the rest (PID3) 10.
const local = (n: number, from = 10) => Array.from({ length: n }, (_, i) => `192.0.2.${from + i}:6881`)
const near = (n: number) => Array.from({ length: n }, (_, i) => `198.51.100.${200 + i}:6881`)
const far = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `203.0.113.${from + i}:6881`)

function fakeClock() {
  const clock = {
    t: 1_700_000_000_000,
    now: () => clock.t,
    sleep: (ms: number) => ((clock.t += ms), Promise.resolve()),
  }
  return clock
}

class SpyClient extends AltoClient {
  readonly dsts: string[][] = []
  override endpointCosts(request: EndpointCostRequest, networkMapId?: string) {
    this.dsts.push([...request.endpoints.dsts])
    return super.endpointCosts(request, networkMapId)
  }
}

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const server = rfcServer({ port: 0, limits: { rateLimit: { max: 0, windowMs: 1000 } } })
  const url = await server.listen()
  const clock = fakeClock()
  const client = new SpyClient(url, { clock })
  t.after(async () => (await client.close(), await server.close()))
  const manager = (options: Partial<PeerManagerOptions> = {}) => new PeerManager({ client, self: SELF, clock, rng: seededRng(1), ...options })
  return { server, url, clock, client, manager }
}

function record(manager: PeerManager) {
  const promoted: PromoteEvent[] = []
  const demoted: DemoteEvent[] = []
  manager.on('promote', (e) => promoted.push(e))
  manager.on('demote', (e) => demoted.push(e))
  return { promoted, demoted }
}

test('an epoch promotes the cheapest candidates in cost order and keeps the rest ordered by cost', async (t) => {
  const env = await setup(t)
  const manager = env.manager({ maxActive: 3, randomFraction: 0 })
  const events = record(manager)
  assert.deepEqual(manager.addCandidates([...far(3), ...near(2), ...local(2)]), { added: 7, known: 0, dead: 0, invalid: 0 })
  const summary = await manager.epoch()
  assert.deepEqual(events.promoted.map((e) => e.peer.cost), [1, 1, 5])
  assert.deepEqual(events.promoted.map((e) => e.slot), [0, 1, 2])
  assert.deepEqual(manager.active().map((p) => p.pid), ['PID1', 'PID1', 'PID2'])
  assert.ok(manager.active().every((p) => p.state === 'active' && !p.random))
  assert.deepEqual(manager.candidates().map((p) => p.cost), [5, 10, 10, 10])
  assert.deepEqual(
    { epoch: summary.epoch, candidates: summary.candidates, active: summary.active, dead: summary.dead, promoted: summary.promoted, ranked: summary.ranked, guided: summary.guided },
    { epoch: 1, candidates: 4, active: 3, dead: 0, promoted: 3, ranked: 7, guided: true },
  )
  assert.equal(summary.queries, 0, 'map mode ranks locally')
  assert.equal(summary.vtag, env.server.snapshot.networkMaps.get('my-default-network-map')!.vtag)
  assert.equal(summary.at, env.clock.t)
})

test('random slots: local peers dominate the active set, about randomFraction of it is not local', async (t) => {
  const env = await setup(t)
  let farActive = 0
  let total = 0
  const seeds = 40
  for (let seed = 1; seed <= seeds; seed++) {
    const manager = env.manager({ maxActive: 10, randomFraction: 0.2, rng: seededRng(seed) })
    manager.addCandidates([...far(90), ...local(10)])
    await manager.epoch()
    const active = manager.active()
    assert.equal(active.length, 10)
    assert.deepEqual(active.map((p) => p.random), [false, false, false, false, true, false, false, false, false, true], `seed ${seed}`)
    assert.ok(active.filter((p) => p.cost === 1).length >= 8, 'every cost slot holds a local peer')
    farActive += active.filter((p) => p.cost !== 1).length
    total += active.length
  }
  // Two random slots in ten, each drawn among 92 remaining of which 90 are far: 19.6% expected.
  const share = farActive / total
  assert.ok(share > 0.15 && share <= 0.2, `non-local share ${share}`)
})

test('slow, data-less and unreachable peers die, and their slots are refilled next by cost', async (t) => {
  const env = await setup(t)
  const manager = env.manager({ maxActive: 3, randomFraction: 0, minThroughput: 1000 })
  const events = record(manager)
  manager.addCandidates([...local(3), ...near(3), ...far(1)])
  await manager.epoch()
  const [a, b, c] = manager.active().map((p) => p.peer) as [string, string, string]
  assert.equal(manager.reportThroughput(a, 999), true)
  assert.equal(manager.reportThroughput(c, 200), true)
  assert.equal(manager.reportThroughput(c, 5000), true, 'the latest report of the epoch counts')
  assert.equal(manager.reportNoData(b), true)
  assert.equal(manager.reportUnreachable('198.51.100.202:6881'), true, 'a candidate can be reported too')
  assert.equal(manager.reportThroughput('198.51.100.200:6881', 1e6), false, 'throughput of a candidate is not tracked')
  assert.equal(manager.reportThroughput('10.9.9.9:1', 1e6), false, 'unknown peer')
  const summary = await manager.epoch()
  assert.deepEqual(
    events.demoted.map((e) => [e.peer.peer, e.from, e.reason]),
    [
      [a, 'active', 'slow'],
      [b, 'active', 'no-data'],
      ['198.51.100.202:6881', 'candidate', 'unreachable'],
    ],
  )
  assert.deepEqual(new Set(manager.active().slice(0, 2).map((p) => p.peer)), new Set(['198.51.100.200:6881', '198.51.100.201:6881']))
  assert.equal(manager.state(c), 'active')
  assert.deepEqual(manager.active().map((p) => p.cost), [5, 5, 1], 'freed slots 0 and 1 refilled with the next best')
  assert.deepEqual(manager.dead().map((p) => [p.peer, p.reason]), [[a, 'slow'], [b, 'no-data'], ['198.51.100.202:6881', 'unreachable']])
  assert.deepEqual({ demoted: summary.demoted, promoted: summary.promoted, active: summary.active, dead: summary.dead, candidates: summary.candidates }, { demoted: 3, promoted: 2, active: 3, dead: 3, candidates: 1 })
  assert.equal(manager.reportUnreachable(a), false, 'already dead')
  assert.deepEqual(manager.addCandidates([a, b]), { added: 0, known: 0, dead: 2, invalid: 0 }, 'dead peers stay dead')
})

test('grace: an active peer that reports nothing survives its first epoch, then counts as zero', async (t) => {
  const env = await setup(t)
  const manager = env.manager({ maxActive: 2, randomFraction: 0 })
  const events = record(manager)
  manager.addCandidates(local(2))
  await manager.epoch() // both promoted
  const [a, b] = manager.active().map((p) => p.peer) as [string, string]
  await manager.epoch() // grace: no reports, no demotion
  assert.deepEqual(manager.active().map((p) => p.peer), [a, b])
  manager.reportThroughput(b, 50_000)
  await manager.epoch() // a: no report after the grace -> slow; b reported enough
  assert.deepEqual(events.demoted.map((e) => [e.peer.peer, e.reason]), [[a, 'slow']])
  await manager.epoch() // b reported nothing this epoch -> slow
  assert.deepEqual(events.demoted.map((e) => [e.peer.peer, e.reason]), [[a, 'slow'], [b, 'slow']])

  const strict = env.manager({ maxActive: 1, graceEpochs: 0 })
  strict.addCandidates(local(1, 50))
  await strict.epoch()
  await strict.epoch()
  assert.deepEqual(strict.dead().map((p) => p.reason), ['slow'], 'no grace: silence counts at once')
})

test('ecs mode: only candidates new since the last epoch go into the endpoint cost query', async (t) => {
  const env = await setup(t)
  const manager = env.manager({ mode: 'ecs', maxActive: 2, randomFraction: 0, minThroughput: 0 })
  manager.addCandidates([...far(3), ...local(2)])
  const first = await manager.epoch()
  assert.deepEqual({ ranked: first.ranked, queries: first.queries }, { ranked: 5, queries: 1 })
  assert.deepEqual(manager.active().map((p) => p.cost), [1, 1])
  assert.ok(manager.active().every((p) => p.pid === undefined), 'the endpoint cost service names no PIDs')

  const second = await manager.epoch()
  assert.deepEqual({ ranked: second.ranked, queries: second.queries, requests: second.requests }, { ranked: 0, queries: 0, requests: 0 })

  // The tracker announces old and new peers alike; one more is written differently.
  const added = manager.addCandidates([...far(3), ...near(2), '203.0.113.200:6881', 'ipv4:203.0.113.200'])
  assert.deepEqual(added, { added: 4, known: 3, dead: 0, invalid: 0 })
  const third = await manager.epoch()
  assert.deepEqual({ ranked: third.ranked, queries: third.queries }, { ranked: 4, queries: 1 })
  assert.equal(env.client.dsts.length, 2)
  assert.deepEqual(new Set(env.client.dsts[1]), new Set(['ipv4:198.51.100.200', 'ipv4:198.51.100.201', 'ipv4:203.0.113.200']))
  assert.deepEqual(manager.candidates().map((p) => p.cost), [5, 5, 10, 10, 10, 10, 10], 'old costs are remembered and merged')
  for (let i = 0; i < 5; i++) assert.equal((await manager.epoch()).queries, 0)
  assert.equal(env.client.stats.queries, 2)
})

test('map mode: a new network map vtag re-ranks every candidate, with no query', async (t) => {
  const env = await setup(t)
  const manager = env.manager({ maxActive: 1, randomFraction: 0, minThroughput: 0 })
  manager.addCandidates([...far(3), ...near(2), ...local(1)])
  const first = await manager.epoch()
  assert.deepEqual(manager.candidates().map((p) => p.pid), ['PID2', 'PID2', 'PID3', 'PID3', 'PID3'])

  // The operator moves 203.0.113.0/24 into PID1.
  const spec = rfcSpec()
  const map = spec.networkMaps[0]!
  map.vtag = 'moved-203-0-113'
  map.pids.PID1!.ipv4 = [...map.pids.PID1!.ipv4!, '203.0.113.0/24']
  env.server.setSnapshot(buildSnapshot(spec))

  const unchanged = await manager.epoch()
  assert.deepEqual({ ranked: unchanged.ranked, reranked: unchanged.reranked, requests: unchanged.requests, vtag: unchanged.vtag }, { ranked: 0, reranked: false, requests: 0, vtag: first.vtag }, 'cached maps are used until max-age')

  env.clock.t += 61_000 // past the server's max-age: the client revalidates and gets the new map
  const moved = await manager.epoch()
  assert.deepEqual({ ranked: moved.ranked, reranked: moved.reranked, queries: moved.queries, vtag: moved.vtag }, { ranked: 5, reranked: true, queries: 0, vtag: 'moved-203-0-113' })
  assert.deepEqual(manager.candidates().map((p) => [p.pid, p.cost]), [['PID1', 1], ['PID1', 1], ['PID1', 1], ['PID2', 5], ['PID2', 5]])
  assert.deepEqual(manager.active().map((p) => p.pid), ['PID1'], 'active peers are not disturbed by a re-rank')

  const after = await manager.epoch()
  assert.deepEqual({ ranked: after.ranked, reranked: after.reranked }, { ranked: 0, reranked: false })
})

test('ALTO down: epochs go on unguided in random order, old costs are kept, nothing throws', async (t) => {
  const env = await setup(t)
  const manager = env.manager({ maxActive: 2, randomFraction: 0 })
  const summaries: unknown[] = []
  manager.on('epoch', (s) => summaries.push(s))
  manager.addCandidates([...far(2), ...local(2), ...near(2)])
  assert.equal((await manager.epoch()).guided, true)
  await env.server.close()

  // Within max-age the cached maps still guide.
  manager.addCandidates(local(1, 100))
  const cached = await manager.epoch()
  assert.deepEqual({ guided: cached.guided, ranked: cached.ranked }, { guided: true, ranked: 1 })

  env.clock.t += 61_000
  manager.addCandidates(local(3, 120))
  const [a, b] = manager.active().map((p) => p.peer) as [string, string]
  manager.reportThroughput(a, 10_000)
  manager.reportNoData(b)
  const down = await manager.epoch()
  assert.equal(down.guided, false)
  assert.match(down.reason!, /Cannot reach/)
  assert.deepEqual({ ranked: down.ranked, demoted: down.demoted, promoted: down.promoted, active: down.active }, { ranked: 0, demoted: 1, promoted: 1, active: 2 })
  assert.equal(manager.state('192.0.2.100:6881'), 'active', 'the best remembered candidate took the free slot')
  assert.deepEqual(manager.candidates().map((p) => p.cost), [5, 5, 10, 10, null, null, null], 'ranked candidates keep their costs; unranked ones follow')
  assert.equal(summaries.length, 3)

  // A manager that never reached its server still fills its slots, at random.
  const orders = new Set<string>()
  for (let seed = 1; seed <= 8; seed++) {
    const blind = env.manager({ maxActive: 3, rng: seededRng(seed) })
    blind.addCandidates([...local(3), ...far(3)])
    const summary = await blind.epoch()
    assert.deepEqual({ guided: summary.guided, active: summary.active }, { guided: false, active: 3 })
    orders.add(blind.active().map((p) => p.peer).join(' '))
  }
  assert.ok(orders.size > 1, 'unguided choices vary with the randomness')
})

test('addCandidates: one peer however written, self ignored, bad addresses skipped with a warning', async (t) => {
  const env = await setup(t)
  const manager = env.manager()
  const warnings: Error[] = []
  manager.on('warning', (w) => warnings.push(w))
  const result = manager.addCandidates(['[::1]:1', '[0:0:0:0:0:0:0:1]:1', ' 192.0.2.5:6881', '192.0.2.5:6881', SELF, 'example.org:80', '192.0.2.1:99999', '[::1]'])
  assert.deepEqual(result, { added: 3, known: 3, dead: 0, invalid: 2 })
  assert.equal(warnings.length, 2)
  assert.match(warnings[0]!.message, /example\.org/)
  assert.equal(manager.state('[0::1]:1'), 'candidate')
  assert.equal(manager.state('ipv4:192.0.2.5'), undefined, 'without a port it is another peer')
  assert.equal(manager.state('nonsense'), undefined)
  assert.deepEqual(manager.candidates().map((p) => p.peer).sort(), [' 192.0.2.5:6881', '[::1]', '[::1]:1'])
  assert.equal(manager.remove('[::1]'), true)
  assert.equal(manager.state('[::1]'), undefined)
  assert.throws(() => manager.reportThroughput('[::1]:1', -1), RangeError)
})

test('dead peers: memory is bounded by maxDead, and retryDeadAfterEpochs lets them back with their cost', async (t) => {
  const env = await setup(t)
  const manager = env.manager({ mode: 'ecs', maxActive: 0, maxDead: 2, retryDeadAfterEpochs: 3 })
  const peers = far(3)
  manager.addCandidates(peers)
  await manager.epoch()
  for (const peer of peers) manager.reportUnreachable(peer)
  await manager.epoch() // epoch 2: all three die; the first is forgotten
  assert.deepEqual(manager.dead().map((p) => p.peer), peers.slice(1))
  assert.equal(manager.state(peers[0]!), undefined)
  assert.deepEqual(manager.addCandidates(peers), { added: 1, known: 0, dead: 2, invalid: 0 }, 'a forgotten peer comes back as new')
  await manager.epoch() // epoch 3
  await manager.epoch() // epoch 4
  assert.deepEqual(manager.addCandidates(peers.slice(1)), { added: 0, known: 0, dead: 2, invalid: 0 })
  await manager.epoch() // epoch 5: three epochs since they died
  const queries = env.client.stats.queries
  assert.deepEqual(manager.addCandidates(peers.slice(1)), { added: 2, known: 0, dead: 0, invalid: 0 })
  const summary = await manager.epoch()
  assert.equal(env.client.stats.queries, queries, 'their costs are remembered')
  assert.equal(summary.ranked, 0)
  assert.deepEqual(manager.candidates().map((p) => p.cost), [10, 10, 10])
})

test('start runs an epoch at once and then on every tick of the scheduler; stop cancels it', async (t) => {
  const env = await setup(t)
  const ticks: { ms: number; tick: () => void; cancelled: boolean }[] = []
  const scheduler: EpochScheduler = {
    every(ms, tick) {
      const entry = { ms, tick, cancelled: false }
      ticks.push(entry)
      return () => (entry.cancelled = true)
    },
  }
  const manager = env.manager({ scheduler, epochMs: 5000 })
  manager.addCandidates(local(3))
  const first = once(manager, 'epoch')
  manager.start()
  manager.start() // no second schedule
  assert.equal(ticks.length, 1)
  assert.equal(ticks[0]!.ms, 5000)
  assert.equal(((await first)[0] as { epoch: number }).epoch, 1)
  const second = once(manager, 'epoch')
  ticks[0]!.tick()
  ticks[0]!.tick() // skipped: an epoch is still running
  assert.equal(((await second)[0] as { epoch: number }).epoch, 2)
  await manager.stop()
  assert.equal(ticks[0]!.cancelled, true)
  assert.equal((await manager.epoch()).epoch, 3, 'epochs can still be run by hand')
})

test('the default scheduler ticks every epochMs on an unref()ed timer, and not after stop', async (t) => {
  const env = await setup(t)
  // Only timers that hold the process open are listed: an unref()ed one is not.
  const heldOpen = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
  const before = heldOpen()
  const manager = env.manager({ epochMs: 20 })
  let epochs = 0
  manager.on('epoch', () => epochs++)
  manager.start()
  assert.equal(heldOpen(), before)
  while (epochs < 3) await once(manager, 'epoch')
  await manager.stop()
  const stopped = epochs
  await new Promise((resolve) => setTimeout(resolve, 80))
  assert.equal(epochs, stopped, 'no epoch after stop')
})

test('the epoch timer does not keep the process alive', async () => {
  const root = fileURLToPath(new URL('../../', import.meta.url))
  const script = `
    import { AltoClient } from './src/client/client.ts'
    import { PeerManager } from './src/client/peer-manager.ts'
    const manager = new PeerManager({ client: new AltoClient('http://127.0.0.1:9/', { retries: 0 }), self: '192.0.2.1', epochMs: 600000 })
    manager.on('epoch', (s) => console.log('epoch', s.epoch, s.guided))
    manager.addCandidates(['192.0.2.2:1'])
    manager.start()`
  const started = Date.now()
  const output = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, timeout: 20_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout)))
  })
  assert.equal(output.trim(), 'epoch 1 false')
  assert.ok(Date.now() - started < 20_000)
})

test('bad options are refused at construction', async (t) => {
  const env = await setup(t)
  assert.throws(() => env.manager({ randomFraction: 1.5 }), RangeError)
  assert.throws(() => env.manager({ maxActive: 2.5 }), RangeError)
  assert.throws(() => env.manager({ epochMs: 0 }), RangeError)
  assert.throws(() => env.manager({ retryDeadAfterEpochs: 0 }), RangeError)
  assert.throws(() => env.manager({ mode: 'dht' as 'map' }), TypeError)
  assert.throws(() => env.manager({ self: 'nowhere' }), (e: unknown) => (e as { code?: string }).code === 'ALTO_ERR_BAD_ADDRESS')
})
