/**
 * The tracker over real sockets with a real ALTO server: HTTP and UDP announces and scrapes,
 * guided selection, malformed requests, IPv6 peers, and ALTO going away mid-run.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { pino } from 'pino'
import { AltoClient } from '../../src/client/client.ts'
import { seededRng } from '../../src/cost/rank.ts'
import { GuidanceProvider } from '../../src/tracker/guidance.ts'
import { SingleGuidanceSource } from '../../src/tracker/guidance-source.ts'
import { AltoTracker, type AnnounceOutcome } from '../../src/tracker/tracker.ts'
import type { AnnounceParams } from '../../src/tracker/announce.ts'
import { compactPeers, httpAnnounce, loopbackAltoServer, udpClient } from '../helpers/tracker.ts'

const silent = pino({ level: 'silent' })
const hash = (text: string) => createHash('sha1').update(text).digest()
const reason = (answer: Record<string, any>) => Buffer.from(answer['failure reason'] ?? []).toString()
const peerId = (n: number) => Buffer.from(`-TT0001-${String(n).padStart(12, '0')}`)

async function lab(options: { randomFraction?: number; staleAfterMs?: number; host?: string; cacheTtlMs?: number } = {}) {
  const alto = loopbackAltoServer()
  const altoUrl = await alto.listen()
  const provider = new GuidanceProvider({ client: new AltoClient(altoUrl, { retries: 0, timeoutMs: 1000, ...(options.cacheTtlMs === undefined ? {} : { cacheTtlMs: options.cacheTtlMs }) }), logger: silent, staleAfterMs: options.staleAfterMs ?? 600_000 })
  const tracker = new AltoTracker({
    host: options.host ?? '127.0.0.1',
    port: 0,
    udpPort: 0,
    guidance: new SingleGuidanceSource(provider),
    randomFraction: options.randomFraction ?? 0,
    rng: seededRng(9),
    logger: silent,
    interval: 60,
  })
  const urls = await tracker.listen()
  const announces: { params: AnnounceParams; outcome: AnnounceOutcome }[] = []
  tracker.on('announce', (params, outcome) => announces.push({ params, outcome }))
  return {
    alto,
    provider,
    tracker,
    urls,
    announces,
    close: async () => {
      await tracker.close()
      await alto.close()
    },
  }
}

test('HTTP announces: same-PID peers first, compact peers, never the requester; scrape counts', async (t) => {
  const env = await lab()
  t.after(env.close)
  const info = hash('torrent-1')
  const sources = ['127.1.0.10', '127.1.0.11', '127.2.0.10', '127.2.0.11', '127.3.0.10', '127.3.0.11']
  for (const [i, source] of sources.entries()) await httpAnnounce(env.urls.http, source, { infoHash: info, peerId: peerId(i), port: 7000 + i, event: 'started', left: i === 0 ? 0 : 1000 })
  const answer = await httpAnnounce(env.urls.http, '127.1.0.11', { infoHash: info, peerId: peerId(1), port: 7001 })
  assert.equal(answer.interval, 60)
  assert.equal(answer.complete, 1)
  assert.equal(answer.incomplete, 5)
  const peers = compactPeers(answer.peers)
  assert.equal(peers.length, 5)
  assert.ok(!peers.includes('127.1.0.11:7001'))
  assert.deepEqual(peers.slice(0, 3), ['127.1.0.10:7000', ...['127.2.0.10:7002', '127.2.0.11:7003'].sort((a, b) => peers.indexOf(a) - peers.indexOf(b))])
  const last = env.announces.at(-1)!.outcome
  assert.equal(last.requesterPid, 'pid-a')
  assert.deepEqual(last.peerPids, ['pid-a', 'pid-b', 'pid-b', 'pid-c', 'pid-c'])
  assert.equal(last.guided, true)

  const scrape = await new Promise<any>((resolve, reject) => {
    import('node:http').then(({ get }) =>
      get(`${env.urls.http.replace('/announce', '/scrape')}?info_hash=${[...info].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}`, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c) => chunks.push(c)).on('end', () => import('bencode').then((b) => resolve(b.default.decode(Buffer.concat(chunks)))))
      }).on('error', reject),
    )
  })
  const entry = [...Object.values<any>(scrape.files)][0]
  assert.deepEqual({ complete: entry.complete, incomplete: entry.incomplete, downloaded: entry.downloaded }, { complete: 1, incomplete: 5, downloaded: 0 })
  const stats = env.tracker.stats
  assert.ok(stats.locality > 0 && stats.guidedAnnounces >= 1)
})

test('UDP and HTTP share one swarm and give the same kind of answer', async (t) => {
  const env = await lab()
  t.after(env.close)
  const info = hash('torrent-udp')
  await httpAnnounce(env.urls.http, '127.2.0.20', { infoHash: info, peerId: peerId(1), port: 7101, event: 'started' })
  await httpAnnounce(env.urls.http, '127.3.0.20', { infoHash: info, peerId: peerId(2), port: 7102, event: 'started' })
  const udpUrl = new URL(env.urls.udp!)
  const client = await udpClient(udpUrl.hostname, Number(udpUrl.port), '127.2.0.21')
  t.after(() => client.close())
  const connectionId = await client.connect()
  const answer = (await client.exchange(client.announcePacket(connectionId, { infoHash: info, peerId: peerId(3), port: 7103 })))!
  assert.equal(answer.readUInt32BE(0), 1, 'announce action')
  assert.equal(answer.readUInt32BE(4), 99, 'transaction id echoed')
  assert.equal(answer.readUInt32BE(8), 60, 'interval')
  assert.equal(answer.readUInt32BE(12), 3, 'leechers')
  assert.deepEqual(compactPeers(answer.subarray(20)), ['127.2.0.20:7101', '127.3.0.20:7102'])
  // The UDP peer is now in the swarm for HTTP announcers, first for a pid-b requester.
  const http = await httpAnnounce(env.urls.http, '127.2.0.22', { infoHash: info, peerId: peerId(4), port: 7104, event: 'started' })
  assert.equal(compactPeers(http.peers)[0]!.startsWith('127.2.0.2'), true)
  // Scrape over UDP.
  const scrape = Buffer.alloc(36)
  connectionId.copy(scrape, 0)
  scrape.writeUInt32BE(2, 8)
  scrape.writeUInt32BE(7, 12)
  info.copy(scrape, 16)
  const scraped = (await client.exchange(scrape))!
  assert.deepEqual([scraped.readUInt32BE(0), scraped.readUInt32BE(4), scraped.readUInt32BE(8), scraped.readUInt32BE(12), scraped.readUInt32BE(16)], [2, 7, 0, 0, 4])
})

test('malformed announces get a failure reason or are dropped, and the tracker carries on', async (t) => {
  const env = await lab()
  t.after(env.close)
  const warnings: Error[] = []
  env.tracker.on('warning', (w) => warnings.push(w))
  const info = hash('torrent-bad')
  assert.match(reason(await httpAnnounce(env.urls.http, '127.1.0.30', { infoHash: info.subarray(0, 19), peerId: peerId(1), port: 1 })), /info_hash/)
  assert.match(reason(await httpAnnounce(env.urls.http, '127.1.0.30', { infoHash: info, peerId: peerId(1), port: undefined })), /missing port/)
  assert.match(reason(await httpAnnounce(env.urls.http, '127.1.0.30', { infoHash: info, peerId: peerId(1), port: 99999 })), /invalid port/)
  assert.match(reason(await httpAnnounce(env.urls.http, '127.1.0.30', { infoHash: info, peerId: Buffer.from('short'), port: 1 })), /peer_id/)
  assert.match(reason(await httpAnnounce(env.urls.http, '127.1.0.30', { infoHash: info, peerId: peerId(1), port: 1, event: 'exploded' })), /event/)
  assert.match(reason(await httpAnnounce(env.urls.http, '127.1.0.30', { infoHash: info, peerId: peerId(1), port: 1 }, '%zz&&=&info_hash')), /info_hash/)

  const udpUrl = new URL(env.urls.udp!)
  const client = await udpClient(udpUrl.hostname, Number(udpUrl.port), '127.1.0.31')
  t.after(() => client.close())
  assert.equal(await client.exchange(Buffer.from('junk'), 300), undefined, 'junk is dropped')
  assert.equal(await client.exchange(Buffer.alloc(16, 0xff), 300) !== undefined, true, 'a packet with an unknown action gets an error')
  const forged = client.announcePacket(Buffer.alloc(8, 1), { infoHash: info, peerId: peerId(2), port: 9 })
  const refused = (await client.exchange(forged))!
  assert.equal(refused.readUInt32BE(0), 3)
  assert.match(refused.subarray(8).toString(), /connection id/)
  const connectionId = await client.connect()
  const short = (await client.exchange(client.announcePacket(connectionId, { infoHash: info, peerId: peerId(2), port: 9 }).subarray(0, 60)))!
  assert.equal(short.readUInt32BE(0), 3)
  assert.ok(warnings.length >= 6)
  // Still serving.
  const ok = await httpAnnounce(env.urls.http, '127.1.0.30', { infoHash: info, peerId: peerId(1), port: 7000, event: 'started' })
  assert.equal(ok['failure reason'], undefined)
})

test('IPv6 peers come back in peers6 (HTTP) and as 18-byte peers (UDP over IPv6)', async (t) => {
  const env = await lab({ host: '::1' })
  t.after(env.close)
  const info = hash('torrent-v6')
  await httpAnnounce(env.urls.http, '::1', { infoHash: info, peerId: peerId(1), port: 7201, event: 'started' })
  const answer = await httpAnnounce(env.urls.http, '::1', { infoHash: info, peerId: peerId(2), port: 7202, event: 'started' })
  assert.deepEqual(compactPeers(answer.peers6, 18), ['[0:0:0:0:0:0:0:1]:7201'])
  assert.equal(compactPeers(answer.peers).length, 0)
  assert.equal(env.announces.at(-1)!.outcome.requesterPid, 'pid-a', '::1 is in pid-a')
  const client = await udpClient('::1', Number(new URL(env.urls.udp!.replace('udp:', 'http:')).port), '::1')
  t.after(() => client.close())
  const connectionId = await client.connect()
  const udp = (await client.exchange(client.announcePacket(connectionId, { infoHash: info, peerId: peerId(3), port: 7203 })))!
  assert.equal(udp.length, 20 + 18 * 2)
})

test('a peer that stops leaves the swarm; the requester never gets itself back', async (t) => {
  const env = await lab()
  t.after(env.close)
  const info = hash('torrent-stop')
  await httpAnnounce(env.urls.http, '127.1.0.40', { infoHash: info, peerId: peerId(1), port: 7301, event: 'started' })
  await httpAnnounce(env.urls.http, '127.1.0.41', { infoHash: info, peerId: peerId(2), port: 7302, event: 'started' })
  await httpAnnounce(env.urls.http, '127.1.0.40', { infoHash: info, peerId: peerId(1), port: 7301, event: 'stopped' })
  const answer = await httpAnnounce(env.urls.http, '127.1.0.41', { infoHash: info, peerId: peerId(2), port: 7302 })
  assert.deepEqual(compactPeers(answer.peers), [])
  assert.equal(answer.incomplete, 1)
})

test('ALTO killed mid-run: announces go on; guided while the last maps are fresh, random after', async (t) => {
  // The client revalidates on every refresh, so a dead server is noticed at once.
  const env = await lab({ staleAfterMs: 300, cacheTtlMs: 0 })
  t.after(() => env.tracker.close())
  const info = hash('torrent-kill')
  for (let i = 0; i < 4; i++) await httpAnnounce(env.urls.http, `127.${1 + (i % 2)}.0.5${i}`, { infoHash: info, peerId: peerId(i), port: 7400 + i, event: 'started' })
  assert.equal(env.announces.at(-1)!.outcome.guided, true)
  await env.alto.close()
  await env.provider.refresh() // fails: the server is gone
  assert.match(String(env.provider.status.lastError), /Cannot reach/)
  await new Promise((resolve) => setTimeout(resolve, 350))
  const answer = await httpAnnounce(env.urls.http, '127.1.0.50', { infoHash: info, peerId: peerId(0), port: 7400 })
  assert.equal(compactPeers(answer.peers).length, 3, 'still answered')
  assert.equal(env.announces.at(-1)!.outcome.guided, false, 'random selection once the maps are stale')
})
