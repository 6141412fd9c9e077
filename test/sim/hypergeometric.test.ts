/**
 * Exact hypergeometric probabilities against the closed form computed with big integers.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cdf, expectation, logPmf, pmf } from '../../src/sim/hypergeometric.ts'

function binomial(n: number, k: number): bigint {
  if (k < 0 || k > n) return 0n
  let r = 1n
  for (let i = 0; i < k; i++) r = (r * BigInt(n - i)) / BigInt(i + 1)
  return r
}

/** C(K,k) C(N-K,n-k) / C(N,n) to 30 digits, with big integers only. */
function exact(N: number, K: number, n: number, k: number): number {
  const scale = 10n ** 30n
  const num = binomial(K, k) * binomial(N - K, n - k) * scale
  return Number(num / binomial(N, n)) / 1e30
}

test('P(no favourable peer) is C(9900,100)/C(10000,100) = 0.36419…, the seed\'s 36%', () => {
  const h = { population: 10_000, favourable: 100, draws: 100 }
  const p = pmf(h)
  const closed = exact(10_000, 100, 100, 0)
  assert.ok(Math.abs(closed - 0.364194) < 1e-6, String(closed))
  assert.ok(Math.abs(p[0]! - closed) < 1e-13, `${p[0]} vs ${closed}`)
  for (let k = 1; k <= 10; k++) assert.ok(Math.abs(p[k]! - exact(10_000, 100, 100, k)) < 1e-13, `k=${k}`)
})

test('P(at most four favourable peers) is 0.99678…, the seed\'s 99%', () => {
  const h = { population: 10_000, favourable: 100, draws: 100 }
  let closed = 0
  for (let k = 0; k <= 4; k++) closed += exact(10_000, 100, 100, k)
  assert.ok(Math.abs(cdf(h, 4) - closed) < 1e-12)
  assert.ok(Math.abs(closed - 0.996783) < 1e-6, String(closed))
})

test('the probabilities sum to one and the mean is nK/N', () => {
  for (const h of [
    { population: 50, favourable: 7, draws: 12 },
    { population: 1000, favourable: 999, draws: 10 },
    { population: 30, favourable: 25, draws: 20 }, // at least 15 favourable: the first k is not 0
    { population: 5, favourable: 0, draws: 5 },
  ]) {
    const p = pmf(h)
    const sum = p.reduce((a, b) => a + b, 0)
    const mean = p.reduce((a, b, k) => a + b * k, 0)
    assert.ok(Math.abs(sum - 1) < 1e-12, `${JSON.stringify(h)} sums to ${sum}`)
    assert.ok(Math.abs(mean - expectation(h)) < 1e-10, JSON.stringify(h))
    for (let k = 0; k < p.length; k++) assert.ok(Math.abs(p[k]! - exact(h.population, h.favourable, h.draws, k)) < 1e-13, `${JSON.stringify(h)} k=${k}`)
  }
  assert.equal(logPmf({ population: 30, favourable: 25, draws: 20 })[14], Number.NEGATIVE_INFINITY)
})

test('no underflow for large samples', () => {
  const p = pmf({ population: 1_000_000, favourable: 500_000, draws: 20_000 })
  const sum = p.reduce((a, b) => a + b, 0)
  assert.ok(Math.abs(sum - 1) < 1e-9, String(sum))
})

test('bad parameters are refused', () => {
  assert.throws(() => pmf({ population: 10, favourable: 11, draws: 1 }), RangeError)
  assert.throws(() => pmf({ population: 10, favourable: 1, draws: 11 }), RangeError)
  assert.throws(() => pmf({ population: 10, favourable: 1.5, draws: 1 }), RangeError)
})
