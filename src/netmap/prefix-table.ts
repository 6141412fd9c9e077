/**
 * @module netmap/prefix-table
 * The lookup table of a `PrefixTrie` (prefix-trie.ts): an interval table derived from the trie,
 * which answers longest-prefix matches without walking it.
 *
 * Stored prefixes cut the address space into at most 2n + 1 ranges that each have a single answer
 * (adjacent ranges with the same answer are merged). Their start addresses are sorted in one
 * Uint32Array, and a direct index on the top k bits (k up to 20) says which few ranges a bucket
 * holds. A lookup is one index read plus a short binary search over contiguous memory: two or three
 * cache misses on a table of a million prefixes, against one per level when walking any trie.
 *
 * Why not a multibit trie with prefix expansion (8-bit strides, DIR-24-8)? It can be faster still,
 * but its memory depends on the prefix lengths: every isolated long prefix costs a full 256-slot
 * node per level, so a million random /32s need gigabytes, and DIR-24-8 spends 64 MB on even a
 * three-prefix map. The interval table is bounded by the number of prefixes for any input and also
 * merges away prefixes nested in a same-answer parent.
 *
 * The table knows nothing of the trie's layout: the trie feeds a {@link PrefixTableBuilder} the
 * start of every range in address order, and the builder merges and indexes them.
 */

/** The answer where no stored prefix matches. */
export const NONE = -1
const MAX_INDEX_BITS = 20

/** Sorted range starts and their answers, with an index on the top bits; immutable once built. */
export class PrefixTable {
  readonly #starts: Uint32Array // 1 (IPv4) or 4 (IPv6) words per interval, ascending
  readonly #values: Int32Array
  readonly #index: Int32Array // bucket -> interval holding the bucket's first address
  readonly #shift: number // 32 - index bits

  /**
   * `values[i]` is the answer from the address at starts[i * words…] on, `words` 32-bit words per
   * address (1 for IPv4, 4 for IPv6); values[0] starts at 0.
   */
  constructor(words: number, starts: Uint32Array, values: Int32Array) {
    this.#starts = starts
    this.#values = values
    // index[b] = the interval holding bucket b's first address; index[buckets] = the last interval.
    const count = values.length
    const bits = Math.min(MAX_INDEX_BITS, 32 - Math.clz32(count))
    this.#shift = 32 - bits
    const buckets = 1 << bits
    const index = new Int32Array(buckets + 1)
    let i = 0
    for (let b = 0; b < buckets; b++) {
      const first = (b << this.#shift) >>> 0
      while (i + 1 < count && startsAtOrBefore(starts, (i + 1) * words, words, first)) i++
      index[b] = i
    }
    index[buckets] = count - 1
    this.#index = index
  }

  /** True when every address has an answer. */
  get coversAll(): boolean {
    for (let i = 0; i < this.#values.length; i++) if (this.#values[i] === NONE) return false
    return true
  }

  /** Answer for an IPv4 address as an unsigned 32-bit integer (a table of 1-word addresses). */
  lookupV4(a: number): number {
    const starts = this.#starts
    const bucket = a >>> this.#shift
    let lo = this.#index[bucket]!
    let hi = this.#index[bucket + 1]!
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (starts[mid]! <= a) lo = mid
      else hi = mid - 1
    }
    return this.#values[lo]!
  }

  /** Answer for an IPv6 address given as four unsigned words, most significant first. */
  lookupV6(w0: number, w1: number, w2: number, w3: number): number {
    const starts = this.#starts
    const bucket = w0 >>> this.#shift
    let lo = this.#index[bucket]!
    let hi = this.#index[bucket + 1]!
    // The answer is the last interval starting at or before the address; starts[lo] is.
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      const at = 4 * mid
      const s0 = starts[at]!
      let startsBefore: boolean
      if (s0 !== w0) startsBefore = s0 < w0
      else if (starts[at + 1] !== w1) startsBefore = starts[at + 1]! < w1
      else if (starts[at + 2] !== w2) startsBefore = starts[at + 2]! < w2
      else startsBefore = starts[at + 3]! <= w3
      if (startsBefore) lo = mid
      else hi = mid - 1
    }
    return this.#values[lo]!
  }
}

/**
 * Collects range starts in address order into a {@link PrefixTable}. It begins with one range, the
 * whole space, with no answer.
 */
export class PrefixTableBuilder {
  readonly #words: number
  #starts: Uint32Array
  #values: Int32Array
  #count = 1

  /** `capacity`: the most ranges there can be (2n + 1 for n prefixes). */
  constructor(words: number, capacity: number) {
    this.#words = words
    this.#starts = new Uint32Array(capacity * words)
    this.#values = new Int32Array(capacity)
    this.#values[0] = NONE
  }

  /** Start an interval at the key words[at…]; positions arrive in non-decreasing order. */
  emit(words: Int32Array, at: number, value: number): void {
    const starts = this.#starts
    const values = this.#values
    const last = this.#count - 1
    const lastAt = last * this.#words
    let samePosition = true
    for (let w = 0; w < this.#words; w++) {
      if (starts[lastAt + w] !== words[at + w]! >>> 0) {
        samePosition = false
        break
      }
    }
    if (samePosition) {
      // A longer or later prefix starts here too: it decides the answer.
      values[last] = value
      if (last > 0 && values[last - 1] === value) this.#count-- // the same answer as before: merge
      return
    }
    if (values[last] === value) return // the same answer continues
    const to = this.#count * this.#words
    for (let w = 0; w < this.#words; w++) starts[to + w] = words[at + w]!
    values[this.#count++] = value
  }

  build(): PrefixTable {
    if (this.#count < this.#values.length) {
      this.#starts = this.#starts.slice(0, this.#count * this.#words)
      this.#values = this.#values.slice(0, this.#count)
    }
    return new PrefixTable(this.#words, this.#starts, this.#values)
  }
}

/** Whether the key at starts[at…] is <= the address whose first word is `first` and rest zero. */
function startsAtOrBefore(starts: Uint32Array, at: number, words: number, first: number): boolean {
  const s0 = starts[at]!
  if (s0 !== first) return s0 < first
  for (let w = 1; w < words; w++) if (starts[at + w] !== 0) return false
  return true
}
