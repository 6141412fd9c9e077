/**
 * Rules that turn routes into PIDs: the YAML file and its errors, matching, the choice between
 * routes for one prefix, and aggregation, which must never change the PID an address resolves to.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { parseAddress, parsePrefix } from '../../src/netmap/address.ts'
import { NetworkMap } from '../../src/netmap/network-map.ts'
import { AltoConfigError } from '../../src/protocol/errors.ts'
import type { AddressType } from '../../src/protocol/types.ts'
import type { Route } from '../../src/provisioning/route.ts'
import { firstMatch, loadRulesFile, loadRulesText, MapBuilder, ORIGIN_AS_RULES, ruleMatches, type Rule, type RuleSet } from '../../src/provisioning/rules.ts'

function route(prefix: string, more: Partial<Route> = {}): Route {
  const family: AddressType = prefix.includes(':') ? 'ipv6' : 'ipv4'
  const parsed = parsePrefix(family, prefix)
  if ('error' in parsed) throw new Error(parsed.error)
  return { family, bytes: parsed.bytes, length: parsed.length, prefix: parsed.text, asPath: [], communities: [], largeCommunities: [], ...more }
}

function rulesError(text: string): AltoConfigError {
  try {
    loadRulesText(text, { file: 'rules.yaml' })
  } catch (error) {
    assert.ok(error instanceof AltoConfigError, String(error))
    return error
  }
  assert.fail('expected an AltoConfigError')
}

const EXAMPLE = `network-map: isp-network-map
default-pid: default
catch-all: true
rules:
  - pid: region-warszawa
    community: "65000:101"
  - pid: region-krakow
    large-community: ["65000:1:102", "65000:1:103"]
  - pid: peering
    as-path: "^65001( |$)"
  - pid: transit
    origin-as: [3356, AS1299]
  - pid: datacenter
    next-hop: [192.0.2.1, 2001:db8::/32]
  - pid: customers
    prefixes: [198.51.100.0/24, "2001:db8:100::/40"]
    origin-as: 64500
`

test('the rules file of docs/mrt.md loads into a RuleSet', () => {
  const set = loadRulesText(EXAMPLE, { file: 'rules.yaml' })
  assert.equal(set.networkMap, 'isp-network-map')
  assert.equal(set.defaultPid, 'default')
  assert.equal(set.catchAll, true)
  assert.deepEqual(
    set.rules.map((r) => [r.pid, r.line]),
    [
      ['region-warszawa', 5],
      ['region-krakow', 7],
      ['peering', 9],
      ['transit', 11],
      ['datacenter', 13],
      ['customers', 15],
    ],
  )
  assert.deepEqual(set.rules[0]!.communities, ['65000:101'])
  assert.deepEqual(set.rules[1]!.largeCommunities, ['65000:1:102', '65000:1:103'])
  assert.equal(set.rules[2]!.asPath!.source, '^65001( |$)')
  assert.deepEqual(set.rules[3]!.originAs, [3356, 1299])
  assert.deepEqual(set.rules[4]!.nextHops!.map((p) => p.text), ['192.0.2.1/32', '2001:db8::/32'])
  assert.deepEqual(set.rules[5]!.prefixes!.map((p) => p.text), ['198.51.100.0/24', '2001:db8:100::/40'])
  assert.deepEqual(set.rules[5]!.originAs, [64500])
})

test('a bad rules file fails naming file, line and field', () => {
  const cases: [string, RegExp][] = [
    ['rules:\n  - pid: a\n    comunity: "1:2"\n', /^rules\.yaml:3: rules\[0\]\.comunity: unknown key \(did you mean "community"\?\)/],
    ['rules:\n  - pid: a\n    community: "65000:70000"\n', /^rules\.yaml:3: rules\[0\]\.community: "65000:70000" is not a community ASN:VALUE/],
    ['rules:\n  - pid: a\n    community: 65000\n', /^rules\.yaml:3: rules\[0\]\.community: "65000" is not a community/],
    ['rules:\n  - pid: a\n    large-community: ["1:2:3", "1:2"]\n', /^rules\.yaml:3: rules\[0\]\.large-community\[1\]: "1:2" is not a large community/],
    ['rules:\n  - pid: a\n    origin-as: [1, 4294967296]\n', /^rules\.yaml:3: rules\[0\]\.origin-as\[1\]: must be an AS number/],
    ['rules:\n  - pid: a\n    as-path: "(65001"\n', /^rules\.yaml:3: rules\[0\]\.as-path: is not a valid regular expression/],
    ['rules:\n  - pid: a\n    prefixes: [10.0.0.1/8]\n', /^rules\.yaml:3: rules\[0\]\.prefixes\[0\]: 10\.0\.0\.1\/8 has host bits set; did you mean 10\.0\.0\.0\/8\?/],
    ['rules:\n  - pid: a\n    next-hop: nowhere\n', /^rules\.yaml:3: rules\[0\]\.next-hop: "nowhere" is not a valid IPv4 prefix/],
    ['rules:\n  - pid: "bad pid"\n    origin-as: 1\n', /^rules\.yaml:2: rules\[0\]\.pid: "bad pid" is not a valid PID name/],
    ['rules:\n  - community: "1:2"\n', /^rules\.yaml:2: rules\[0\]\.pid: is missing/],
    ['default-pid: d\nrules:\n  - pid: a\n', /^rules\.yaml:3: rules\[0\]: has no condition/],
    ['catch-all: true\nrules:\n  - pid: a\n    origin-as: 1\n', /^rules\.yaml:1: catch-all: needs default-pid/],
    ['network-map: isp\n', /^rules\.yaml:\d+: rules: is empty, and there is no default-pid/],
    ['rules: [\n', /^rules\.yaml:\d+: invalid YAML/],
    ['default-pid: a\ndefault-pid: b\n', /^rules\.yaml:2: invalid YAML/],
    ['', /^rules\.yaml: the file is empty/],
    ['rules:\n  - pid: a\n    community: []\n', /^rules\.yaml:3: rules\[0\]\.community: must not be an empty list/],
  ]
  for (const [text, expected] of cases) assert.match(rulesError(text).message, expected, text)
  assert.throws(() => loadRulesFile('/no/such/rules.yaml'), /\/no\/such\/rules\.yaml: cannot read rules file: no such file/)
})

test('a rule matches when every condition holds; a list holds when any member does', () => {
  const rule: Rule = { pid: 'p', communities: ['65000:1', '65000:2'], originAs: [64500] }
  assert.ok(ruleMatches(rule, route('10.0.0.0/8', { communities: ['65000:2'], originAs: 64500 })))
  assert.ok(!ruleMatches(rule, route('10.0.0.0/8', { communities: ['65000:2'], originAs: 64501 })))
  assert.ok(!ruleMatches(rule, route('10.0.0.0/8', { communities: ['65000:3'], originAs: 64500 })))
  assert.ok(!ruleMatches({ pid: 'p', originAs: [1] }, route('10.0.0.0/8')), 'no origin AS')
  const large: Rule = { pid: 'p', largeCommunities: ['65000:1:101'] }
  assert.ok(ruleMatches(large, route('10.0.0.0/8', { largeCommunities: ['65000:1:101'] })))
  assert.ok(!ruleMatches(large, route('10.0.0.0/8', { communities: ['65000:1'] })))
})

test('as-path is a regular expression over the space-separated path; prefixes and next-hop match by containment', () => {
  const set = loadRulesText(EXAMPLE, { file: 'rules.yaml' })
  const peering = set.rules[2]!
  assert.ok(ruleMatches(peering, route('10.0.0.0/8', { asPath: [65001, 3356] })))
  assert.ok(ruleMatches(peering, route('10.0.0.0/8', { asPath: [65001] })))
  assert.ok(!ruleMatches(peering, route('10.0.0.0/8', { asPath: [650012] })))
  assert.ok(!ruleMatches(peering, route('10.0.0.0/8', { asPath: [3356, 65001] })))
  const datacenter = set.rules[4]!
  assert.ok(ruleMatches(datacenter, route('10.0.0.0/8', { nextHop: '192.0.2.1' })))
  assert.ok(ruleMatches(datacenter, route('2001:db8:5::/48', { nextHop: '2001:db8::ff' })))
  assert.ok(!ruleMatches(datacenter, route('10.0.0.0/8', { nextHop: '192.0.2.2' })))
  assert.ok(!ruleMatches(datacenter, route('10.0.0.0/8')))
  const customers = set.rules[5]!
  assert.ok(ruleMatches(customers, route('198.51.100.0/24', { originAs: 64500 })))
  assert.ok(ruleMatches(customers, route('198.51.100.128/25', { originAs: 64500 })))
  assert.ok(!ruleMatches(customers, route('198.51.0.0/16', { originAs: 64500 })), 'a shorter prefix is not inside')
  assert.ok(ruleMatches(customers, route('2001:db8:1ff::/48', { originAs: 64500 })))
  assert.ok(!ruleMatches(customers, route('2001:db8:200::/48', { originAs: 64500 })))
  assert.equal(firstMatch(set.rules, route('198.51.100.0/24', { originAs: 64500, communities: ['65000:101'] })), 0, 'the first rule wins')
})

function build(rules: RuleSet, routes: Route[]): ReturnType<MapBuilder['build']> {
  const builder = new MapBuilder(rules)
  for (const r of routes) builder.add(r)
  return builder.build()
}

test('adjacent prefixes of one PID are merged and covered ones dropped', () => {
  const rules: RuleSet = { rules: [{ pid: 'a', originAs: [1] }, { pid: 'b', originAs: [2] }] }
  const { data, summary } = build(rules, [
    route('10.0.0.0/24', { originAs: 1 }),
    route('10.0.1.0/24', { originAs: 1 }),
    route('10.0.2.0/23', { originAs: 1 }),
    route('10.0.2.128/25', { originAs: 1 }), // inside 10.0.2.0/23 of the same PID
    route('10.9.0.0/24', { originAs: 2 }),
    route('2001:db8::/33', { originAs: 2 }),
    route('2001:db8:8000::/33', { originAs: 2 }),
  ])
  assert.deepEqual(data, { a: { ipv4: ['10.0.0.0/22'] }, b: { ipv4: ['10.9.0.0/24'], ipv6: ['2001:db8::/32'] } })
  assert.deepEqual(summary.mapPrefixes, { ipv4: 2, ipv6: 1 })
  assert.equal(summary.prefixes, 7)
})

test('aggregation keeps a prefix whose nearest cover belongs to another PID, and never merges onto another PID\'s prefix', () => {
  const rules: RuleSet = { rules: [{ pid: 'a', originAs: [1] }, { pid: 'b', originAs: [2] }] }
  const { data } = build(rules, [
    route('10.0.0.0/8', { originAs: 1 }),
    route('10.1.0.0/16', { originAs: 2 }),
    route('10.1.1.0/24', { originAs: 1 }), // inside b's /16: must stay, or 10.1.1.1 would go to b
    route('10.2.0.0/24', { originAs: 1 }), // directly inside a's /8: dropped
    route('192.0.2.0/25', { originAs: 1 }),
    route('192.0.2.128/25', { originAs: 1 }),
    route('192.0.2.0/24', { originAs: 2 }), // the parent of a's two halves is b's
  ])
  assert.deepEqual(data, { a: { ipv4: ['10.0.0.0/8', '10.1.1.0/24', '192.0.2.0/25', '192.0.2.128/25'] }, b: { ipv4: ['10.1.0.0/16', '192.0.2.0/24'] } })
})

test('one prefix from several routes: the earliest matching rule wins, then the route seen first', () => {
  const rules: RuleSet = { defaultPid: 'default', pidPerOriginAs: true, rules: [{ pid: 'first', communities: ['1:1'] }, { pid: 'second', communities: ['1:2'] }] }
  const p = '10.0.0.0/8'
  const cases: [Route[], string][] = [
    [[route(p, { peer: 'x', communities: ['1:2'] }), route(p, { peer: 'y', communities: ['1:1'] })], 'first'],
    [[route(p, { peer: 'x', communities: ['1:1'] }), route(p, { peer: 'y', communities: ['1:2'] })], 'first'],
    [[route(p, { peer: 'x', originAs: 7 }), route(p, { peer: 'y', communities: ['1:2'] })], 'second'],
    [[route(p, { peer: 'x' }), route(p, { peer: 'y', originAs: 7 })], 'as7'],
    [[route(p, { peer: 'x', originAs: 8 }), route(p, { peer: 'y', originAs: 7 })], 'as8'],
    [[route(p, { peer: 'y', originAs: 7 }), route(p, { peer: 'x', originAs: 8 })], 'as7'],
    [[route(p, { peer: 'x' }), route(p, { peer: 'y' })], 'default'],
  ]
  for (const [routes, pid] of cases) assert.deepEqual(Object.keys(build(rules, routes).data), [pid], JSON.stringify(routes.map((r) => r.peer)))
})

test('withdrawals remove a route; a route announced again from the same peer and path replaces it', () => {
  const rules: RuleSet = { rules: [{ pid: 'red', communities: ['1:1'] }, { pid: 'blue', communities: ['1:2'] }] }
  const builder = new MapBuilder(rules)
  builder.add(route('10.0.0.0/8', { peer: 'p1', communities: ['1:1'] }))
  builder.add(route('10.0.0.0/8', { peer: 'p2', communities: ['1:2'] }))
  builder.add(route('10.0.0.0/8', { peer: 'p2', pathId: 5, communities: ['1:2'] }))
  assert.equal(builder.size, 3)
  assert.deepEqual(builder.build().data, { red: { ipv4: ['10.0.0.0/8'] } })
  builder.withdraw(route('10.0.0.0/8', { peer: 'p1' }))
  assert.deepEqual(builder.build().data, { blue: { ipv4: ['10.0.0.0/8'] } })
  builder.add(route('10.0.0.0/8', { peer: 'p2', communities: ['1:1'] })) // new attributes, same route
  assert.deepEqual(builder.build().data, { red: { ipv4: ['10.0.0.0/8'] } })
  builder.withdraw(route('10.0.0.0/8', { peer: 'p2' }))
  builder.withdraw(route('10.0.0.0/8', { peer: 'p2', pathId: 5 }))
  builder.withdraw(route('10.0.0.0/8', { peer: 'p9' })) // never announced: nothing happens
  assert.equal(builder.size, 0)
  assert.deepEqual(builder.build().data, {})
})

test('default PID, catch-all, per-origin-AS PIDs, and unmatched routes left out without a default PID', () => {
  const routes = [route('10.0.0.0/8', { originAs: 7, communities: ['1:1'] }), route('10.1.0.0/16', { originAs: 7 }), route('192.0.2.0/24'), route('2001:db8::/32', { originAs: 9 })]
  const withDefault = build({ defaultPid: 'rest', catchAll: true, rules: [{ pid: 'one', communities: ['1:1'] }] }, routes)
  assert.deepEqual(withDefault.data, { one: { ipv4: ['10.0.0.0/8'] }, rest: { ipv4: ['0.0.0.0/0', '10.1.0.0/16'], ipv6: ['::/0'] } })
  assert.deepEqual([withDefault.summary.matchedPrefixes, withDefault.summary.unmatchedPrefixes, withDefault.summary.unmatchedRoutes], [1, 3, 3])
  assert.deepEqual(withDefault.summary.byRule, [{ pid: 'one', prefixes: 1 }])
  const dropped = build({ rules: [{ pid: 'one', communities: ['1:1'] }] }, routes)
  assert.deepEqual(dropped.data, { one: { ipv4: ['10.0.0.0/8'] } })
  assert.equal(dropped.summary.droppedPrefixes, 3)
  const perAs = build(ORIGIN_AS_RULES, routes)
  assert.deepEqual(perAs.data, { as7: { ipv4: ['10.0.0.0/8'] }, default: { ipv4: ['192.0.2.0/24'] }, as9: { ipv6: ['2001:db8::/32'] } })
  // A route for 0.0.0.0/0 keeps its PID; catch-all adds only ::/0.
  const defaultRoute = build({ defaultPid: 'rest', catchAll: true, rules: [{ pid: 'transit', originAs: [3356] }] }, [route('0.0.0.0/0', { originAs: 3356 })])
  assert.deepEqual(defaultRoute.data, { transit: { ipv4: ['0.0.0.0/0'] }, rest: { ipv6: ['::/0'] } })
})

/** Longest-prefix match over a plain list: the reference the aggregated map must agree with. */
function naiveLookup(entries: { family: AddressType; bytes: Uint8Array; length: number; pid: string }[], family: AddressType, address: Uint8Array): string | undefined {
  let best: { length: number; pid: string } | undefined
  for (const e of entries) {
    if (e.family !== family || (best && e.length <= best.length)) continue
    let inside = true
    for (let bit = 0; bit < e.length && inside; bit++) {
      const mask = 0x80 >>> (bit & 7)
      inside = (e.bytes[bit >>> 3]! & mask) === (address[bit >>> 3]! & mask)
    }
    if (inside) best = { length: e.length, pid: e.pid }
  }
  return best?.pid
}

test('aggregation never changes the PID of any address (property, against a plain longest-prefix match)', () => {
  // Prefixes inside 10.0.0.0/22 so that they nest and touch often; three PIDs by origin AS.
  const arbitraryRoute = fc.record({ third: fc.integer({ min: 0, max: 3 }), fourth: fc.integer({ min: 0, max: 255 }), length: fc.integer({ min: 18, max: 28 }), as: fc.integer({ min: 1, max: 3 }) })
  fc.assert(
    fc.property(fc.array(arbitraryRoute, { maxLength: 60 }), fc.boolean(), fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 255 })), { minLength: 50, maxLength: 50 }), (specs, catchAll, probes) => {
      const rules: RuleSet = { defaultPid: 'd', catchAll, rules: [{ pid: 'p1', originAs: [1] }, { pid: 'p2', originAs: [2] }] }
      const builder = new MapBuilder(rules)
      const chosen = new Map<string, { family: AddressType; bytes: Uint8Array; length: number; pid: string }>()
      for (const s of specs) {
        const address = ((10 << 24) | (s.third << 8) | s.fourth) >>> 0
        const network = s.length === 32 ? address : (address & ~(0xffffffff >>> s.length)) >>> 0
        const parsed = parsePrefix('ipv4', `${network >>> 24}.${(network >>> 16) & 255}.${(network >>> 8) & 255}.${network & 255}/${s.length}`) as { bytes: Uint8Array; length: number; text: string }
        const r = route(parsed.text, { originAs: s.as, peer: 'x' })
        builder.add(r)
        // The reference: the first route for a prefix decides (one peer, so a re-announcement replaces).
        chosen.set(parsed.text, { family: 'ipv4', bytes: parsed.bytes, length: parsed.length, pid: s.as === 1 ? 'p1' : s.as === 2 ? 'p2' : 'd' })
      }
      const reference = [...chosen.values()]
      if (catchAll) reference.push({ family: 'ipv4', bytes: new Uint8Array(4), length: 0, pid: 'd' })
      const { data } = builder.build()
      if (Object.keys(data).length === 0) return
      const map = NetworkMap.fromData('m', data)
      for (const [third, fourth] of probes) {
        const address = parseAddress('ipv4', `10.0.${third}.${fourth}`)!
        assert.equal(map.lookup(address), naiveLookup(reference, 'ipv4', address.bytes), address.text)
      }
      const outside = parseAddress('ipv4', '192.0.2.1')!
      assert.equal(map.lookup(outside), catchAll ? 'd' : undefined)
    }),
    { numRuns: 400 },
  )
})
