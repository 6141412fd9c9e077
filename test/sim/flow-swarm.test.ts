/**
 * The flow-level swarm on cases small enough to check by hand: capacities bound the transfer
 * rate, bytes are conserved, leechers leave and seeders stay.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { seededRng } from '../../src/cost/rank.ts'
import { runFlowSwarm, type FlowPeer, type PeerSelector } from '../../src/sim/flow-swarm.ts'

/** Everyone knows everyone: the tracker returns every peer present. */
function everyone(count: number): PeerSelector & { present: Set<number> } {
  const present = new Set<number>()
  return {
    present,
    join: (p) => void present.add(p),
    complete: () => {},
    leave: (p) => void present.delete(p),
    announce: (p) => [...present].filter((q) => q !== p).slice(0, count),
  }
}

const MiB = 2 ** 20

test('one seed, one leecher: the download takes size / min(upload, download)', () => {
  const peers: FlowPeer[] = [
    { pid: 0, up: 100_000, down: 100_000, joinAt: 0, role: 'super-seed' },
    { pid: 1, up: 10_000, down: 50_000, joinAt: 0, role: 'leecher' },
  ]
  const run = runFlowSwarm(peers, 2, everyone(10), { pieces: 16, pieceSize: MiB / 16 }, seededRng(1))
  // 1 MiB at 50,000 B/s is 20.97 s, so the last piece arrives in the 21st step.
  assert.equal(run.doneAt[1], 21)
  assert.equal(run.downloaded[1], MiB)
  assert.equal(run.uploaded[0], MiB)
  assert.equal(run.traffic[0 * 2 + 1], MiB)
  assert.equal(run.useful, MiB)
})

test('the seed\'s upload is shared: four leechers on a 100 kB/s seed take four times as long', () => {
  const peers: FlowPeer[] = [{ pid: 0, up: 100_000, down: 100_000, joinAt: 0, role: 'super-seed' }]
  for (let i = 0; i < 4; i++) peers.push({ pid: 0, up: 0, down: 1e9, joinAt: 0, role: 'seeder' })
  const run = runFlowSwarm(peers, 1, everyone(10), { pieces: 8, pieceSize: 125_000 }, seededRng(2))
  // 4 × 1 MB through 100 kB/s: 40 s, whatever the order of pieces.
  const last = Math.max(...[1, 2, 3, 4].map((i) => run.doneAt[i]!))
  assert.equal(last, 40)
})

test('a swarm conserves bytes: every byte uploaded is downloaded, and completed peers got the file exactly', () => {
  const rng = seededRng(5)
  const peers: FlowPeer[] = [{ pid: 0, up: 200_000, down: 200_000, joinAt: 0, role: 'super-seed' }]
  for (let i = 0; i < 60; i++) peers.push({ pid: i % 3, up: 10_000 + rng() * 100_000, down: 200_000, joinAt: rng() * 20, role: i % 2 ? 'seeder' : 'leecher' })
  const run = runFlowSwarm(peers, 3, everyone(8), { pieces: 20, pieceSize: 50_000 }, seededRng(6))
  const up = run.uploaded.reduce((a, b) => a + b, 0)
  const down = run.downloaded.reduce((a, b) => a + b, 0)
  const traffic = run.traffic.reduce((a, b) => a + b, 0)
  assert.ok(Math.abs(up - down) < 1e-6 * down)
  assert.ok(Math.abs(traffic - down) < 1e-6 * down)
  assert.ok(Math.abs(run.useful - down) < 1e-6 * down)
  for (let i = 1; i < peers.length; i++) {
    assert.ok(!Number.isNaN(run.doneAt[i]!), `peer ${i} finished`)
    assert.ok(Math.abs(run.downloaded[i]! - 1_000_000) < 1e-6, `peer ${i} downloaded ${run.downloaded[i]}`)
  }
})

test('a PID uplink limits traffic between PIDs', () => {
  const peers: FlowPeer[] = [
    { pid: 0, up: 1e6, down: 1e6, joinAt: 0, role: 'super-seed' },
    { pid: 1, up: 0, down: 1e6, joinAt: 0, role: 'leecher' },
  ]
  const run = runFlowSwarm(peers, 2, everyone(10), { pieces: 10, pieceSize: 100_000, pidUplink: 10_000 }, seededRng(1))
  assert.equal(run.doneAt[1], 100)
})
