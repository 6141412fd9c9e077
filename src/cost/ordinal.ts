/**
 * @module cost/ordinal
 * Ordinal cost mode (RFC 7285 §6.1.2.2): costs replaced by their rank among all values of the
 * map, lower is better. Equal costs share a rank and ranks are dense (1, 2, 2, 3), which keeps
 * them small and makes ties visible to clients that shuffle equally-rated candidates.
 */

/** Dense ranks (from 1) of the finite values; NaN (no cost) stays NaN. Returns a new array. */
export function denseRanks(values: ArrayLike<number>): Float64Array {
  const distinct = new Set<number>()
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!
    if (!Number.isNaN(v)) distinct.add(v)
  }
  const sorted = Float64Array.from(distinct).sort()
  const rankOf = new Map<number, number>()
  sorted.forEach((v, i) => rankOf.set(v, i + 1))
  const ranks = new Float64Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!
    ranks[i] = Number.isNaN(v) ? Number.NaN : rankOf.get(v)!
  }
  return ranks
}
