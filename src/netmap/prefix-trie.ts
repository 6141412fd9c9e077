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
 * 2. **An interval table** answers lookups: the sorted starts of the ranges that the prefixes cut
 *    the address space into, each with its answer, indexed on the top bits. It lives in
 *    prefix-table.ts, which also says why it is chosen over a multibit trie; this file walks the
 *    trie in address order to feed it the range starts.
 *
 * The table is derived lazily. After a change, lookups walk the trie (O(bits)) and, once they
 * have cost about as much as a rebuild, the table is rebuilt; so bulk loading followed by lookups
 * (every network map) runs on the table, and interleaved inserts and lookups stay cheap.
 * {@link PrefixTrie.compile} builds it at once.
 */
import { NONE, type PrefixTable, PrefixTableBuilder } from './prefix-table.ts'

const INITIAL_NODES = 64
// Fields of a trie node record.
const KID0 = 0
const KID1 = 1
const VALUE = 2
const LENGTH = 3
const KEY = 4

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

  /** The lookup table; undefined from a change until it is rebuilt. */
  #table: PrefixTable | undefined
  #lookupsSinceChange = 0

  /** The key of the current operation, and a scratch key for the table build. */
  readonly #query: Int32Array
  readonly #scratch: Int32Array

  /**
   * `expected`: how many prefixes are coming, when known (a bulk load), so that the node store is
   * sized once (n prefixes need at most 2n nodes) instead of doubling and copying as it fills.
   */
  constructor(bits: 32 | 128, expected = 0) {
    if (bits !== 32 && bits !== 128) throw new RangeError(`a prefix trie has 32 or 128 bits, not ${String(bits)}`)
    this.bits = bits
    this.#words = bits >>> 5
    this.#stride = KEY + this.#words
    const nodes = Number.isInteger(expected) && expected > 0 ? Math.max(INITIAL_NODES, 2 * expected + 1) : INITIAL_NODES
    this.#trie = new Int32Array(nodes * this.#stride)
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
    const table = this.#table ?? this.#tableIfDue()
    if (table === undefined) {
      const q = this.#query
      q[0] = w0
      q[1] = w1
      q[2] = w2
      q[3] = w3
      return this.#walk()
    }
    return table.lookupV6(w0, w1, w2, w3)
  }

  /** Fast path for IPv4 as an unsigned 32-bit integer (only when bits === 32). */
  lookupV4(address: number): number {
    if (this.#words !== 1) throw new RangeError('lookupV4 needs a 32-bit trie')
    const a = address >>> 0
    const table = this.#table ?? this.#tableIfDue()
    if (table === undefined) {
      this.#query[0] = a
      return this.#walk()
    }
    return table.lookupV4(a)
  }

  /** True when every address of the family has a match (e.g. the /0 prefix is stored). */
  get coversAll(): boolean {
    return this.#compiled().coversAll
  }

  /** Build the lookup table now instead of on demand (e.g. before serving). Cheap when up to date. */
  compile(): void {
    this.#compiled()
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
    this.#table = undefined
    this.#lookupsSinceChange = 0
  }

  /** The lookup table, rebuilt from the trie if a change made it stale. */
  #compiled(): PrefixTable {
    if (this.#table) return this.#table
    const builder = new PrefixTableBuilder(this.#words, 2 * this.#size + 1)
    this.#flatten(0, NONE, builder)
    this.#table = builder.build()
    return this.#table
  }

  /**
   * Called by each lookup while the table is stale: rebuild it once the trie walks since the last
   * change have cost about as much as a rebuild (which visits every node). Undefined until then.
   */
  #tableIfDue(): PrefixTable | undefined {
    if (++this.#lookupsSinceChange <= 64 + (this.#size >>> 3)) return undefined
    return this.#compiled()
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
  #flatten(node: number, inherited: number, table: PrefixTableBuilder): void {
    const trie = this.#trie
    const own = trie[node + VALUE]!
    const value = own === NONE ? inherited : own
    if (own !== NONE) table.emit(trie, node + KEY, value)
    const left = trie[node + KID0]!
    const right = trie[node + KID1]!
    if (left !== 0) this.#flatten(left, value, table)
    if (right !== 0) this.#flatten(right, value, table)
    if (own !== NONE && this.#afterEnd(node)) table.emit(this.#scratch, 0, inherited)
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
