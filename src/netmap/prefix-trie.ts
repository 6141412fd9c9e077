/**
 * @module netmap/prefix-trie
 * Longest-prefix match (LPM) from IPv4 or IPv6 addresses to small integers (PID indexes), built
 * from two structures that live entirely in typed arrays:
 *
 * 1. **A path-compressed binary trie** (a Patricia trie) holds the prefixes: insert, exact `get`
 *    and ordered iteration. A node is a prefix that is stored, or a branch point where two stored
 *    prefixes part; chains of one-child nodes are skipped, so n prefixes need at most 2n nodes,
 *    whatever their lengths. Nodes are fixed-size records (children, value, length, key) in one
 *    Int32Array that doubles when full.
 * 2. **An interval table** answers lookups. Stored prefixes cut the address space into at most
 *    2n + 1 ranges that each have a single answer (adjacent ranges with the same answer are
 *    merged). Their start addresses are sorted in one Uint32Array, and a direct index on the top
 *    k bits (k up to 20) says which few ranges a bucket holds. A lookup is one index read plus a
 *    short binary search over contiguous memory: two or three cache misses on a table of a
 *    million prefixes, against one per level when walking any trie.
 *
 * Why not a multibit trie with prefix expansion (8-bit strides, DIR-24-8)? It can be faster still,
 * but its memory depends on the prefix lengths: every isolated long prefix costs a full 256-slot
 * node per level, so a million random /32s need gigabytes, and DIR-24-8 spends 64 MB on even a
 * three-prefix map. The interval table is bounded by the
 * number of prefixes for any input and also merges away prefixes nested in a same-answer parent.
 *
 * The table is derived lazily. After a change, lookups walk the trie (O(bits)) and, once they
 * have cost about as much as a rebuild, the table is rebuilt; so bulk loading followed by lookups
 * (every network map) runs on the table, and interleaved inserts and lookups stay cheap.
 * {@link PrefixTrie.compile} builds it at once.
 */

const NONE = -1
const INITIAL_NODES = 64
// Fields of a trie node record.
const KID0 = 0
const KID1 = 1
const VALUE = 2
const LENGTH = 3
const KEY = 4
const MAX_INDEX_BITS = 20

export interface PrefixEntry {
  bytes: Uint8Array
  length: number
  value: number
}

export class PrefixTrie {
  readonly bits: number
  /** 32-bit words per key: 1 for IPv4, 4 for IPv6. */
  readonly #words: number
  /** Int32s per node: KID0, KID1, VALUE, LENGTH, then the key words. */
  readonly #stride: number

  // The trie, one record per node so that visiting a node touches one cache line. A node is named
  // by the offset of its record; the root, the /0 prefix, is at 0 and nobody's child, so a child
  // of 0 means "none". Keys have their host bits zero.
  #trie: Int32Array
  #used: number // offset of the first free record
  #size = 0

  // The interval table, valid while !#dirty.
  #dirty = true
  #lookupsSinceChange = 0
  #starts = new Uint32Array(0) // #words per interval, ascending
  #values = new Int32Array(0)
  #count = 0
  #index = new Int32Array(0) // bucket -> interval holding the bucket's first address
  #shift = 31 // 32 - index bits

  /** The key of the current operation, and a scratch key for the table build. */
  readonly #query: Int32Array
  readonly #scratch: Int32Array

  constructor(bits: 32 | 128) {
    if (bits !== 32 && bits !== 128) throw new RangeError(`a prefix trie has 32 or 128 bits, not ${String(bits)}`)
    this.bits = bits
    this.#words = bits >>> 5
    this.#stride = KEY + this.#words
    this.#trie = new Int32Array(INITIAL_NODES * this.#stride)
    this.#trie[VALUE] = NONE
    this.#used = this.#stride
    this.#query = new Int32Array(this.#words)
    this.#scratch = new Int32Array(this.#words)
  }

  /** Number of stored prefixes. */
  get size(): number {
    return this.#size
  }

  /**
   * Store `value` (an integer 0 to 2^31 - 1) for the prefix; bits of `bytes` past `length` are
   * ignored. Returns the value previously stored at exactly this prefix, or -1. Overwrites.
   */
  insert(bytes: Uint8Array, length: number, value: number): number {
    if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
      throw new RangeError(`a prefix trie value is an integer from 0 to 2147483647, not ${value}`)
    }
    this.#loadPrefix(bytes, length)
    const q = this.#query
    let node = 0
    for (;;) {
      const nodeLength = this.#trie[node + LENGTH]!
      if (nodeLength === length) {
        const old = this.#trie[node + VALUE]!
        if (old === value) return old
        this.#trie[node + VALUE] = value
        if (old === NONE) this.#size++
        this.#changed()
        return old
      }
      const slot = node + bitAt(q, 0, nodeLength)
      const child = this.#trie[slot]!
      if (child === 0) {
        // (Not `this.#trie[slot] = this.#newNode(…)`: that writes to the array #newNode may replace.)
        const leaf = this.#newNode(length, value)
        this.#trie[slot] = leaf
        break
      }
      const childLength = this.#trie[child + LENGTH]!
      const common = this.#commonLength(child, Math.min(childLength, length))
      if (common === childLength) {
        node = child // the child's prefix is a prefix of ours: go down
        continue
      }
      if (common === length) {
        // Ours is a prefix of the child's: it goes between node and child.
        const inner = this.#newNode(length, value)
        this.#trie[inner + bitAt(this.#trie, child + KEY, length)] = child
        this.#trie[slot] = inner
        break
      }
      // The two part after `common` bits: a branch node holds both.
      const branch = this.#newNode(common, NONE)
      const leaf = this.#newNode(length, value)
      this.#trie[branch + bitAt(this.#trie, child + KEY, common)] = child
      this.#trie[branch + bitAt(q, 0, common)] = leaf
      this.#trie[slot] = branch
      break
    }
    this.#size++
    this.#changed()
    return NONE
  }

  /** Value at exactly this prefix, or -1. */
  get(bytes: Uint8Array, length: number): number {
    this.#loadPrefix(bytes, length)
    const trie = this.#trie
    let node = 0
    for (;;) {
      const nodeLength = trie[node + LENGTH]!
      if (nodeLength === length) return trie[node + VALUE]!
      const child = trie[node + bitAt(this.#query, 0, nodeLength)]!
      if (child === 0) return NONE
      const childLength = trie[child + LENGTH]!
      if (childLength > length || this.#commonLength(child, childLength) !== childLength) return NONE
      node = child
    }
  }

  /** Longest-prefix match of a full address (4 or 16 bytes); -1 if none. */
  lookup(bytes: Uint8Array): number {
    if (bytes.length !== this.bits >>> 3) {
      throw new RangeError(`a ${this.bits}-bit trie looks up ${this.bits >>> 3}-byte addresses, not ${bytes.length}`)
    }
    if (this.#words === 1) {
      return this.lookupV4(((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0)
    }
    const w0 = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0
    const w1 = ((bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!) >>> 0
    const w2 = ((bytes[8]! << 24) | (bytes[9]! << 16) | (bytes[10]! << 8) | bytes[11]!) >>> 0
    const w3 = ((bytes[12]! << 24) | (bytes[13]! << 16) | (bytes[14]! << 8) | bytes[15]!) >>> 0
    if (this.#dirty && !this.#tableDue()) {
      const q = this.#query
      q[0] = w0
      q[1] = w1
      q[2] = w2
      q[3] = w3
      return this.#walk()
    }
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

  /** Fast path for IPv4 as an unsigned 32-bit integer (only when bits === 32). */
  lookupV4(address: number): number {
    if (this.#words !== 1) throw new RangeError('lookupV4 needs a 32-bit trie')
    const a = address >>> 0
    if (this.#dirty && !this.#tableDue()) {
      this.#query[0] = a
      return this.#walk()
    }
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

  /** True when every address of the family has a match (e.g. the /0 prefix is stored). */
  get coversAll(): boolean {
    this.compile()
    for (let i = 0; i < this.#count; i++) if (this.#values[i] === NONE) return false
    return true
  }

  /** Build the lookup table now instead of on demand (e.g. before serving). Cheap when up to date. */
  compile(): void {
    if (!this.#dirty) return
    const capacity = 2 * this.#size + 1
    this.#starts = new Uint32Array(capacity * this.#words)
    this.#values = new Int32Array(capacity)
    this.#values[0] = NONE // one interval, the whole space, no answer
    this.#count = 1
    this.#flatten(0, NONE)
    if (this.#count < capacity) {
      this.#starts = this.#starts.slice(0, this.#count * this.#words)
      this.#values = this.#values.slice(0, this.#count)
    }
    this.#buildIndex()
    this.#dirty = false
  }

  /** Every stored prefix (bytes copy, length, value), in address order (shorter prefix first on ties). */
  *entries(): IterableIterator<PrefixEntry> {
    const stack = [0]
    while (stack.length > 0) {
      const node = stack.pop()!
      const trie = this.#trie
      const value = trie[node + VALUE]!
      if (value !== NONE) yield { bytes: this.#bytesOf(node), length: trie[node + LENGTH]!, value }
      const right = trie[node + KID1]!
      const left = trie[node + KID0]!
      if (right !== 0) stack.push(right)
      if (left !== 0) stack.push(left)
    }
  }

  /**
   * Call `fn` for every stored prefix in address order, like {@link entries} but without
   * allocating: `bytes` is one buffer reused between calls (copy it to keep it).
   */
  forEach(fn: (bytes: Uint8Array, length: number, value: number) => void): void {
    const bytes = new Uint8Array(this.bits >>> 3)
    const stack = [0]
    while (stack.length > 0) {
      const node = stack.pop()!
      const trie = this.#trie
      const value = trie[node + VALUE]!
      if (value !== NONE) {
        this.#copyKey(node, bytes)
        fn(bytes, trie[node + LENGTH]!, value)
      }
      const right = trie[node + KID1]!
      const left = trie[node + KID0]!
      if (right !== 0) stack.push(right)
      if (left !== 0) stack.push(left)
    }
  }

  /** Copy a prefix into #query as words, host bits cleared. */
  #loadPrefix(bytes: Uint8Array, length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > this.bits) {
      throw new RangeError(`a prefix length in a ${this.bits}-bit trie is 0 to ${this.bits}, not ${length}`)
    }
    if (bytes.length * 8 < length) throw new RangeError(`${bytes.length} bytes cannot hold a /${length} prefix`)
    const q = this.#query
    for (let w = 0; w < this.#words; w++) {
      let word = 0
      for (let b = 0; b < 4; b++) word = (word << 8) | (bytes[4 * w + b] ?? 0)
      q[w] = word & wordMask(length - 32 * w)
    }
  }

  /** How many leading bits of node's key equal #query's, up to `limit`. */
  #commonLength(node: number, limit: number): number {
    const trie = this.#trie
    const q = this.#query
    const at = node + KEY
    for (let w = 0; 32 * w < limit; w++) {
      const diff = trie[at + w]! ^ q[w]!
      if (diff !== 0) return Math.min(limit, 32 * w + Math.clz32(diff))
    }
    return limit
  }

  /** A node whose key is the first `length` bits of #query. */
  #newNode(length: number, value: number): number {
    if (this.#used === this.#trie.length) {
      const grown = new Int32Array(this.#trie.length * 2)
      grown.set(this.#trie)
      this.#trie = grown
    }
    const node = this.#used
    this.#used += this.#stride
    const trie = this.#trie
    trie[node + VALUE] = value
    trie[node + LENGTH] = length
    for (let w = 0; w < this.#words; w++) trie[node + KEY + w] = this.#query[w]! & wordMask(length - 32 * w)
    return node
  }

  #changed(): void {
    this.#dirty = true
    this.#lookupsSinceChange = 0
  }

  /**
   * Called by each lookup while the table is stale: rebuild it once the trie walks since the last
   * change have cost about as much as a rebuild (which visits every node). True if rebuilt.
   */
  #tableDue(): boolean {
    if (++this.#lookupsSinceChange <= 64 + (this.#size >>> 3)) return false
    this.compile()
    return true
  }

  /** LPM of the full address in #query by walking the trie. */
  #walk(): number {
    const trie = this.#trie
    let node = 0
    let best = trie[VALUE]!
    for (;;) {
      const nodeLength = trie[node + LENGTH]!
      if (nodeLength === this.bits) return best
      const child = trie[node + bitAt(this.#query, 0, nodeLength)]!
      if (child === 0) return best
      const childLength = trie[child + LENGTH]!
      // Path compression skipped bits: if they differ, nothing below matches either.
      if (this.#commonLength(child, childLength) !== childLength) return best
      node = child
      const value = trie[node + VALUE]!
      if (value !== NONE) best = value
    }
  }

  /**
   * Append the intervals of node's subtree, in address order: the node's own range starts with its
   * value (or what it inherits), its children cut into it, and after its end the parent's answer resumes.
   */
  #flatten(node: number, inherited: number): void {
    const trie = this.#trie
    const own = trie[node + VALUE]!
    const value = own === NONE ? inherited : own
    if (own !== NONE) this.#emit(trie, node + KEY, value)
    const left = trie[node + KID0]!
    const right = trie[node + KID1]!
    if (left !== 0) this.#flatten(left, value)
    if (right !== 0) this.#flatten(right, value)
    if (own !== NONE && this.#afterEnd(node)) this.#emit(this.#scratch, 0, inherited)
  }

  /** Start an interval at the key words[at…]; positions arrive in non-decreasing order. */
  #emit(words: Int32Array, at: number, value: number): void {
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

  /** Put the first address after node's range in #scratch; false when the range ends the space. */
  #afterEnd(node: number): boolean {
    const length = this.#trie[node + LENGTH]!
    const next = this.#scratch
    for (let w = 0; w < this.#words; w++) next[w] = this.#trie[node + KEY + w]! | ~wordMask(length - 32 * w)
    for (let w = this.#words - 1; w >= 0; w--) {
      next[w] = next[w]! + 1 // wraps from -1 (all ones) to 0: carry
      if (next[w] !== 0) return true
    }
    return false
  }

  /** index[b] = the interval holding bucket b's first address; index[buckets] = the last interval. */
  #buildIndex(): void {
    const bits = Math.min(MAX_INDEX_BITS, 32 - Math.clz32(this.#count))
    this.#shift = 32 - bits
    const buckets = 1 << bits
    const index = new Int32Array(buckets + 1)
    const starts = this.#starts
    const words = this.#words
    let i = 0
    for (let b = 0; b < buckets; b++) {
      const first = (b << this.#shift) >>> 0
      while (i + 1 < this.#count && startsAtOrBefore(starts, (i + 1) * words, words, first)) i++
      index[b] = i
    }
    index[buckets] = this.#count - 1
    this.#index = index
  }

  #bytesOf(node: number): Uint8Array {
    const bytes = new Uint8Array(this.bits >>> 3)
    this.#copyKey(node, bytes)
    return bytes
  }

  #copyKey(node: number, bytes: Uint8Array): void {
    for (let w = 0; w < this.#words; w++) {
      const word = this.#trie[node + KEY + w]!
      bytes[4 * w] = word >>> 24
      bytes[4 * w + 1] = word >>> 16
      bytes[4 * w + 2] = word >>> 8
      bytes[4 * w + 3] = word
    }
  }
}

/** Bit `i` (0 = most significant) of the key at words[at…]. */
function bitAt(words: Int32Array, at: number, i: number): number {
  return (words[at + (i >>> 5)]! >>> (31 - (i & 31))) & 1
}

/** Mask of the first `covered` bits of a word (all for >= 32, none for <= 0). */
function wordMask(covered: number): number {
  if (covered >= 32) return 0xffffffff
  if (covered <= 0) return 0
  return (0xffffffff << (32 - covered)) >>> 0
}

/** Whether the key at starts[at…] is <= the address whose first word is `first` and rest zero. */
function startsAtOrBefore(starts: Uint32Array, at: number, words: number, first: number): boolean {
  const s0 = starts[at]!
  if (s0 !== first) return s0 < first
  for (let w = 1; w < words; w++) if (starts[at + w] !== 0) return false
  return true
}
