/**
 * The overload guard's lag measurement (server/overload.ts): a loop that lags window after window
 * sheds; a single slow tick does not. Windows of 200 ms here (the server's are 500 ms).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { OverloadGuard } from '../../src/server/overload.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
function block(ms: number): void {
  const end = performance.now() + ms
  while (performance.now() < end);
}

test('one slow tick does not shed the next window', async (t) => {
  const guard = new OverloadGuard({ maxEventLoopDelayMs: 100, maxInFlight: 0, retryAfterS: 1, sampleIntervalMs: 200 })
  t.after(() => guard.close())
  await sleep(250)
  block(400) // one tick, four times the bound
  const seen: number[] = []
  for (let i = 0; i < 6; i++) {
    await sleep(50)
    seen.push(guard.eventLoopDelayMs)
    assert.equal(guard.wouldShed(), false, `lag ${guard.eventLoopDelayMs} ms after one slow tick`)
  }
  assert.ok(seen.every((ms) => ms < 100), `lags ${seen.join(', ')}`)
})

test('a loop lagging tick after tick sheds, with 503 and Retry-After, and recovers', async (t) => {
  const guard = new OverloadGuard({ maxEventLoopDelayMs: 15, maxInFlight: 0, retryAfterS: 3, sampleIntervalMs: 200 })
  t.after(() => guard.close())
  // 40 ms of work in every turn of the loop for 800 ms: every sample is at least 25 ms late.
  const until = performance.now() + 800
  while (performance.now() < until) {
    block(40)
    await new Promise((resolve) => setImmediate(resolve))
  }
  assert.ok(guard.wouldShed(), `lag ${guard.eventLoopDelayMs} ms`)
  assert.throws(() => guard.enter(), (error: { statusCode?: number; headers?: Record<string, string> }) => error.statusCode === 503 && error.headers?.['retry-after'] === '3')
  assert.equal(guard.shed, 1)
  await sleep(500) // two quiet windows
  assert.equal(guard.wouldShed(), false, `lag ${guard.eventLoopDelayMs} ms once quiet`)
})
