/**
 * UdpNaptrResolver against an in-process responder (faults on demand), and CachingNaptrResolver
 * on an injected clock.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createSocket, type Socket } from 'node:dgram'
import { CachingNaptrResolver, parseDnsServer, UdpNaptrResolver, type NaptrAnswer, type NaptrResolver } from '../../src/discovery/dns.ts'
import { xdomdisc } from '../../src/discovery/xdomdisc.ts'
import { isAltoError } from '../../src/protocol/errors.ts'
import { naptr, soa, startFakeDns, type FakeDns, type FakeHandler } from '../helpers/fake-dns.ts'

const ALTO1 = naptr('example.net', 100, 10, 'u', 'ALTO:https', '!.*!https://alto1.example.net/ird!', '.', 300)

async function withFake(handler: FakeHandler, fn: (fake: FakeDns) => Promise<void>): Promise<void> {
  const fake = await startFakeDns(handler)
  try {
    await fn(fake)
  } finally {
    await fake.close()
  }
}

/** A UDP socket that reads queries and never answers. */
async function silentServer(): Promise<{ server: string; received: () => number; close: () => Promise<void> }> {
  const socket: Socket = createSocket('udp4')
  let count = 0
  socket.on('message', () => count++)
  const port = await new Promise<number>((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket.address().port)))
  return { server: `127.0.0.1:${port}`, received: () => count, close: () => new Promise((resolve) => socket.close(() => resolve())) }
}

test('records for the asked name, with TTLs; root replacement is empty, others lose the trailing dot', async () => {
  await withFake(
    () => ({
      answers: [
        ALTO1,
        naptr('example.net', 100, 20, '', 'ALTO:https', '', 'alto.example.org', 120),
        naptr('elsewhere.example', 1, 1, 'u', 'ALTO:https', '!.*!https://x/!'),
      ],
    }),
    async (fake) => {
      const resolver = new UdpNaptrResolver({ servers: [fake.server] })
      assert.deepEqual(await resolver.naptr('Example.NET.'), {
        kind: 'records',
        records: [
          { order: 100, preference: 10, flags: 'u', services: 'ALTO:https', regexp: '!.*!https://alto1.example.net/ird!', replacement: '', ttl: 300 },
          { order: 100, preference: 20, flags: '', services: 'ALTO:https', regexp: '', replacement: 'alto.example.org', ttl: 120 },
        ],
      })
      assert.equal(fake.queries[0]!.name, 'example.net')
    },
  )
})

test('a CNAME in the answer is followed to the NAPTR records of its target', async () => {
  await withFake(
    () => ({ answers: [{ type: 'CNAME', name: 'alias.example', ttl: 60, data: 'example.net' }, ALTO1] }),
    async (fake) => {
      const answer = await new UdpNaptrResolver({ servers: [fake.server] }).naptr('alias.example')
      assert.equal(answer.kind, 'records')
      assert.equal(answer.kind === 'records' && answer.records[0]!.regexp, '!.*!https://alto1.example.net/ird!')
    },
  )
})

test('NODATA and NXDOMAIN carry the negative TTL of the SOA (RFC 2308 §5), or 0 without one', async () => {
  const table: Record<string, ReturnType<FakeHandler>> = {
    'nodata.example': { authorities: [soa('example', 60, 3600)] },
    'nx.example': { rcode: 3, authorities: [soa('example', 900, 120)] },
    'bare.example': { rcode: 3 },
  }
  await withFake((name) => table[name]!, async (fake) => {
    const resolver = new UdpNaptrResolver({ servers: [fake.server] })
    assert.deepEqual(await resolver.naptr('nodata.example'), { kind: 'nodata', ttl: 60 })
    assert.deepEqual(await resolver.naptr('nx.example'), { kind: 'nxdomain', ttl: 120 })
    assert.deepEqual(await resolver.naptr('bare.example'), { kind: 'nxdomain', ttl: 0 })
  })
})

test('SERVFAIL and REFUSED are temporary; the server is not asked again in the same lookup', async () => {
  await withFake((name) => ({ rcode: name === 'refused.example' ? 5 : 2 }), async (fake) => {
    const resolver = new UdpNaptrResolver({ servers: [fake.server], tries: 3 })
    assert.deepEqual(await resolver.naptr('example.net'), { kind: 'temporary', reason: `${fake.server}: SERVFAIL` })
    assert.equal(fake.queries.length, 1)
    assert.deepEqual(await resolver.naptr('refused.example'), { kind: 'temporary', reason: `${fake.server}: REFUSED` })
  })
})

test('a server that does not answer: each try times out, the answer is temporary', async () => {
  const silent = await silentServer()
  try {
    const resolver = new UdpNaptrResolver({ servers: [silent.server], timeoutMs: 150, tries: 2 })
    const started = performance.now()
    const answer = await resolver.naptr('example.net')
    const elapsed = performance.now() - started
    assert.deepEqual(answer, { kind: 'temporary', reason: `${silent.server}: timeout after 150 ms` })
    assert.equal(silent.received(), 2)
    assert.ok(elapsed >= 290 && elapsed < 2000, `took ${elapsed} ms`)
  } finally {
    await silent.close()
  }
})

test('XDOMDISC over a server that does not answer: every name is tried once, the result is empty and temporary', async () => {
  const silent = await silentServer()
  try {
    const resolver = new UdpNaptrResolver({ servers: [silent.server], timeoutMs: 100, tries: 1 })
    const result = await xdomdisc(resolver, '198.51.100.3')
    assert.deepEqual(result.uris, [])
    assert.equal(result.temporary, true)
    assert.deepEqual(result.trace.map((step) => step.outcome), ['temporary', 'temporary', 'temporary', 'temporary'])
    assert.equal(silent.received(), 4)
  } finally {
    await silent.close()
  }
})

test('the next server answers when the first is silent or refuses the port', async () => {
  const silent = await silentServer()
  const closed = await silentServer()
  await closed.close() // nobody listens there now: ICMP port unreachable
  await withFake(() => ({ answers: [ALTO1] }), async (fake) => {
    const resolver = new UdpNaptrResolver({ servers: [closed.server, silent.server, fake.server], timeoutMs: 100, tries: 1 })
    assert.equal((await resolver.naptr('example.net')).kind, 'records')
    assert.equal(silent.received(), 1)
  })
  await silent.close()
  const started = performance.now()
  const refused = await new UdpNaptrResolver({ servers: [closed.server], timeoutMs: 2000 }).naptr('example.net')
  assert.deepEqual(refused, { kind: 'temporary', reason: `${closed.server}: UDP ECONNREFUSED` })
  assert.ok(performance.now() - started < 1000, 'refused at once, not after the timeout')
})

test('a garbled answer is temporary; an answer with another id is ignored', async () => {
  await withFake(
    (name, query) => (name === 'garbled.example' ? { raw: Buffer.concat([Buffer.from([query.id! >> 8, query.id! & 0xff]), Buffer.from('junk')]) } : { raw: Buffer.alloc(40, 0xab) }),
    async (fake) => {
      const resolver = new UdpNaptrResolver({ servers: [fake.server], timeoutMs: 150, tries: 1 })
      const garbled = await resolver.naptr('garbled.example')
      assert.equal(garbled.kind, 'temporary')
      assert.match(garbled.kind === 'temporary' ? garbled.reason : '', /garbled answer/)
      assert.deepEqual(await resolver.naptr('spoofed.example'), { kind: 'temporary', reason: `${fake.server}: timeout after 150 ms` })
    },
  )
})

test('a truncated UDP answer is asked again over TCP', async () => {
  const many = Array.from({ length: 30 }, (_, i) => naptr('example.net', 100, i, 'u', 'ALTO:https', `!.*!https://alto${i}.example.net/ird!`))
  await withFake(() => ({ answers: many, truncateUdp: true }), async (fake) => {
    const answer = await new UdpNaptrResolver({ servers: [fake.server] }).naptr('example.net')
    assert.equal(answer.kind === 'records' && answer.records.length, 30)
    assert.deepEqual(fake.queries.map((q) => q.transport), ['udp', 'tcp'])
  })
})

test('requireAuthenticated sets DO and AD in the query and treats answers without AD as temporary', async () => {
  await withFake((name) => ({ answers: [ALTO1], authenticated: name === 'signed.example' }), async (fake) => {
    const resolver = new UdpNaptrResolver({ servers: [fake.server], requireAuthenticated: true })
    assert.deepEqual(await resolver.naptr('example.net'), { kind: 'temporary', reason: `${fake.server}: answer not authenticated (no AD bit)` })
    assert.equal((await resolver.naptr('signed.example')).kind, 'nodata') // the ALTO1 record is for another name
    assert.equal(fake.queries[0]!.dnssecOk, true)
    assert.ok(fake.queries[0]!.flags & (1 << 5), 'AD bit in the query')
    await new UdpNaptrResolver({ servers: [fake.server] }).naptr('example.net')
    assert.equal(fake.queries.at(-1)!.dnssecOk, false)
  })
})

test('close() ends lookups in flight as temporary and refuses new ones', async () => {
  const silent = await silentServer()
  try {
    const resolver = new UdpNaptrResolver({ servers: [silent.server], timeoutMs: 5000 })
    const pending = resolver.naptr('example.net')
    await new Promise((resolve) => setTimeout(resolve, 50))
    resolver.close()
    assert.deepEqual(await pending, { kind: 'temporary', reason: `${silent.server}: resolver closed` })
    assert.deepEqual(await resolver.naptr('example.net'), { kind: 'temporary', reason: 'resolver closed' })
  } finally {
    await silent.close()
  }
})

test('server addresses: IPv4 and IPv6 literals with or without a port; nothing else', () => {
  assert.deepEqual(parseDnsServer('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353, family: 4, text: '127.0.0.1:5353' })
  assert.deepEqual(parseDnsServer('192.0.2.1'), { host: '192.0.2.1', port: 53, family: 4, text: '192.0.2.1:53' })
  assert.deepEqual(parseDnsServer('[::1]:5353'), { host: '::1', port: 5353, family: 6, text: '[::1]:5353' })
  assert.deepEqual(parseDnsServer('[2001:db8::53]'), { host: '2001:db8::53', port: 53, family: 6, text: '[2001:db8::53]:53' })
  assert.deepEqual(parseDnsServer('2001:db8::53'), { host: '2001:db8::53', port: 53, family: 6, text: '[2001:db8::53]:53' })
  const bad = (error: unknown): boolean => isAltoError(error) && error.code === 'ALTO_ERR_BAD_DISCOVERY_INPUT'
  for (const text of ['dns.example:53', '127.0.0.1:0', '127.0.0.1:70000', '[::1]:x', '', '127.0.0.1:']) assert.throws(() => parseDnsServer(text), bad, text)
  assert.throws(() => new UdpNaptrResolver({ servers: [], timeoutMs: 0 }), bad)
  assert.throws(() => new UdpNaptrResolver({ servers: [], tries: 1.5 }), bad)
})

test('without servers every lookup is temporary; the default is the system list', async () => {
  assert.deepEqual(await new UdpNaptrResolver({ servers: [] }).naptr('example.net'), { kind: 'temporary', reason: 'no DNS server configured' })
  assert.doesNotThrow(() => new UdpNaptrResolver())
})

/** An inner resolver answering from a table (NXDOMAIN otherwise) on the next turn of the event loop, recording lookups. */
function scriptedResolver(table: Record<string, NaptrAnswer>): NaptrResolver & { calls: string[] } {
  const calls: string[] = []
  return {
    calls,
    async naptr(name) {
      calls.push(name)
      await new Promise((resolve) => setImmediate(resolve))
      return table[name] ?? { kind: 'nxdomain', ttl: 30 }
    },
  }
}

const record = (ttl: number) => ({ order: 1, preference: 1, flags: 'u', services: 'ALTO:https', regexp: '!.*!https://a.example/ird!', replacement: '', ttl })

test('cache: the second lookup is answered from the cache with the TTL counted down, until the smallest TTL ends', async () => {
  let now = 1_000_000
  const inner = scriptedResolver({ 'example.net': { kind: 'records', records: [record(300), record(120)] } })
  const cache = new CachingNaptrResolver(inner, { now: () => now })
  await cache.naptr('example.net')
  now += 20_000
  assert.deepEqual(await cache.naptr('EXAMPLE.net.'), { kind: 'records', records: [record(100), record(100)] })
  assert.deepEqual(cache.stats, { queries: 1, hits: 1 })
  now += 100_000
  await cache.naptr('example.net')
  assert.deepEqual(cache.stats, { queries: 2, hits: 1 })
  assert.deepEqual(inner.calls, ['example.net', 'example.net'])
})

test('cache: maxTtlS bounds records, negativeTtlS bounds NODATA/NXDOMAIN; temporary and TTL 0 are not kept', async () => {
  let now = 0
  const inner = scriptedResolver({
    long: { kind: 'records', records: [record(86_400)] },
    empty: { kind: 'nodata', ttl: 3600 },
    zero: { kind: 'records', records: [record(0)] },
    down: { kind: 'temporary', reason: 'SERVFAIL' },
  })
  const cache = new CachingNaptrResolver(inner, { now: () => now, maxTtlS: 60, negativeTtlS: 10 })
  for (const name of ['long', 'empty', 'missing', 'zero', 'down']) await cache.naptr(name)
  now += 9_000
  for (const name of ['long', 'empty', 'missing', 'zero', 'down']) await cache.naptr(name)
  assert.deepEqual(inner.calls, ['long', 'empty', 'missing', 'zero', 'down', 'zero', 'down'])
  assert.deepEqual(await cache.naptr('missing'), { kind: 'nxdomain', ttl: 1 })
  now += 2_000
  for (const name of ['long', 'empty', 'missing']) await cache.naptr(name)
  assert.deepEqual(inner.calls.slice(7), ['empty', 'missing'])
  now += 60_000
  await cache.naptr('long')
  assert.equal(inner.calls.at(-1), 'long')
})

test('cache: concurrent lookups of one name share one query; maxEntries drops the oldest', async () => {
  const inner = scriptedResolver({ a: { kind: 'records', records: [record(300)] } })
  const cache = new CachingNaptrResolver(inner, { maxEntries: 2 })
  const answers = await Promise.all([cache.naptr('a'), cache.naptr('a'), cache.naptr('A.')])
  assert.equal(new Set(answers.map((a) => JSON.stringify(a))).size, 1)
  assert.deepEqual(inner.calls, ['a'])
  assert.deepEqual(cache.stats, { queries: 1, hits: 2 })
  await cache.naptr('b')
  await cache.naptr('c')
  await cache.naptr('a')
  assert.deepEqual(inner.calls, ['a', 'b', 'c', 'a'])
})

test('cache: a lookup that throws is not kept and does not block the next one', async () => {
  let fail = true
  const cache = new CachingNaptrResolver({
    async naptr() {
      if (fail) throw new Error('boom')
      return { kind: 'nodata', ttl: 60 }
    },
  })
  await assert.rejects(cache.naptr('x.example'), /boom/)
  fail = false
  assert.deepEqual(await cache.naptr('x.example'), { kind: 'nodata', ttl: 60 })
  assert.throws(() => new CachingNaptrResolver(cache, { maxEntries: 0 }), (error: unknown) => isAltoError(error) && error.code === 'ALTO_ERR_BAD_DISCOVERY_INPUT')
})
