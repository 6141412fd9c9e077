/**
 * Several ISPs: with discovery, each announcing peer is guided by its own ISP's ALTO server,
 * found by RFC 8686 through a real Knot server; peers of networks without ALTO get random peers.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { pino } from 'pino'
import { AltoServerLocator } from '../../src/client/discover.ts'
import { CachingNaptrResolver, UdpNaptrResolver } from '../../src/discovery/dns.ts'
import { seededRng } from '../../src/cost/rank.ts'
import { buildSnapshot } from '../../src/provisioning/snapshot.ts'
import { createAltoServer } from '../../src/server/app.ts'
import { DiscoveredGuidanceSource } from '../../src/tracker/guidance-source.ts'
import { AltoTracker, type AnnounceOutcome } from '../../src/tracker/tracker.ts'
import { alto, SOA, startKnot } from '../helpers/knot.ts'
import { httpAnnounce, loopbackAltoServer } from '../helpers/tracker.ts'

const silent = pino({ level: 'silent' })

test('each peer gets its own ISP guidance; networks without ALTO get random peers', async (t) => {
  const isp1 = loopbackAltoServer() // pid-a 127.1/16, pid-b 127.2/16, pid-c 127.3/16
  const isp2 = createAltoServer(
    buildSnapshot({
      networkMaps: [{ id: 'isp2', pids: { x: { ipv4: ['127.5.1.0/24'] }, y: { ipv4: ['127.5.2.0/24'] }, rest: { ipv4: ['0.0.0.0/0'] } } }],
      costMaps: [{ networkMap: 'isp2', metric: 'routingcost', intraPid: 1, default: 50, costs: { x: { y: 3 }, y: { x: 3 } } }],
      properties: [],
    }),
    { port: 0, logger: silent },
  )
  const url1 = await isp1.listen()
  const url2 = await isp2.listen()
  const knot = await startKnot({
    zones: {
      '127.in-addr.arpa': `$ORIGIN 127.in-addr.arpa.\n$TTL 300\n${SOA}` + alto('1', 100, 10, url1, 'ALTO:http') + alto('2', 100, 10, url1, 'ALTO:http') + alto('5', 100, 10, url2, 'ALTO:http'),
    },
  })
  const resolver = new CachingNaptrResolver(new UdpNaptrResolver({ servers: [knot.server] }))
  const source = new DiscoveredGuidanceSource({ locator: new AltoServerLocator({ resolver, allowHttp: true }), logger: silent })
  const tracker = new AltoTracker({ port: 0, udpPort: false, guidance: source, randomFraction: 0, rng: seededRng(3), logger: silent })
  const { http } = await tracker.listen()
  t.after(async () => {
    await tracker.close()
    await knot.stop()
    await isp1.close()
    await isp2.close()
  })
  const outcomes = new Map<string, AnnounceOutcome>()
  tracker.on('announce', (params, outcome) => outcomes.set(params.ip, outcome))
  const info = createHash('sha1').update('multi-isp').digest()
  const sources = ['127.1.0.1', '127.1.0.2', '127.2.0.1', '127.2.0.2', '127.5.1.1', '127.5.1.2', '127.5.2.1', '127.5.2.2', '127.9.0.1', '127.9.0.2']
  const peerId = (i: number) => Buffer.from(`-TT0001-${String(i).padStart(12, '0')}`)
  for (const [i, ip] of sources.entries()) await httpAnnounce(http, ip, { infoHash: info, peerId: peerId(i), port: 7000 + i, event: 'started' })
  assert.equal(outcomes.get('127.1.0.1')!.guided, false, 'the first announce of a network does not wait for DNS')
  await source.settled()
  const announce = async (i: number) => {
    await httpAnnounce(http, sources[i]!, { infoHash: info, peerId: peerId(i), port: 7000 + i, numwant: 9 })
    return outcomes.get(sources[i]!)!
  }
  const fromIsp1 = await announce(0)
  assert.equal(fromIsp1.guided, true)
  assert.equal(fromIsp1.requesterPid, 'pid-a')
  assert.deepEqual(fromIsp1.peerPids!.slice(0, 3), ['pid-a', 'pid-b', 'pid-b'])
  const fromIsp2 = await announce(4)
  assert.equal(fromIsp2.guided, true)
  assert.equal(fromIsp2.requesterPid, 'x')
  assert.deepEqual(fromIsp2.peerPids!.slice(0, 3), ['x', 'y', 'y'])
  const fromNowhere = await announce(8)
  assert.equal(fromNowhere.guided, false)
  assert.equal(fromNowhere.peers.length, 9)
  const status = source.status() as { discovered: { alto: string }[] }
  assert.deepEqual(status.discovered.map((d) => d.alto).sort(), [url1, url2].sort())
})
