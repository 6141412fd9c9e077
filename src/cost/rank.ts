/**
 * @module cost/rank
 * Ranking candidates by cost, as every ALTO consumer does it (client, tracker, simulator):
 * cheapest first, equal costs in random order (seed 000 §4.2.2: equally rated candidates are
 * chosen at random), candidates without a cost last, and a share of each prefix of the list given
 * to randomly drawn lower-ranked candidates so that guidance never isolates a PID (seed 000
 * §4.4.2: ~20% random peers against over-localization). Randomness is injected.
 */

/** A source of uniform numbers in [0, 1), e.g. Math.random or a seeded generator. */
export type Rng = () => number

export interface Ranked<T> {
  item: T
  /** The candidate's cost; NaN when guidance has none for it. */
  cost: number
  /** True when the place was given to a random draw rather than earned by cost. */
  random: boolean
}

export interface RankOptions {
  rng: Rng
  /**
   * Share of every prefix of the result given to random lower-ranked candidates: with 0.2, one
   * place in five. 0 ranks purely by cost. @default 0.2
   */
  randomFraction?: number
}

/**
 * Rank `items` by `costOf` (NaN = unknown). Returns every item once. Cost order is kept
 * except at positions `i` where `floor((i + 1) * f)` grows: there a uniformly drawn item of those
 * not yet placed (other than the best remaining) is put instead, marked `random`.
 */
export function rankByCost<T>(items: readonly T[], costOf: (item: T) => number, options: RankOptions): Ranked<T>[] {
  const { rng } = options
  const fraction = options.randomFraction ?? 0.2
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`randomFraction must be within [0, 1], not ${fraction}`)
  const entries = items.map((item) => ({ item, cost: costOf(item), key: rng() }))
  // Cost ascending, unknown last, ties by a random key: one sort, ties shuffled uniformly.
  entries.sort((a, b) => order(a.cost, b.cost) || a.key - b.key)

  const out: Ranked<T>[] = []
  let next = 0 // best not yet placed
  const placed = new Uint8Array(entries.length)
  for (let i = 0; i < entries.length; i++) {
    while (placed[next]) next++
    const drawRandom = Math.floor((i + 1) * fraction) > Math.floor(i * fraction)
    let pick = next
    if (drawRandom) {
      // Draw among the unplaced items after `next`.
      const remaining = entries.length - i - 1
      if (remaining > 0) {
        let k = Math.floor(rng() * remaining)
        for (let j = next + 1; j < entries.length; j++) {
          if (placed[j]) continue
          if (k-- === 0) {
            pick = j
            break
          }
        }
      }
    }
    placed[pick] = 1
    const entry = entries[pick]!
    out.push({ item: entry.item, cost: entry.cost, random: pick !== next })
  }
  return out
}

function order(a: number, b: number): number {
  const aUnknown = Number.isNaN(a)
  const bUnknown = Number.isNaN(b)
  if (aUnknown || bUnknown) return aUnknown === bUnknown ? 0 : aUnknown ? 1 : -1
  return a - b
}

/** A small seeded generator (mulberry32) for reproducible runs: tests, simulations, `--seed`. */
export function seededRng(seed: number): Rng {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
