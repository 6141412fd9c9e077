/**
 * @module sim/stats
 * Summaries of simulated samples: quantiles (linear interpolation between order statistics, the
 * usual "type 7"), means, empirical CDFs thinned for charts, and a few helpers for draws.
 */
import type { Rng } from '../cost/rank.ts'

/** The q-quantile (0..1) of `sorted` (ascending); NaN for an empty sample. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length
  if (n === 0) return Number.NaN
  const pos = (n - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.min(n - 1, lo + 1)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo)
}

export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort()
}

export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return Number.NaN
  let sum = 0
  for (let i = 0; i < values.length; i++) sum += values[i]!
  return sum / values.length
}

/**
 * Points of the empirical CDF of `sorted` for a step chart, at most `maxPoints` of them: x is a
 * sample value, y the share of the population at or below it. `population` may exceed the sample
 * (e.g. chunks never received), so the curve then stops below 1.
 */
export function cdfPoints(sorted: ArrayLike<number>, population = sorted.length, maxPoints = 200): [number, number][] {
  const n = sorted.length
  if (n === 0 || population === 0) return []
  const out: [number, number][] = []
  const step = Math.max(1, Math.ceil(n / maxPoints))
  for (let i = 0; i < n; i += step) out.push([sorted[i]!, (i + 1) / population])
  if (out[out.length - 1]![0] !== sorted[n - 1] || out[out.length - 1]![1] !== n / population) out.push([sorted[n - 1]!, n / population])
  return out
}

/** Fisher-Yates shuffle in place. */
export function shuffle<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1))
    const tmp = items[i]!
    items[i] = items[j]!
    items[j] = tmp
  }
  return items
}

/** An exponentially distributed draw with the given mean. */
export function exponential(rng: Rng, meanValue: number): number {
  return -meanValue * Math.log(1 - rng())
}

/** Round to `digits` significant decimals for reports (keeps JSON short and stable). */
export function round(x: number, digits = 4): number {
  if (!Number.isFinite(x)) return x
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** A 32-bit seed derived from a base seed and a label, for independent streams per run. */
export function deriveSeed(seed: number, label: string): number {
  let h = (seed ^ 0x9e3779b9) >>> 0
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0
  return (h ^ (h >>> 16)) >>> 0
}
