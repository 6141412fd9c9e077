/**
 * @module cost/combine
 * Operator metrics per PID pair, and their combination into one rating (seed 000 §4.2.1: the ALTO
 * server combines RTT, geographical distance, monetary transmission cost and link utilization
 * into its rating). Matrices are dense n×n Float64Arrays over a network map's PIDs, NaN where a
 * pair has no value, as in {@link CostMap}.
 */

const EARTH_RADIUS_KM = 6371.0088

/** Great-circle distance in km between two [latitude, longitude] points (haversine). */
export function greatCircleKm(a: readonly [number, number], b: readonly [number, number]): number {
  const rad = Math.PI / 180
  const dLat = (b[0] - a[0]) * rad
  const dLon = (b[1] - a[1]) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[0] * rad) * Math.cos(b[0] * rad) * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)))
}

/** Distances between PIDs with coordinates; pairs where either has none are NaN. */
export function distanceMatrix(coordinates: readonly (readonly [number, number] | undefined)[]): Float64Array {
  const n = coordinates.length
  const out = new Float64Array(n * n).fill(Number.NaN)
  for (let s = 0; s < n; s++) {
    for (let d = 0; d < n; d++) {
      const a = coordinates[s]
      const b = coordinates[d]
      if (a && b) out[s * n + d] = Math.round(greatCircleKm(a, b) * 10) / 10
    }
  }
  return out
}

export type LinkClass = 'internal' | 'peering' | 'transit'

/**
 * Monetary cost by link class: traffic between two PIDs costs the price of the dearest class
 * either end is in (transit > peering > internal), since that is the link it leaves the ISP by.
 */
export function linkClassMatrix(classes: readonly LinkClass[], prices: Readonly<Record<LinkClass, number>>): Float64Array {
  const n = classes.length
  const rank: Record<LinkClass, number> = { internal: 0, peering: 1, transit: 2 }
  const out = new Float64Array(n * n)
  for (let s = 0; s < n; s++) {
    for (let d = 0; d < n; d++) {
      const a = classes[s]!
      const b = classes[d]!
      out[s * n + d] = prices[rank[a] >= rank[b] ? a : b]
    }
  }
  return out
}

export type Normalization = 'none' | 'max' | 'minmax'

export interface WeightedMetric {
  values: Float64Array
  weight: number
  /**
   * `max`: divide by the largest value (0..1); `minmax`: map smallest..largest to 0..1;
   * `none`: use as is. Normalizing makes metrics in different units (ms, km, money) comparable.
   */
  normalize: Normalization
}

/**
 * The weighted sum of normalized metrics, times `scale`. A pair missing any weighted metric has no
 * combined cost (NaN): a rating built from half the inputs would be misleading.
 */
export function combineMetrics(metrics: readonly WeightedMetric[], scale = 1): Float64Array {
  if (metrics.length === 0) throw new RangeError('combine needs at least one metric')
  const size = metrics[0]!.values.length
  const out = new Float64Array(size)
  for (const m of metrics) {
    if (m.values.length !== size) throw new RangeError('metrics must cover the same PIDs')
    const normalized = normalize(m.values, m.normalize)
    for (let i = 0; i < size; i++) out[i]! += m.weight * normalized[i]!
  }
  for (let i = 0; i < size; i++) out[i] = Math.round(out[i]! * scale * 1000) / 1000
  return out
}

function normalize(values: Float64Array, how: Normalization): Float64Array {
  if (how === 'none') return values
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  for (const v of values) {
    if (Number.isNaN(v)) continue
    if (v < min) min = v
    if (v > max) max = v
  }
  const out = new Float64Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!
    if (Number.isNaN(v)) out[i] = Number.NaN
    else if (how === 'max') out[i] = max > 0 ? v / max : 0
    else out[i] = max > min ? (v - min) / (max - min) : 0
  }
  return out
}
