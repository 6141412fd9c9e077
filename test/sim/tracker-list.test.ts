/**
 * The tracker-list scenario: exact values, a Monte Carlo check that runs the real tracker, and
 * the favourable peers a peer-side versus a tracker-side ALTO query can choose from.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runTrackerList } from '../../src/sim/scenarios/tracker-list.ts'

test('exact and Monte Carlo values agree with the closed form', () => {
  const r = runTrackerList({ trials: 8000, seed: 7 })
  const { exact, monteCarlo } = r.summary
  assert.equal(exact.pNone, 0.36419452)
  assert.equal(exact.pAtMostFour, 0.99678336)
  assert.equal(exact.expected, 1)
  // Within four standard errors.
  assert.ok(Math.abs(monteCarlo.pNone - exact.pNone) < 4 * Math.sqrt((exact.pNone * (1 - exact.pNone)) / 8000), String(monteCarlo.pNone))
  assert.ok(Math.abs(monteCarlo.pAtMostFour - exact.pAtMostFour) < 0.005)
  assert.ok(Math.abs(monteCarlo.mean - 1) < 0.05)
})

test('tracker-side ALTO gives the favourable peers a peer-side query never sees', () => {
  const r = runTrackerList({ trials: 2000, seed: 3, randomFractions: [0, 0.2, 0.5] })
  const [none, twenty, half] = r.summary.trackerSide
  // 0% random: every favourable peer but the one replaced by a peer outside the PID.
  assert.equal(none!.favourableOnList, 99)
  // 20% random: 80 guided places, all favourable, plus a rare favourable random pick.
  assert.ok(twenty!.favourableOnList >= 80 && twenty!.favourableOnList < 80.5)
  assert.ok(half!.favourableOnList >= 50 && half!.favourableOnList < 50.5)
  assert.ok(r.summary.peerSide.favourableOnList < 1.2)
  assert.ok(r.summary.peerSide.favourableAmongConnected <= r.summary.peerSide.favourableOnList)
})

test('the same seed gives the same JSON, another seed another Monte Carlo sample', () => {
  const a = JSON.stringify(runTrackerList({ trials: 2000, seed: 11 }))
  const b = JSON.stringify(runTrackerList({ trials: 2000, seed: 11 }))
  const c = JSON.stringify(runTrackerList({ trials: 2000, seed: 12 }))
  assert.equal(a, b)
  assert.notEqual(a, c)
})

test('small swarms and impossible sizes', () => {
  const r = runTrackerList({ swarm: 50, favourable: 5, list: 50, trials: 200, seed: 1 })
  assert.equal(r.summary.exact.pNone, 0)
  assert.equal(r.summary.monteCarlo.pNone, 0)
  assert.throws(() => runTrackerList({ swarm: 10, favourable: 20 }), RangeError)
})
