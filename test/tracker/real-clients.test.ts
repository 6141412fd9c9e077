/**
 * The tracker with real BitTorrent clients from Debian (aria2, Transmission, ctorrent) bound to
 * loopback addresses in three PIDs of a real ALTO server: every client ends with a byte-identical
 * file, and every answer lists the requester's own PID first, then by cost, with the random share
 * as configured.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { AltoClient } from '../../src/client/client.ts'
import { GuidanceProvider } from '../../src/tracker/guidance.ts'
import { SingleGuidanceSource } from '../../src/tracker/guidance-source.ts'
import { AltoTracker, type AnnounceOutcome } from '../../src/tracker/tracker.ts'
import type { AnnounceParams } from '../../src/tracker/announce.ts'
import { createLab, missingPrograms, type ClientHandle, type ClientKind } from '../helpers/bittorrent.ts'
import { loopbackAltoServer } from '../helpers/tracker.ts'

const silent = pino({ level: 'silent' })
// Costs between the lab's PIDs (test/helpers/tracker.ts).
const COST: Record<string, Record<string, number>> = {
  'pid-a': { 'pid-a': 1, 'pid-b': 5, 'pid-c': 9 },
  'pid-b': { 'pid-a': 5, 'pid-b': 1, 'pid-c': 5 },
  'pid-c': { 'pid-a': 9, 'pid-b': 5, 'pid-c': 1 },
}

async function trackerLab(t: { after(fn: () => unknown): void }, randomFraction: number) {
  const missing = await missingPrograms()
  assert.deepEqual(missing, [], `install the real clients (.ci/run does): ${missing.join(', ')}`)
  const alto = loopbackAltoServer()
  const altoUrl = await alto.listen()
  const tracker = new AltoTracker({
    port: 0,
    udpPort: 0,
    guidance: new SingleGuidanceSource(new GuidanceProvider({ client: new AltoClient(altoUrl), logger: silent })),
    randomFraction,
    numwant: 50,
    interval: 2,
    logger: silent,
  })
  const urls = await tracker.listen()
  const answers: { params: AnnounceParams; outcome: AnnounceOutcome }[] = []
  tracker.on('announce', (params, outcome) => answers.push({ params, outcome }))
  t.after(async () => {
    await tracker.close()
    await alto.close()
  })
  return { tracker, urls, answers, lab: await createLab(t) }
}

/** Every guided answer: own PID first, then non-decreasing cost, then exactly the random share. */
function checkAnswers(answers: { params: AnnounceParams; outcome: AnnounceOutcome }[], randomFraction: number): number {
  let checked = 0
  for (const { params, outcome } of answers) {
    if (!outcome.guided || outcome.peers.length === 0) continue
    const n = outcome.peers.length
    // floor(n * f) random picks, one more when the only-own-PID rule replaced a guided pick.
    const quota = Math.floor(n * randomFraction)
    assert.ok(outcome.random === quota || outcome.random === quota + 1, `random share for ${params.ip}: ${outcome.random} of ${n}`)
    const own = outcome.requesterPid!
    const guided = outcome.peerPids!.slice(0, n - outcome.random)
    const costs = guided.map((pid) => COST[own]![pid!]!)
    for (let i = 1; i < costs.length; i++) assert.ok(costs[i]! >= costs[i - 1]!, `cost order for ${params.ip}: ${guided.join(',')}`)
    assert.ok(outcome.peers.every((p) => !(p.ip === params.ip && p.port === params.port)), 'never itself')
    checked++
  }
  return checked
}

const CLIENTS: [ClientKind, string][] = [
  ['aria2', '127.1.0.11'],
  ['ctorrent', '127.1.0.12'],
  ['aria2', '127.2.0.10'],
  ['transmission', '127.2.0.11'],
  ['ctorrent', '127.3.0.10'],
  ['aria2', '127.3.0.11'],
]

test('six real clients in three PIDs complete through the ALTO-guided tracker over HTTP', { timeout: 240_000 }, async (t) => {
  const { urls, answers, lab, tracker } = await trackerLab(t, 0.2)
  const payload = await lab.payload({ size: 3 * 1024 * 1024, seed: 7 })
  const torrent = await lab.torrent(payload, { announce: urls.http })
  const seeder = await lab.start('aria2', torrent, { address: '127.1.0.10', role: 'seeder' })
  await seeder.listening()
  const leechers: ClientHandle[] = []
  for (const [kind, address] of CLIENTS) leechers.push(await lab.start(kind, torrent, { address, keepSeeding: true }))
  try {
    await Promise.all(leechers.map((l) => l.done(180_000)))
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${lab.diagnostics()}`)
  }
  // Every client announced, from its own address, and each got guided answers.
  const announcers = new Set(answers.map((a) => a.params.ip))
  for (const address of ['127.1.0.10', ...CLIENTS.map(([, a]) => a)]) assert.ok(announcers.has(address), `${address} announced`)
  const checked = checkAnswers(answers, 0.2)
  assert.ok(checked >= CLIENTS.length, `checked ${checked} guided answers`)
  // Same-PID peers come first: a pid-a client that saw the whole swarm got pid-a peers at the top.
  const pidA = answers.filter((a) => a.outcome.requesterPid === 'pid-a' && a.outcome.guided)
  const full = pidA.reduce<(typeof answers)[number] | undefined>((best, a) => (!best || a.outcome.peers.length > best.outcome.peers.length ? a : best), undefined)
  assert.ok(full && full.outcome.peers.length >= 4, `a pid-a client got most of the swarm: ${pidA.map((a) => a.outcome.peerPids!.join(',')).join(' | ')}`)
  const ownCount = full!.outcome.peerPids!.filter((p) => p === 'pid-a').length
  assert.deepEqual(full!.outcome.peerPids!.slice(0, Math.min(ownCount, full!.outcome.peers.length - full!.outcome.random)), Array(Math.min(ownCount, full!.outcome.peers.length - full!.outcome.random)).fill('pid-a'))
  assert.ok(tracker.stats.locality > 0)
  t.diagnostic(`tracker stats: ${JSON.stringify(tracker.stats)}`)
})

test('UDP announces from real clients (aria2, Transmission) complete the same way', { timeout: 240_000 }, async (t) => {
  const { urls, answers, lab } = await trackerLab(t, 0.2)
  const payload = await lab.payload({ size: 2 * 1024 * 1024, seed: 8 })
  const torrent = await lab.torrent(payload, { announce: urls.udp! })
  const seeder = await lab.start('aria2', torrent, { address: '127.1.0.20', role: 'seeder' })
  await seeder.listening()
  const leechers = [
    await lab.start('aria2', torrent, { address: '127.2.0.20', keepSeeding: true }),
    await lab.start('transmission', torrent, { address: '127.3.0.20', keepSeeding: true }),
    await lab.start('aria2', torrent, { address: '127.1.0.21', keepSeeding: true }),
  ]
  try {
    await Promise.all(leechers.map((l) => l.done(180_000)))
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${lab.diagnostics()}`)
  }
  assert.ok(answers.every((a) => a.params.transport === 'udp'))
  assert.ok(checkAnswers(answers, 0.2) >= 3)
})
