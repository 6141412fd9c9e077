/**
 * Peer selection over PID buckets: cost order, random share, seeders get leechers, the requester
 * never gets itself, at least one peer outside its PID.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { seededRng } from '../../src/cost/rank.ts'
import { selectPeers, type SelectionGuidance } from '../../src/tracker/selection.ts'
import { Swarm, type PidClassifier, type SwarmPeer } from '../../src/tracker/swarm.ts'

// Three PIDs by the second octet of 127.P.x.y: cost from PID 0 is 1 to itself, 5 to PID 1, 9 to PID 2.
const classifier: PidClassifier = { version: {}, pidCount: 3, pidOf: (_family, bytes) => (bytes[1]! >= 1 && bytes[1]! <= 3 ? bytes[1]! - 1 : -1) }
const groups: Record<number, number[][]> = { 0: [[0], [1], [2, 3]], 1: [[1], [0, 2], [3]], 2: [[2], [1], [0, 3]] }

function peer(ip: string, seeder = false): SwarmPeer {
  const bytes = new Uint8Array(ip.split('.').map(Number))
  return { key: ip, family: 'ipv4', ip, port: 6881, bytes, compact: Buffer.alloc(6), seeder, lastSeen: 0 }
}

function swarmOf(counts: [number, number, number], seeders = 0): Swarm {
  const swarm = new Swarm()
  counts.forEach((n, pid) => {
    for (let i = 0; i < n; i++) swarm.upsert(peer(`127.${pid + 1}.0.${i + 1}`, i < seeders))
  })
  return swarm
}

function guidanceFor(swarm: Swarm): SelectionGuidance {
  return { bucketing: swarm.bucketing(classifier, classifier), groupsFrom: (pid) => groups[pid]! }
}

test('guided lists: own PID first, then the next cheapest; the random share at the end', () => {
  const swarm = swarmOf([30, 30, 30])
  const guidance = guidanceFor(swarm)
  const requester = swarm.peers.get('127.1.0.1')!
  const rng = seededRng(1)
  const { peers, guided, samePid, random } = selectPeers({ swarm, requester, numwant: 40, randomFraction: 0.2, rng, guidance })
  assert.equal(guided, true)
  assert.equal(peers.length, 40)
  assert.equal(random, 8)
  assert.ok(!peers.includes(requester), 'never itself')
  assert.equal(new Set(peers).size, 40)
  const pids = peers.map((p) => guidance.bucketing.pidOf(p))
  // 32 guided: the 29 other PID-0 peers, then 3 from PID 1.
  assert.deepEqual(pids.slice(0, 29), Array(29).fill(0))
  assert.deepEqual(pids.slice(29, 32), [1, 1, 1])
  assert.equal(samePid, pids.filter((p) => p === 0).length)
})

test('the random share is uniform over the rest of the swarm', () => {
  const swarm = swarmOf([10, 100, 100])
  const guidance = guidanceFor(swarm)
  const requester = swarm.peers.get('127.1.0.1')!
  const rng = seededRng(2)
  const fromPid = [0, 0, 0]
  for (let i = 0; i < 2000; i++) {
    const { peers } = selectPeers({ swarm, requester, numwant: 20, randomFraction: 0.2, rng, guidance })
    for (const p of peers.slice(16)) fromPid[guidance.bucketing.pidOf(p)]!++
  }
  // 4 random picks from ~200 peers not yet chosen (6 left in PID 1... roughly half each of PID 1 and 2).
  assert.ok(Math.abs(fromPid[1]! - fromPid[2]!) < 0.12 * (fromPid[1]! + fromPid[2]!), JSON.stringify(fromPid))
})

test('equal-cost PIDs are drawn from together, uniformly', () => {
  const swarm = swarmOf([1, 0, 0])
  for (let i = 0; i < 50; i++) swarm.upsert(peer(`127.3.1.${i + 1}`))
  for (let i = 0; i < 50; i++) swarm.upsert(peer(`127.9.1.${i + 1}`)) // no PID: same group as PID 2 from PID 0
  const guidance = guidanceFor(swarm)
  const requester = swarm.peers.get('127.1.0.1')!
  const rng = seededRng(3)
  let third = 0
  let none = 0
  for (let i = 0; i < 1000; i++) {
    for (const p of selectPeers({ swarm, requester, numwant: 10, randomFraction: 0, rng, guidance }).peers) {
      if (guidance.bucketing.pidOf(p) === 2) third++
      else none++
    }
  }
  assert.ok(Math.abs(third - none) < 0.08 * (third + none), `${third} vs ${none}`)
})

test('a seeder is given leechers only', () => {
  const swarm = swarmOf([20, 20, 0], 10)
  const guidance = guidanceFor(swarm)
  const requester = swarm.peers.get('127.1.0.1')!
  assert.equal(requester.seeder, true)
  const { peers } = selectPeers({ swarm, requester, numwant: 50, randomFraction: 0.2, rng: seededRng(4), guidance })
  assert.equal(peers.length, 20, 'all 20 leechers, no seeder')
  assert.ok(peers.every((p) => !p.seeder))
})

test('at least one peer outside the requester PID when the swarm has one, even with no random share', () => {
  const swarm = swarmOf([40, 1, 0])
  const guidance = guidanceFor(swarm)
  const requester = swarm.peers.get('127.1.0.1')!
  for (let seed = 0; seed < 50; seed++) {
    const { peers, samePid } = selectPeers({ swarm, requester, numwant: 10, randomFraction: 0, rng: seededRng(seed), guidance })
    assert.equal(peers.length, 10)
    assert.equal(samePid, 9)
    assert.equal(guidance.bucketing.pidOf(peers[9]!), 1)
  }
  const alone = swarmOf([5, 0, 0])
  const only = selectPeers({ swarm: alone, requester: alone.peers.get('127.1.0.1')!, numwant: 10, randomFraction: 0.2, rng: seededRng(1), guidance: guidanceFor(alone) })
  assert.equal(only.peers.length, 4, 'a single-PID swarm gives what it has')
})

test('without guidance, or for a requester in no PID, selection is random', () => {
  const swarm = swarmOf([10, 10, 10])
  swarm.upsert(peer('127.50.0.1'))
  const unguided = selectPeers({ swarm, requester: swarm.peers.get('127.1.0.1')!, numwant: 30, randomFraction: 0.2, rng: seededRng(5) })
  assert.equal(unguided.guided, false)
  assert.equal(unguided.peers.length, 30)
  const outsider = selectPeers({ swarm, requester: swarm.peers.get('127.50.0.1')!, numwant: 5, randomFraction: 0.2, rng: seededRng(5), guidance: guidanceFor(swarm) })
  assert.equal(outsider.guided, false)
})

test('swarm bookkeeping: upsert, seeder change, remove and expiry keep buckets consistent', () => {
  const swarm = swarmOf([3, 3, 0])
  const guidance = guidanceFor(swarm)
  const p = swarm.peers.get('127.1.0.2')!
  swarm.upsert({ ...p, seeder: true, lastSeen: 5 })
  assert.equal(swarm.seederCount, 1)
  assert.ok(guidance.bucketing.seeders[0]!.has(p) && !guidance.bucketing.leechers[0]!.has(p))
  swarm.remove('127.1.0.2')
  assert.ok(!guidance.bucketing.seeders[0]!.has(p))
  assert.equal(swarm.seederCount, 0)
  swarm.upsert({ ...swarm.peers.get('127.2.0.1')!, ip: '127.1.0.99', bytes: new Uint8Array([127, 1, 0, 99]) })
  assert.equal(guidance.bucketing.pidOf(swarm.peers.get('127.2.0.1')!), 0, 'a moved peer is re-bucketed')
  assert.equal(swarm.expire(1), 5)
  assert.equal(swarm.peers.size, 0)
  assert.equal(guidance.bucketing.leechers.reduce((n, l) => n + l.size, 0), 0)
})
