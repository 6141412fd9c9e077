/**
 * Clients found by DNS through a real Knot server: RFC 7286 for a domain, RFC 8686 for addresses
 * (with the locator's caching), and `alto discover` as a user runs it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AltoClient } from '../../src/client/client.ts'
import { AltoServerLocator } from '../../src/client/discover.ts'
import { CachingNaptrResolver, UdpNaptrResolver } from '../../src/discovery/dns.ts'
import { isAltoError } from '../../src/protocol/errors.ts'
import { alto, SOA, startKnot } from '../helpers/knot.ts'
import { rfcServer } from '../helpers/rfc-server.ts'
import { runAlto } from '../helpers/cli.ts'

async function world(t: { after(fn: () => unknown): void }) {
  const isp1 = rfcServer({ port: 0 })
  const isp2 = rfcServer({ port: 0 })
  const url1 = await isp1.listen()
  const url2 = await isp2.listen()
  const knot = await startKnot({
    zones: {
      'isp.test': `$ORIGIN isp.test.\n$TTL 300\n${SOA}` + alto('@', 100, 20, url2, 'ALTO:http') + alto('@', 100, 10, url1, 'ALTO:http'),
      // 127.1.0.0/16 is ISP 1's (an R16 record), 127.2.5.0/24 is ISP 2's (R24); nothing else.
      '127.in-addr.arpa': `$ORIGIN 127.in-addr.arpa.\n$TTL 300\n${SOA}` + alto('1', 100, 10, url1, 'ALTO:http') + alto('5.2', 100, 10, url2, 'ALTO:http'),
    },
  })
  t.after(async () => {
    await knot.stop()
    await isp1.close()
    await isp2.close()
  })
  return { knot, url1, url2 }
}

test('RFC 7286: a client for a domain, from the best record whose IRD answers', async (t) => {
  const { knot, url1 } = await world(t)
  const client = await AltoClient.discover('isp.test', { dns: [knot.server], allowHttp: true })
  t.after(() => client.close())
  assert.equal(client.irdUri, url1)
  assert.equal((await client.networkMap()).meta.vtag['resource-id'], 'my-default-network-map')
  await assert.rejects(AltoClient.discover('isp.test', { dns: [knot.server] }), (error: unknown) => isAltoError(error) && error.code === 'ALTO_ERR_DISCOVERY_FAILED', 'http URIs need allowHttp')
})

test('RFC 8686: the server responsible for each address; answers cached per reverse name', async (t) => {
  const { knot, url1, url2 } = await world(t)
  const resolver = new CachingNaptrResolver(new UdpNaptrResolver({ servers: [knot.server] }))
  const locator = new AltoServerLocator({ resolver, allowHttp: true })
  t.after(() => locator.close())
  assert.equal((await AltoClient.discoverFor('127.1.2.3', { locator }))?.irdUri, url1)
  assert.equal((await AltoClient.discoverFor('127.2.5.77', { locator }))?.irdUri, url2)
  assert.equal(await AltoClient.discoverFor('127.9.0.1', { locator }), undefined)
  // A tracker asks per /24: the second peer of a /24 costs no DNS query at all.
  const before = resolver.stats.queries
  const a = await locator.locate('127.1.7.0/24')
  const b = await locator.locate('127.1.7.0/24')
  assert.equal(a, b)
  assert.equal(a.client?.irdUri, url1)
  assert.equal(a.result.matchedName, '1.127.in-addr.arpa')
  assert.equal(resolver.stats.queries, before + 1, 'R24 asked once; R16 came from the cache')
  await assert.rejects(locator.locate('10.0.0.0/7'), (error: unknown) => isAltoError(error) && error.code === 'ALTO_ERR_UNSUPPORTED_PREFIX')
})

test('`alto discover` prints URIs best-first; failures exit 1 with the names tried, bad input 2', async (t) => {
  const { knot, url1, url2 } = await world(t)
  const dns = ['--dns', knot.server, '--allow-http']
  const forward = await runAlto(['discover', '--domain', 'isp.test', ...dns, '--json'])
  assert.equal(forward.status, 0, forward.stderr)
  assert.deepEqual(JSON.parse(forward.stdout), [
    { uri: url1, order: 100, preference: 10 },
    { uri: url2, order: 100, preference: 20 },
  ])
  const reverse = await runAlto(['discover', '--for', '127.2.5.9', ...dns])
  assert.equal(reverse.status, 0)
  assert.equal(reverse.stdout, `${url2}\t(order 100, preference 10)\n`)
  const none = await runAlto(['discover', '--for', '127.9.9.9', ...dns, '--json'])
  assert.equal(none.status, 1)
  const failure = JSON.parse(none.stdout)
  assert.deepEqual(failure.tried.map((s: { name: string }) => s.name), ['9.9.9.127.in-addr.arpa', '9.9.127.in-addr.arpa', '9.127.in-addr.arpa', '127.in-addr.arpa'])
  assert.match(none.stderr, /found no server/)
  const bad = await runAlto(['discover', '--for', '10.0.0.0/7', ...dns])
  assert.equal(bad.status, 2)
  assert.match(bad.stderr, /unsupported prefix length/)
  assert.equal((await runAlto(['discover', ...dns])).status, 2)
})
