/**
 * The real-client lab (test/helpers/bittorrent.ts) against Debian's opentracker: aria2, Transmission and
 * ctorrent, each on its own loopback address, download a seeded payload over http:// and udp:// trackers.
 * This checks the harness itself, so the ALTO tracker's integration tests can trust it.
 */
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { createLab, freePort, missingPrograms, type ClientHandle, type Lab, type Payload } from '../helpers/bittorrent.ts'

const MiB = 1024 * 1024
const missing = await missingPrograms()

function within<T>(ms: number, promise: Promise<T>): Promise<T | undefined> {
  return Promise.race([promise, sleep(ms, undefined, { ref: false })])
}

async function assertSameBytes(client: ClientHandle, payload: Payload): Promise<void> {
  const [got, want] = await Promise.all([readFile(client.dataPath), readFile(payload.path)])
  assert.ok(got.equals(want), `${client.name}: downloaded file differs from the payload`)
}

/** Fail with every process's output, since a stuck swarm is rarely explained by one client alone. */
async function withDiagnostics<T>(lab: Lab, work: Promise<T>): Promise<T> {
  try {
    return await work
  } catch (err) {
    throw new Error(`${(err as Error).message}\n\n${lab.diagnostics()}`, { cause: err })
  }
}

/** Wait for `client` to finish, and note how long it took from `since`. */
async function finished(t: TestContext, lab: Lab, client: ClientHandle, since: number): Promise<void> {
  await withDiagnostics(lab, client.done())
  t.diagnostic(`${client.name}: complete after ${((Date.now() - since) / 1000).toFixed(1)} s`)
}

// Concurrent: most of the time goes to waiting for Transmission, which only asks for pieces at its
// 10-second rechoke pulse.
describe('real BitTorrent clients on loopback, through opentracker', { concurrency: true }, () => {
  // A missing client fails the tests (.ci/run installs them): a skipped test is not a passing one.
  test('the real clients are installed', () => assert.deepEqual(missing, [], `install: ${missing.join(', ')} (apt-get, as .ci/run does)`))

  test('an aria2 seeder serves aria2, Transmission and ctorrent leechers over http://', { timeout: 60_000 }, async (t) => {
    const lab = await createLab(t)
    const payload = await lab.payload({ size: 3 * MiB, seed: 7 })
    const port = await freePort('127.0.0.1')
    const torrent = await lab.torrent(payload, { announce: `http://127.0.0.1:${port}/announce`, pieceLength: 16 })
    await lab.opentracker({ port, infoHashes: [torrent.infoHash] })

    const seeder = await lab.aria2(torrent, { address: '127.1.0.10', role: 'seeder' })
    await withDiagnostics(lab, seeder.listening())
    const leechers = await Promise.all([
      lab.aria2(torrent, { address: '127.2.0.10' }),
      lab.transmission(torrent, { address: '127.3.0.10' }),
      lab.ctorrent(torrent, { address: '127.2.0.11' }),
    ])
    const started = Date.now()
    await Promise.all(leechers.map((leecher) => finished(t, lab, leecher, started)))
    for (const leecher of leechers) await assertSameBytes(leecher, payload)
    // Without keepSeeding, a leecher leaves on its own once complete.
    const statuses = await Promise.all(leechers.map((leecher) => within(15_000, leecher.exited)))
    assert.deepEqual(statuses.map((s) => s?.code), [0, 0, 0], lab.diagnostics())
  })

  test('over udp://, a leecher that keeps seeding serves a later one after the seeder has left', { timeout: 60_000 }, async (t) => {
    const lab = await createLab(t)
    const payload = await lab.payload({ size: 3 * MiB, seed: 8 })
    const port = await freePort('127.0.0.1')
    const torrent = await lab.torrent(payload, { announce: `udp://127.0.0.1:${port}`, pieceLength: 17 })
    await lab.opentracker({ port, infoHashes: [torrent.infoHash] })

    const seeder = await lab.aria2(torrent, { address: '127.1.0.10', role: 'seeder' })
    await withDiagnostics(lab, seeder.listening())
    const first = await lab.aria2(torrent, { address: '127.2.0.10', keepSeeding: true })
    await finished(t, lab, first, Date.now())
    await seeder.stop()
    const second = await lab.transmission(torrent, { address: '127.3.0.10' })
    await finished(t, lab, second, Date.now())
    await assertSameBytes(first, payload)
    await assertSameBytes(second, payload)
    assert.equal(first.process.exitCode, null, 'the seeding leecher is still running')
  })
})
