/**
 * The Adj-RIB-In on its own, on a manual clock: announce, implicit and explicit withdrawal, path
 * identifiers, a peer going away, and the debounced `'change'` event.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parsePrefix } from '../../src/netmap/address.ts'
import { AdjRibIn } from '../../src/provisioning/bgp/adj-rib-in.ts'
import { ManualClock } from '../../src/provisioning/bgp/clock.ts'
import type { Route } from '../../src/provisioning/route.ts'

function route(prefix: string, extra: Partial<Route> = {}): Route {
  const parsed = parsePrefix(prefix.includes(':') ? 'ipv6' : 'ipv4', prefix)
  if ('error' in parsed) throw new Error(parsed.error)
  return { family: parsed.family, bytes: parsed.bytes, length: parsed.length, prefix: parsed.text, asPath: [64500], communities: [], largeCommunities: [], peer: 'p1', ...extra }
}

function setup(debounceMs = 500, maxDelayMs?: number): { rib: AdjRibIn; clock: ManualClock; events: Route[][] } {
  const clock = new ManualClock()
  const rib = new AdjRibIn({ debounceMs, clock, ...(maxDelayMs === undefined ? {} : { maxDelayMs }) })
  const events: Route[][] = []
  rib.on('change', (routes) => events.push(routes))
  return { rib, clock, events }
}

const prefixes = (routes: readonly Route[]): string[] => routes.map((r) => `${r.peer} ${r.prefix}${r.pathId === undefined ? '' : `#${r.pathId}`}`)

test('announcements replace routes of the same prefix; withdrawals remove them', () => {
  const { rib } = setup()
  assert.equal(rib.apply('p1', [route('10.0.0.0/8'), route('2001:db8::/32')]), 2)
  assert.equal(rib.apply('p1', [route('10.0.0.0/8', { communities: ['65000:1'] })]), 1)
  assert.deepEqual(rib.routes().find((r) => r.prefix === '10.0.0.0/8')!.communities, ['65000:1'])
  assert.equal(rib.apply('p1', [], [{ prefix: '2001:db8::/32' }, { prefix: '192.0.2.0/24' }]), 1)
  assert.deepEqual(prefixes(rib.routes()), ['p1 10.0.0.0/8'])
  assert.equal(rib.count(), 1)
})

test('re-announcing an identical route is not a change', () => {
  const { rib, clock, events } = setup()
  rib.apply('p1', [route('10.0.0.0/8', { communities: ['65000:1'], asPath: [64500, 64501] })])
  clock.advance(500)
  assert.equal(events.length, 1)
  assert.equal(rib.apply('p1', [route('10.0.0.0/8', { communities: ['65000:1'], asPath: [64500, 64501] })]), 0)
  clock.advance(5000)
  assert.equal(events.length, 1)
})

test('each peer has its own table; dropping a peer removes only its routes', () => {
  const { rib } = setup()
  rib.apply('p1', [route('10.0.0.0/8')])
  rib.apply('p2', [route('10.0.0.0/8', { peer: 'p2' }), route('10.1.0.0/16', { peer: 'p2' })])
  assert.deepEqual(prefixes(rib.routes()), ['p1 10.0.0.0/8', 'p2 10.0.0.0/8', 'p2 10.1.0.0/16'])
  assert.equal(rib.dropPeer('p2'), 2)
  assert.deepEqual(prefixes(rib.routes()), ['p1 10.0.0.0/8'])
  assert.equal(rib.dropPeer('p2'), 0)
  assert.equal(rib.count('p1'), 1)
})

test('routes with ADD-PATH path identifiers are kept apart', () => {
  const { rib } = setup()
  rib.apply('p1', [route('10.0.0.0/8', { pathId: 1 }), route('10.0.0.0/8', { pathId: 2 }), route('10.0.0.0/8')])
  assert.equal(rib.count(), 3)
  rib.apply('p1', [], [{ prefix: '10.0.0.0/8', pathId: 1 }])
  assert.deepEqual(prefixes(rib.routes()), ['p1 10.0.0.0/8#2', 'p1 10.0.0.0/8'])
})

test("a burst of changes gives one 'change' once it has been quiet for debounceMs", () => {
  const { rib, clock, events } = setup(500)
  rib.apply('p1', [route('10.0.0.0/8')])
  clock.advance(300)
  rib.apply('p1', [route('10.1.0.0/16')])
  clock.advance(300)
  rib.apply('p1', [], [{ prefix: '10.0.0.0/8' }])
  assert.equal(rib.pending, true)
  clock.advance(499)
  assert.equal(events.length, 0)
  clock.advance(1)
  assert.equal(events.length, 1)
  assert.deepEqual(prefixes(events[0]!), ['p1 10.1.0.0/16'])
  assert.equal(rib.pending, false)
})

test("constant churn still gives a 'change' every maxDelayMs", () => {
  const { rib, clock, events } = setup(500, 2000)
  for (let t = 0; t < 5000; t += 250) {
    rib.apply('p1', [route('10.0.0.0/8', { communities: [`65000:${t}`] })])
    clock.advance(250)
  }
  assert.deepEqual(events.map((e) => e[0]!.communities[0]), ['65000:1750', '65000:3750'])
})

test('flush emits a pending change at once; cancel drops it', () => {
  const { rib, clock, events } = setup(500)
  rib.apply('p1', [route('10.0.0.0/8')])
  rib.flush()
  assert.equal(events.length, 1)
  rib.apply('p1', [route('10.1.0.0/16')])
  rib.cancel()
  clock.advance(10_000)
  assert.equal(events.length, 1)
  rib.flush()
  assert.equal(events.length, 1)
})
