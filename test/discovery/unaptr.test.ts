/**
 * U-NAPTR (RFC 4848 / RFC 3403) and XDOMDISC's walk over names, on an in-memory resolver: which
 * records count, in which order, and how chains, loops and failures end.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { NaptrAnswer, NaptrRecord, NaptrResolver } from '../../src/discovery/dns.ts'
import { discoveryFailedError, literalReplacement, MAX_LOOKUPS, resolveUnaptr } from '../../src/discovery/unaptr.ts'
import { xdomdisc } from '../../src/discovery/xdomdisc.ts'
import { discoverDomain } from '../../src/discovery/rfc7286.ts'
import { isAltoError } from '../../src/protocol/errors.ts'

type Entry = NaptrAnswer | NaptrRecord[] | (() => never)

/** Names not in the table are NXDOMAIN; `asked` lists every lookup. */
function memoryResolver(table: Record<string, Entry>): NaptrResolver & { asked: string[] } {
  const asked: string[] = []
  return {
    asked,
    async naptr(name) {
      asked.push(name)
      const entry = table[name]
      if (entry === undefined) return { kind: 'nxdomain', ttl: 60 }
      if (typeof entry === 'function') entry()
      return Array.isArray(entry) ? { kind: 'records', records: entry } : (entry as NaptrAnswer)
    },
  }
}

function rec(order: number, preference: number, flags: string, services: string, regexp: string, replacement = ''): NaptrRecord {
  return { order, preference, flags, services, regexp, replacement, ttl: 300 }
}

const u = (order: number, preference: number, uri: string, services = 'ALTO:https'): NaptrRecord => rec(order, preference, 'u', services, `!.*!${uri}!`)
const uris = (result: { uris: { uri: string }[] }): string[] => result.uris.map((found) => found.uri)

test('records are sorted by order, then preference, and returned with both', async () => {
  const resolver = memoryResolver({ 'example.net': [u(100, 20, 'https://b.example/ird'), u(100, 10, 'https://a.example/ird'), u(100, 15, 'https://c.example/ird')] })
  const result = await resolveUnaptr(resolver, 'example.net', 'ALTO')
  assert.deepEqual(result.uris, [
    { uri: 'https://a.example/ird', order: 100, preference: 10 },
    { uri: 'https://c.example/ird', order: 100, preference: 15 },
    { uri: 'https://b.example/ird', order: 100, preference: 20 },
  ])
  assert.equal(result.temporary, false)
  assert.deepEqual(result.trace, [{ name: 'example.net', outcome: 'records', detail: '3 NAPTR, 3 for ALTO' }])
})

test('the lowest order group with a usable URI wins; higher orders are not considered (RFC 3403 §4.1)', async () => {
  const resolver = memoryResolver({
    'example.net': [u(20, 1, 'https://later.example/ird'), u(10, 50, 'https://first.example/ird'), u(5, 1, 'ftp://bad.example/ird'), rec(1, 1, 'u', 'SIP+D2U', '!.*!sip:x@example.net!')],
  })
  assert.deepEqual((await resolveUnaptr(resolver, 'example.net', 'ALTO')).uris, [{ uri: 'https://first.example/ird', order: 10, preference: 50 }])
})

test('services match case-insensitively, with several protocols; other services and flags are ignored', async () => {
  const resolver = memoryResolver({
    'example.net': [
      u(10, 1, 'https://upper.example/ird', 'alto:HTTPS'),
      u(10, 2, 'https://both.example/ird', 'ALTO:http:https'),
      u(10, 3, 'https://ftp.example/ird', 'ALTO:ftp'),
      u(10, 4, 'https://other.example/ird', 'XALTO:https'),
      u(10, 5, 'https://bare.example/ird', 'ALTO'),
      rec(10, 6, 's', 'ALTO:https', '!.*!https://s-flag.example/ird!'),
      rec(10, 7, 'a', 'ALTO:https', '', 'a.example'),
      rec(10, 8, 'U', 'ALTO:https', '!.*!https://upper-flag.example/ird!'),
    ],
  })
  assert.deepEqual(uris(await resolveUnaptr(resolver, 'example.net', 'ALTO')), ['https://upper.example/ird', 'https://both.example/ird', 'https://upper-flag.example/ird'])
  assert.deepEqual(resolver.asked, ['example.net'])
})

test('ALTO:http and http URIs only with allowHttp; the URI scheme must be one the record lists', async () => {
  const resolver = memoryResolver({
    'example.net': [
      u(10, 1, 'http://plain.example/ird', 'ALTO:http'),
      u(10, 2, 'https://secure.example/ird'),
      u(10, 3, 'http://mismatch.example/ird', 'ALTO:https'),
      u(10, 4, 'https://mismatch2.example/ird', 'ALTO:http'),
    ],
  })
  assert.deepEqual(uris(await resolveUnaptr(resolver, 'example.net', 'ALTO')), ['https://secure.example/ird'])
  assert.deepEqual(uris(await resolveUnaptr(resolver, 'example.net', 'ALTO', { allowHttp: true })), ['http://plain.example/ird', 'https://secure.example/ird'])
  // A full service parameter (RFC 8686 §3.1 "SP") narrows the protocols.
  assert.deepEqual(uris(await resolveUnaptr(resolver, 'example.net', 'ALTO:http', { allowHttp: true })), ['http://plain.example/ird'])
  assert.deepEqual(uris(await resolveUnaptr(resolver, 'example.net', 'alto:https', { allowHttp: true })), ['https://secure.example/ird'])
})

test('terminal records need a literal whole-string regexp, an empty replacement and a valid URI', async () => {
  const resolver = memoryResolver({
    'example.net': [
      rec(10, 1, 'u', 'ALTO:https', '!.*!https://with-replacement.example/ird!', 'other.example'),
      rec(10, 2, 'u', 'ALTO:https', '!^foo$!https://partial.example/ird!'),
      rec(10, 3, 'u', 'ALTO:https', '!.*!not a uri!'),
      rec(10, 4, 'u', 'ALTO:https', '!.*!https://!'),
      rec(10, 5, 'u', 'ALTO:https', '!.*!https://ok.example/ird!'),
    ],
  })
  assert.deepEqual(uris(await resolveUnaptr(resolver, 'example.net', 'ALTO')), ['https://ok.example/ird'])
})

test('literalReplacement: any delimiter, escapes, the i flag; no back-references', () => {
  assert.equal(literalReplacement('!.*!https://a.example/ird!'), 'https://a.example/ird')
  assert.equal(literalReplacement('#.*#https://a.example/ird#'), 'https://a.example/ird')
  assert.equal(literalReplacement('!^.*$!https://a.example/ird!'), 'https://a.example/ird')
  assert.equal(literalReplacement('!.*!https://a.example/ird!i'), 'https://a.example/ird')
  assert.equal(literalReplacement('!.*!https://a.example/x\\!y!'), 'https://a.example/x!y')
  assert.equal(literalReplacement('!.*!https://a.example/x\\\\y!'), 'https://a.example/x\\y')
  for (const bad of ['', '!', '!.*!https://a.example/ird', '!.*!https://a.example/ird!x', '!.*!https://a.example/\\1!', '!.+!https://a.example/!', '1.*1https://a.example/1', '\\.*\\x\\', '!.*!!', '!.*!a!b!'])
    assert.equal(literalReplacement(bad), undefined, bad)
})

test('a non-terminal record is followed; its URIs carry its order and preference', async () => {
  const resolver = memoryResolver({
    'example.net': [rec(100, 10, '', 'ALTO:https', '', 'alto.example.org'), u(100, 20, 'https://direct.example.net/ird')],
    'alto.example.org': [u(7, 2, 'https://b.example.org/ird'), u(7, 1, 'https://a.example.org/ird')],
  })
  const result = await resolveUnaptr(resolver, 'example.net', 'ALTO')
  assert.deepEqual(result.uris, [
    { uri: 'https://a.example.org/ird', order: 100, preference: 10 },
    { uri: 'https://b.example.org/ird', order: 100, preference: 10 },
    { uri: 'https://direct.example.net/ird', order: 100, preference: 20 },
  ])
  assert.deepEqual(resolver.asked, ['example.net', 'alto.example.org'])
})

test('non-terminals: empty services allowed; a regexp, an empty or invalid replacement disqualifies; other services are not followed', async () => {
  const resolver = memoryResolver({
    start: [rec(1, 1, '', 'ALTO:https', '!.*!x!', 'regexp.example'), rec(1, 2, '', 'SIP+D2U', '', 'sip.example'), rec(1, 3, '', '', '', 'open.example'), rec(1, 4, '', 'ALTO:https', '', ''), rec(1, 5, '', 'ALTO:https', '', 'bad..name')],
    'open.example': [u(1, 1, 'https://open.example/ird')],
  })
  assert.deepEqual(uris(await resolveUnaptr(resolver, 'start', 'ALTO')), ['https://open.example/ird'])
  assert.deepEqual(resolver.asked, ['start', 'open.example'])
})

test('loops are cut and chains are bounded by maxDepth', async () => {
  const loop = memoryResolver({ a: [rec(1, 1, '', 'ALTO:https', '', 'b')], b: [rec(1, 1, '', 'ALTO:https', '', 'a')] })
  const looped = await resolveUnaptr(loop, 'a', 'ALTO')
  assert.deepEqual(looped.uris, [])
  assert.deepEqual(looped.trace.map((step) => step.outcome), ['records', 'records', 'loop'])
  assert.deepEqual(loop.asked, ['a', 'b'])

  const chain: Record<string, NaptrRecord[]> = {}
  for (let i = 0; i < 10; i++) chain[`n${i}`] = [rec(1, 1, '', 'ALTO:https', '', `n${i + 1}`)]
  chain.n10 = [u(1, 1, 'https://deep.example/ird')]
  const deep = memoryResolver(chain)
  const bounded = await resolveUnaptr(deep, 'n0', 'ALTO', { maxDepth: 3 })
  assert.deepEqual(bounded.uris, [])
  assert.deepEqual(bounded.trace.at(-1), { name: 'n4', outcome: 'depth', detail: 'more than 3 non-terminal records in a row' })
  assert.deepEqual(deep.asked, ['n0', 'n1', 'n2', 'n3'])
  assert.deepEqual(uris(await resolveUnaptr(deep, 'n0', 'ALTO', { maxDepth: 10 })), ['https://deep.example/ird'])
})

test('a wide tree of non-terminals stops after MAX_LOOKUPS lookups', async () => {
  const wide = memoryResolver({ root: Array.from({ length: 50 }, (_, i) => rec(1, i, '', 'ALTO:https', '', `leaf${i}`)) })
  const result = await resolveUnaptr(wide, 'root', 'ALTO')
  assert.equal(wide.asked.length, MAX_LOOKUPS)
  assert.equal(result.trace.at(-1)!.outcome, 'depth')
})

test('a temporary failure anywhere marks the result temporary; a throwing resolver counts as one', async () => {
  const resolver = memoryResolver({
    'example.net': [rec(1, 1, '', 'ALTO:https', '', 'down.example'), rec(2, 1, '', 'ALTO:https', '', 'broken.example'), u(3, 1, 'https://fallback.example/ird')],
    'down.example': { kind: 'temporary', reason: 'SERVFAIL' },
    'broken.example': () => {
      throw new Error('socket exploded')
    },
  })
  const result = await resolveUnaptr(resolver, 'example.net', 'ALTO')
  assert.deepEqual(uris(result), ['https://fallback.example/ird'])
  assert.equal(result.temporary, true)
  assert.deepEqual(result.trace.slice(1), [
    { name: 'down.example', outcome: 'temporary', detail: 'SERVFAIL' },
    { name: 'broken.example', outcome: 'temporary', detail: 'socket exploded' },
  ])
})

test('a URI reached twice is reported once', async () => {
  const resolver = memoryResolver({ 'example.net': [u(1, 1, 'https://same.example/ird'), rec(1, 2, '', '', '', 'x.example')], 'x.example': [u(1, 1, 'https://same.example/ird')] })
  assert.deepEqual((await resolveUnaptr(resolver, 'example.net', 'ALTO')).uris, [{ uri: 'https://same.example/ird', order: 1, preference: 1 }])
})

test('names are normalized; bad names and service parameters are bad input', async () => {
  const resolver = memoryResolver({ 'example.net': [u(1, 1, 'https://a.example/ird')] })
  assert.deepEqual(uris(await discoverDomain(resolver, 'Example.NET.')), ['https://a.example/ird'])
  assert.deepEqual(resolver.asked, ['example.net'])
  const code = (error: unknown): boolean => isAltoError(error) && error.code === 'ALTO_ERR_BAD_DISCOVERY_INPUT'
  for (const bad of ['', '.', 'a..b', `${'x'.repeat(64)}.example`, 'has space.example', `${'abcdefgh.'.repeat(30)}net`]) await assert.rejects(discoverDomain(resolver, bad), code, bad)
  await assert.rejects(resolveUnaptr(resolver, 'example.net', 'ALTO https'), code)
  await assert.rejects(resolveUnaptr(resolver, 'example.net', ''), code)
  await assert.rejects(resolveUnaptr(resolver, 'example.net', 'ALTO', { maxDepth: -1 }), code)
})

test('NODATA and NXDOMAIN end a domain lookup with no URI; the error explains each name', async () => {
  const resolver = memoryResolver({ 'example.net': { kind: 'nodata', ttl: 60 } })
  const nodata = await discoverDomain(resolver, 'example.net')
  assert.deepEqual(nodata, { uris: [], temporary: false, trace: [{ name: 'example.net', outcome: 'nodata' }] })
  const error = discoveryFailedError('example.net', nodata)
  assert.equal(error.code, 'ALTO_ERR_DISCOVERY_FAILED')
  assert.equal(error.message, 'ALTO discovery for example.net found no server: example.net NODATA')
  const missing = await discoverDomain(resolver, 'missing.example')
  assert.deepEqual(missing.trace, [{ name: 'missing.example', outcome: 'nxdomain' }])
})

test('xdomdisc: NXDOMAIN, NODATA and temporary failures continue; the first name with URIs ends it', async () => {
  const resolver = memoryResolver({
    '100.51.198.in-addr.arpa': { kind: 'temporary', reason: 'timeout after 100 ms' },
    '51.198.in-addr.arpa': { kind: 'nodata', ttl: 60 },
    '198.in-addr.arpa': [u(100, 10, 'https://r8.example/ird')],
  })
  const result = await xdomdisc(resolver, '198.51.100.3')
  assert.deepEqual(uris(result), ['https://r8.example/ird'])
  assert.equal(result.matchedName, '198.in-addr.arpa')
  assert.equal(result.temporary, true)
  assert.deepEqual(result.trace.map((step) => step.outcome), ['nxdomain', 'temporary', 'nodata', 'records'])
  assert.match(discoveryFailedError('x', { ...result, uris: [] }).message, /a later retry may succeed/)
})

test('xdomdisc: an empty list when nothing matches; no lookup at all for an unsupported prefix', async () => {
  const resolver = memoryResolver({})
  const result = await xdomdisc(resolver, '2001:db8::/48')
  assert.deepEqual(result.uris, [])
  assert.equal(result.matchedName, undefined)
  assert.equal(result.temporary, false)
  assert.equal(resolver.asked.length, 3)
  await assert.rejects(xdomdisc(resolver, '2001:db8::/31'), (error: unknown) => isAltoError(error) && error.code === 'ALTO_ERR_UNSUPPORTED_PREFIX')
  assert.equal(resolver.asked.length, 3)
})

test('xdomdisc passes the service parameter and allowHttp on', async () => {
  const resolver = memoryResolver({ '3.100.51.198.in-addr.arpa': [u(1, 1, 'http://plain.example/ird', 'ALTO:http'), u(1, 2, 'https://secure.example/ird')] })
  assert.deepEqual(uris(await xdomdisc(resolver, '198.51.100.3')), ['https://secure.example/ird'])
  assert.deepEqual(uris(await xdomdisc(resolver, '198.51.100.3', { allowHttp: true })), ['http://plain.example/ird', 'https://secure.example/ird'])
  assert.deepEqual(uris(await xdomdisc(resolver, '198.51.100.3', { allowHttp: true, service: 'ALTO:http' })), ['http://plain.example/ird'])
})
