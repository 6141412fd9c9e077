/**
 * The live-streaming scenario on a small mesh: ALTO keeps chunks inside ASes, results are
 * reproducible, and the numbers are in range.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runLiveStreaming } from '../../src/sim/scenarios/live-streaming.ts'

const small = { peers: 200, ases: 20, duration: 14, warmup: 3, deadline: 6 }

test('ALTO-guided meshes carry less inter-AS traffic than random ones', () => {
  const r = runLiveStreaming({ ...small, loads: [0.6], seed: 2 })
  const by = Object.fromEntries(r.summary.outcomes.map((o) => [o.policy, o]))
  assert.ok(by['alto-tracker']!.interAsShare < by.random!.interAsShare - 0.2, JSON.stringify(by))
  assert.ok(by.alto!.interAsShare < by.random!.interAsShare)
  assert.ok(by['alto-tracker']!.sameAsNeighbours > by.random!.sameAsNeighbours)
  for (const o of r.summary.outcomes) {
    assert.ok(o.medianDelayMs > 0 && o.medianDelayMs <= o.p90DelayMs && o.p90DelayMs <= o.p99DelayMs, JSON.stringify(o))
    assert.ok(o.p99DelayMs <= 6000)
    assert.ok(o.missed >= 0 && o.missed < 0.5, JSON.stringify(o))
  }
})

test('higher load, longer delays', () => {
  const r = runLiveStreaming({ ...small, loads: [0.4, 0.95], policies: ['random'], seed: 3 })
  const [low, high] = r.summary.outcomes
  assert.ok(high!.medianDelayMs > low!.medianDelayMs, JSON.stringify(r.summary.outcomes))
})

test('the same seed gives identical JSON', () => {
  const a = JSON.stringify(runLiveStreaming({ ...small, peers: 80, ases: 10, seed: 5 }))
  const b = JSON.stringify(runLiveStreaming({ ...small, peers: 80, ases: 10, seed: 5 }))
  assert.equal(a, b)
  assert.notEqual(a, JSON.stringify(runLiveStreaming({ ...small, peers: 80, ases: 10, seed: 6 })))
})

test('bad options are refused', () => {
  assert.throws(() => runLiveStreaming({ loads: [0] }), RangeError)
  assert.throws(() => runLiveStreaming({ duration: 3, warmup: 5 }), RangeError)
  assert.throws(() => runLiveStreaming({ policies: ['nearest' as 'rtt'] }), RangeError)
})
