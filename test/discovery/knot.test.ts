/**
 * Discovery against a real authoritative DNS server: Knot DNS with the zone files of
 * test/helpers/knot.ts (a forward domain, an in-addr.arpa tree and an ip6.arpa tree). These tests
 * fail, not skip, when knotd is missing: CI installs it.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { CachingNaptrResolver, UdpNaptrResolver } from '../../src/discovery/dns.ts'
import { discoverDomain } from '../../src/discovery/rfc7286.ts'
import { xdomdisc } from '../../src/discovery/xdomdisc.ts'
import { isAltoError } from '../../src/protocol/errors.ts'
import { discoveryZones, startKnot, type KnotServer } from '../helpers/knot.ts'

let knot: KnotServer
let resolver: UdpNaptrResolver

before(async () => {
  knot = await startKnot(discoveryZones)
  resolver = new UdpNaptrResolver({ servers: [knot.server], timeoutMs: 1000, tries: 1 })
})

after(async () => {
  resolver?.close()
  await knot?.stop()
})

const uris = (result: { uris: { uri: string }[] }): string[] => result.uris.map((found) => found.uri)
const outcomes = (result: { trace: { outcome: string }[] }): string[] => result.trace.map((step) => step.outcome)

describe('RFC 7286: a domain', () => {
  test('two records in order; other services, lower-order foreign records and a higher order are not used', async () => {
    const result = await discoverDomain(resolver, 'example.net')
    assert.deepEqual(result.uris, [
      { uri: 'https://alto1.example.net/ird', order: 100, preference: 10 },
      { uri: 'https://alto2.example.net/ird', order: 100, preference: 20 },
    ])
    assert.deepEqual(result.trace, [{ name: 'example.net', outcome: 'records', detail: '5 NAPTR, 3 for ALTO' }])
    assert.deepEqual(uris(await discoverDomain(resolver, 'EXAMPLE.NET.')), uris(result))
  })

  test('a non-terminal chain into another zone', async () => {
    const result = await discoverDomain(resolver, 'chain.example.net')
    assert.deepEqual(result.uris, [
      { uri: 'https://alto.example.org/ird', order: 100, preference: 10 },
      { uri: 'https://alto-b.example.org/ird', order: 100, preference: 10 },
    ])
    assert.deepEqual(result.trace.map((step) => step.name), ['chain.example.net', 'alto.example.org'])
  })

  test('a loop of non-terminals ends with no URI', async () => {
    const result = await discoverDomain(resolver, 'loop.example.net')
    assert.deepEqual(result.uris, [])
    assert.deepEqual(outcomes(result), ['records', 'records', 'loop'])
  })

  test('NODATA and NXDOMAIN', async () => {
    assert.deepEqual(await resolver.naptr('plain.example.net'), { kind: 'nodata', ttl: 60 })
    assert.deepEqual(await resolver.naptr('missing.example.net'), { kind: 'nxdomain', ttl: 60 })
    assert.deepEqual(outcomes(await discoverDomain(resolver, 'missing.example.net')), ['nxdomain'])
  })

  test('ALTO:http only with allowHttp', async () => {
    assert.deepEqual(uris(await discoverDomain(resolver, 'http.example.net')), [])
    assert.deepEqual(uris(await discoverDomain(resolver, 'http.example.net', { allowHttp: true })), ['http://alto.example.net/ird'])
  })

  test('an answer too big for UDP comes over TCP', async () => {
    const answer = await resolver.naptr('big.example.net')
    assert.equal(answer.kind === 'records' && answer.records.length, 40)
    assert.equal((await discoverDomain(resolver, 'big.example.net')).uris[0]!.uri, 'https://alto1.example.net/a/long/path/to/the/information/resource/directory')
  })
})

describe('RFC 8686: IPv4', () => {
  test('R32 hit', async () => {
    const result = await xdomdisc(resolver, '198.51.100.3')
    assert.deepEqual(uris(result), ['https://r32.example.net/ird'])
    assert.equal(result.matchedName, '3.100.51.198.in-addr.arpa')
    assert.equal(result.temporary, false)
  })

  test('fallback to R24: the RFC example records, in order', async () => {
    const result = await xdomdisc(resolver, '198.51.100.4')
    assert.deepEqual(result.uris, [
      { uri: 'https://alto1.example.net/ird', order: 100, preference: 10 },
      { uri: 'https://alto2.example.net/ird', order: 100, preference: 20 },
    ])
    assert.deepEqual(outcomes(result), ['nxdomain', 'records'])
    assert.equal(result.matchedName, '100.51.198.in-addr.arpa')
  })

  test('fallback to R16 and to R8', async () => {
    const r16 = await xdomdisc(resolver, '198.51.7.9')
    assert.deepEqual(uris(r16), ['https://r16.example.net/ird'])
    assert.deepEqual(outcomes(r16), ['nxdomain', 'nxdomain', 'records'])
    const r8 = await xdomdisc(resolver, '198.18.0.1')
    assert.deepEqual(uris(r8), ['https://r8.example.net/ird'])
    assert.deepEqual(outcomes(r8), ['nxdomain', 'nxdomain', 'nxdomain', 'records'])
    assert.equal(r8.matchedName, '198.in-addr.arpa')
  })

  test('NODATA continues: a name without NAPTR under an empty non-terminal', async () => {
    const result = await xdomdisc(resolver, '198.51.99.1')
    assert.deepEqual(outcomes(result), ['nodata', 'nodata', 'records'])
    assert.deepEqual(uris(result), ['https://r16.example.net/ird'])
  })

  test('prefixes: a /20 starts at R16 (even inside a /24 with records), a /24 at R24', async () => {
    const slash20 = await xdomdisc(resolver, '198.51.100.0/20')
    assert.deepEqual(uris(slash20), ['https://r16.example.net/ird'])
    assert.deepEqual(slash20.trace.map((step) => step.name), ['51.198.in-addr.arpa'])
    assert.deepEqual(uris(await xdomdisc(resolver, '198.51.100.0/24')), ['https://alto1.example.net/ird', 'https://alto2.example.net/ird'])
  })

  test('nothing anywhere: an empty result, not temporary', async () => {
    const result = await xdomdisc(resolver, '203.1.2.3')
    assert.deepEqual(result.uris, [])
    assert.equal(result.temporary, false)
    assert.deepEqual(outcomes(result), ['nxdomain', 'nxdomain', 'nxdomain', 'nodata'])
  })

  test('SERVFAIL (a zone the server cannot load) continues to the next name and is reported', async () => {
    const result = await xdomdisc(resolver, '203.0.113.7')
    assert.deepEqual(outcomes(result), ['temporary', 'temporary', 'records'])
    assert.match(result.trace[0]!.detail!, /SERVFAIL/)
    assert.deepEqual(uris(result), ['https://r16-203.example.net/ird'])
    assert.equal(result.temporary, true)
  })

  test('REFUSED for names outside the server\'s zones counts as temporary', async () => {
    const result = await xdomdisc(resolver, '192.0.2.1')
    assert.deepEqual(result.uris, [])
    assert.equal(result.temporary, true)
    assert.match(result.trace[0]!.detail!, /REFUSED/)
  })

  test('unsupported prefix length', async () => {
    await assert.rejects(xdomdisc(resolver, '198.0.0.0/7'), (error: unknown) => isAltoError(error) && error.code === 'ALTO_ERR_UNSUPPORTED_PREFIX')
  })
})

describe('RFC 8686: IPv6', () => {
  test('R128 hit (the RFC example address)', async () => {
    const result = await xdomdisc(resolver, '2001:db8::20')
    assert.deepEqual(uris(result), ['https://r128.example.net/ird'])
    assert.equal(result.matchedName, '0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa')
  })

  test('R128 -> R64 and R128 -> R64 -> R56 -> R48 fallbacks', async () => {
    const r64 = await xdomdisc(resolver, '2001:db8:0:1::5')
    assert.deepEqual(uris(r64), ['https://r64.example.net/ird'])
    assert.deepEqual(outcomes(r64), ['nxdomain', 'records'])
    const r48 = await xdomdisc(resolver, '2001:db8:1:2::5')
    assert.deepEqual(uris(r48), ['https://r48.example.net/ird'])
    assert.deepEqual(outcomes(r48), ['nxdomain', 'nxdomain', 'nxdomain', 'records'])
    assert.equal(r48.matchedName, '1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa')
  })

  test('empty non-terminals answer NODATA and the walk goes on to R32', async () => {
    const result = await xdomdisc(resolver, '2001:db8::21')
    assert.deepEqual(outcomes(result), ['nxdomain', 'nodata', 'nodata', 'nodata', 'nodata', 'records'])
    assert.deepEqual(uris(result), ['https://r32.example.net/ird'])
  })

  test('prefixes start where Table 1 says: /60 at R56, /40 at R40, /36 at R32', async () => {
    const r56 = await xdomdisc(resolver, '2001:db8:2:ab00::/60')
    assert.deepEqual([uris(r56), r56.trace.length], [['https://r56.example.net/ird'], 1])
    const r40 = await xdomdisc(resolver, '2001:db8:ff00::/40')
    assert.deepEqual([uris(r40), r40.trace.length], [['https://r40.example.net/ird'], 1])
    const r32 = await xdomdisc(resolver, '2001:db8::/36')
    assert.deepEqual([uris(r32), r32.trace.map((step) => step.name)], [['https://r32.example.net/ird'], ['8.b.d.0.1.0.0.2.ip6.arpa']])
    await assert.rejects(xdomdisc(resolver, '2001:db8::/31'), (error: unknown) => isAltoError(error) && error.code === 'ALTO_ERR_UNSUPPORTED_PREFIX')
  })
})

describe('resolver behaviour against a real server', () => {
  test('the TTL cache asks each reverse name once', async () => {
    const cache = new CachingNaptrResolver(resolver)
    for (const address of ['198.51.100.4', '198.51.100.5', '198.51.100.6']) assert.deepEqual(uris(await xdomdisc(cache, address)), ['https://alto1.example.net/ird', 'https://alto2.example.net/ird'])
    // Three different R32 names (NXDOMAIN, cached 60 s) and one shared R24.
    assert.deepEqual(cache.stats, { queries: 4, hits: 2 })
    await xdomdisc(cache, '198.51.100.4')
    assert.deepEqual(cache.stats, { queries: 4, hits: 4 })
  })

  test('requireAuthenticated: an authoritative server sets no AD bit, so nothing is trusted', async () => {
    const strict = new UdpNaptrResolver({ servers: [knot.server], requireAuthenticated: true, tries: 1 })
    const result = await discoverDomain(strict, 'example.net')
    assert.deepEqual(result.uris, [])
    assert.equal(result.temporary, true)
    assert.match(result.trace[0]!.detail!, /no AD bit/)
  })
})
