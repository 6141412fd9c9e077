/**
 * @module sim/hypergeometric
 * Exact hypergeometric probabilities without big numbers: the probability of k favourable items in
 * a uniform sample of n drawn without replacement from N items of which K are favourable,
 * P(k) = C(K,k) C(N-K,n-k) / C(N,n). P(0) is a product of n ratios (summed as logarithms so that
 * nothing underflows), and P(k+1) follows from P(k) by the ratio
 * (K-k)(n-k) / ((k+1)(N-K-n+k+1)). Each ratio is rounded once, so for the sizes simulated here
 * the relative error is a few hundred machine epsilons at most.
 */

export interface Hypergeometric {
  /** Population size N. */
  population: number
  /** Favourable items K. */
  favourable: number
  /** Sample size n. */
  draws: number
}

function check({ population: N, favourable: K, draws: n }: Hypergeometric): void {
  for (const [name, v] of [['population', N], ['favourable', K], ['draws', n]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer, not ${v}`)
  }
  if (K > N) throw new RangeError(`favourable (${K}) exceeds population (${N})`)
  if (n > N) throw new RangeError(`draws (${n}) exceed population (${N})`)
}

/** log P(X = k) for every k from 0 to min(n, K) (-Infinity where impossible). */
export function logPmf(h: Hypergeometric): Float64Array {
  check(h)
  const { population: N, favourable: K, draws: n } = h
  const kMax = Math.min(n, K)
  const out = new Float64Array(kMax + 1).fill(Number.NEGATIVE_INFINITY)
  // The smallest possible k: the sample must fit among the unfavourable ones.
  const kMin = Math.max(0, n - (N - K))
  // log P(kMin): at kMin = 0 it is sum over i < n of log((N-K-i)/(N-i)); otherwise start from the
  // other end by symmetry (swap favourable and unfavourable).
  let log = 0
  if (kMin === 0) {
    for (let i = 0; i < n; i++) log += Math.log((N - K - i) / (N - i))
  } else {
    // P(X = kMin) = P(Y = n - kMin) with Y the unfavourable count, n - kMin = N - K: all of them drawn.
    // = C(K, kMin) / C(N, n) = prod over i < N-K of (n - i)/(N - i)
    for (let i = 0; i < N - K; i++) log += Math.log((n - i) / (N - i))
  }
  out[kMin] = log
  for (let k = kMin; k < kMax; k++) {
    log += Math.log(((K - k) * (n - k)) / ((k + 1) * (N - K - n + k + 1)))
    out[k + 1] = log
  }
  return out
}

/** P(X = k) for k = 0..min(n, K). */
export function pmf(h: Hypergeometric): Float64Array {
  return logPmf(h).map(Math.exp)
}

/** P(X <= k). */
export function cdf(h: Hypergeometric, k: number): number {
  const p = pmf(h)
  let sum = 0
  for (let i = 0; i <= Math.min(k, p.length - 1); i++) sum += p[i]!
  return Math.min(1, sum)
}

/** E[X] = n K / N. */
export function expectation(h: Hypergeometric): number {
  check(h)
  return h.population === 0 ? 0 : (h.draws * h.favourable) / h.population
}
