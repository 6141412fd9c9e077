/**
 * @module netmap/network-map
 * An RFC 7285 network map (§5, §11.2.1): named PIDs, each a set of IPv4 and IPv6 prefixes, and the
 * longest-prefix match that takes an endpoint address to its PID (§5.2). Built and validated once,
 * from RFC 7285 JSON ({@link NetworkMap.fromData}) or from binary prefixes
 * ({@link NetworkMap.fromPrefixes}, for maps of a million prefixes and more), immutable afterwards.
 * The prefix texts of the body are made from the tries when first asked for, then kept.
 */
import { createHash } from 'node:crypto'
import { isValidPidName, isValidResourceId, isValidVtag } from '../protocol/names.ts'
import type { AddressType, NetworkMapBody, NetworkMapData } from '../protocol/types.ts'
import { formatAddress, parsePrefix, type ParsedAddress } from './address.ts'
import { networkMapBodyParts } from './body-parts.ts'
import { PrefixTrie } from './prefix-trie.ts'

const ADDRESS_TYPES: readonly AddressType[] = ['ipv4', 'ipv6']

type PrefixLists = Partial<Record<AddressType, readonly string[]>>

/**
 * Prefixes of one address family as columns: prefix i is `bytes[w*i … w*i+w)` (w = 4 for IPv4, 16
 * for IPv6; bits past the length are ignored), `/lengths[i]`, in PID `pids[i]` (an index into
 * {@link PrefixSet.pids}).
 */
export interface PrefixColumns {
  readonly bytes: Uint8Array
  readonly lengths: Uint8Array
  readonly pids: Uint32Array
}

/** A network map in binary form: PID names (any order, no duplicates) and prefixes per family. */
export interface PrefixSet {
  readonly pids: readonly string[]
  readonly ipv4?: PrefixColumns
  readonly ipv6?: PrefixColumns
}

/** Why `NetworkMap.fromData` refused its input, and where: PID, address type, index in the list. */
export class NetworkMapError extends Error {
  readonly pid: string | undefined
  readonly family: AddressType | undefined
  readonly index: number | undefined
  constructor(message: string, where: { pid?: string; family?: AddressType; index?: number } = {}) {
    super(`${location(where)}${message}`)
    this.name = 'NetworkMapError'
    this.pid = where.pid
    this.family = where.family
    this.index = where.index
  }
}

function location(where: { pid?: string; family?: AddressType; index?: number }): string {
  if (where.pid === undefined) return ''
  let text = `PID ${JSON.stringify(where.pid)}`
  if (where.family !== undefined) text += ` ${where.family}`
  if (where.index !== undefined) text += `[${where.index}]`
  return `${text}: `
}

export class NetworkMap {
  readonly resourceId: string
  readonly vtag: string
  /** PID names, sorted (plain JS string order); a PID's index is its position here. */
  readonly pids: readonly string[]
  /** True when every possible IPv4 and IPv6 address resolves to some PID. */
  readonly coversEverything: boolean
  readonly #indexes: ReadonlyMap<string, number>
  #prefixes: readonly PrefixLists[] | undefined // by PID index; made from the tries on demand
  readonly #tries: Readonly<Record<AddressType, PrefixTrie>>

  private constructor(resourceId: string, tag: string | undefined, pids: readonly string[], tries: Record<AddressType, PrefixTrie>) {
    this.resourceId = resourceId
    this.vtag = tag ?? contentDigest(pids, tries)
    this.pids = Object.freeze(pids)
    this.#indexes = new Map(pids.map((pid, i) => [pid, i]))
    this.#tries = tries
    // Build the lookup tables now, not on the first request.
    tries.ipv4.compile()
    tries.ipv6.compile()
    this.coversEverything = tries.ipv4.coversAll && tries.ipv6.coversAll
  }

  /**
   * Validate and build. Prefixes are canonicalized (RFC 5952 for IPv6), a prefix listed twice in
   * one PID is kept once, and an empty prefix list is dropped. Throws {@link NetworkMapError} for an
   * invalid PID name, an address type other than ipv4/ipv6, a prefix list that is not an array of
   * strings, an invalid prefix, a prefix in two PIDs (§11.2.1.6: the PIDs partition the addresses),
   * or no PIDs at all.
   *
   * The version tag (§10.3) is `tag` when given, else the SHA-256 (hex) of a canonical binary
   * form of the content (PID names, then every prefix with its PID, in address order), so equal
   * maps get equal tags, whichever of fromData and fromPrefixes built them, and any change gives a
   * new one.
   */
  static fromData(resourceId: string, data: NetworkMapData, tag?: string): NetworkMap {
    checkIdAndTag(resourceId, tag)
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new NetworkMapError('a network map must be an object mapping PID names to address groups')
    }
    const pids = Object.keys(data).sort()
    if (pids.length === 0) throw new NetworkMapError('the network map has no PIDs')
    for (const pid of pids) {
      if (!isValidPidName(pid)) {
        throw new NetworkMapError(
          `invalid PID name ${JSON.stringify(pid)}: must be 1-64 characters of A-Za-z0-9-:@_ (RFC 7285 §10.2)`,
          { pid },
        )
      }
    }
    const tries = { ipv4: new PrefixTrie(32), ipv6: new PrefixTrie(128) }
    pids.forEach((pid, pidIndex) => insertGroup(tries, pids, pid, pidIndex, (data as Record<string, unknown>)[pid]))
    return new NetworkMap(resourceId, tag, pids, tries)
  }

  /**
   * Build from binary prefixes without parsing or formatting text: the fast path for large maps
   * (a libloc database, an Internet routing table). The same rules as {@link fromData}: PID names
   * must be valid and are sorted, a prefix given twice in one PID is kept once, a prefix in two
   * PIDs is refused ({@link NetworkMapError} with the PID, family and index of the second), the
   * same version tag for the same content. The columns are read, not kept.
   */
  static fromPrefixes(resourceId: string, set: PrefixSet, tag?: string): NetworkMap {
    checkIdAndTag(resourceId, tag)
    const given = set.pids
    if (given.length === 0) throw new NetworkMapError('the network map has no PIDs')
    const seen = new Set<string>()
    for (const pid of given) {
      if (!isValidPidName(pid)) {
        throw new NetworkMapError(`invalid PID name ${JSON.stringify(pid)}: must be 1-64 characters of A-Za-z0-9-:@_ (RFC 7285 §10.2)`, { pid })
      }
      if (seen.has(pid)) throw new NetworkMapError('the PID is named twice', { pid })
      seen.add(pid)
    }
    // Sorted like fromData; rank[i] is the sorted index of given PID i.
    const order = given.map((_, i) => i).sort((a, b) => (given[a]! < given[b]! ? -1 : 1))
    const rank = new Uint32Array(given.length)
    order.forEach((from, to) => (rank[from] = to))
    const pids = order.map((i) => given[i]!)

    const tries = {
      ipv4: new PrefixTrie(32, set.ipv4?.lengths.length ?? 0),
      ipv6: new PrefixTrie(128, set.ipv6?.lengths.length ?? 0),
    }
    for (const family of ADDRESS_TYPES) {
      const columns = set[family]
      if (columns) insertColumns(tries[family], family, columns, given, rank)
    }
    return new NetworkMap(resourceId, tag, pids, tries)
  }

  /** Number of prefixes of each family (after duplicates are removed). */
  get prefixCounts(): Record<AddressType, number> {
    return { ipv4: this.#tries.ipv4.size, ipv6: this.#tries.ipv6.size }
  }

  /** The PID's position in {@link pids}, or -1 if unknown. */
  pidIndex(pid: string): number {
    return this.#indexes.get(pid) ?? -1
  }

  /** Canonical prefixes of a PID per family (present families only; `{}` for an unknown PID). */
  prefixesOf(pid: string): Partial<Record<AddressType, readonly string[]>> {
    const index = this.#indexes.get(pid)
    return index === undefined ? {} : this.#prefixLists()[index]!
  }

  /** Longest-prefix match → PID name, or undefined when no prefix covers the address. */
  lookup(address: ParsedAddress): string | undefined {
    const index = this.lookupIndex(address.family, address.bytes)
    return index === -1 ? undefined : this.pids[index]
  }

  /** Longest-prefix match → PID index, or -1 (hot path, no allocation). */
  lookupIndex(family: AddressType, bytes: Uint8Array): number {
    return this.#tries[family].lookup(bytes)
  }

  /**
   * The RFC 7285 §11.2.1.6 body: vtag and every PID with its canonical prefixes, PIDs inserted in
   * sorted order. (JSON objects list integer-like keys such as "7" first whatever the insertion
   * order, so a PID named by digits alone comes first in the output.) A fresh object each call.
   */
  toBody(): NetworkMapBody {
    return this.#body(this.pids.map((_, i) => i), ADDRESS_TYPES)
  }

  /**
   * The JSON text of {@link toBody}, byte for byte, in parts (one per PID) to concatenate, written
   * from the tries without building the body or keeping a string per prefix: the way to serialize
   * a map of a million prefixes.
   */
  toBodyParts(): Iterable<string> {
    return networkMapBodyParts({ vtag: { 'resource-id': this.resourceId, tag: this.vtag } }, this.pids, this.#tries)
  }

  /**
   * A filtered network map (RFC 7285 §11.3.1): only the given PIDs (unknown ones ignored,
   * duplicates once, an empty list meaning all) and only the given address types (absent or empty
   * meaning all). A PID without prefixes of those types is listed with an empty object. The vtag is
   * the full map's (§11.3.1.6).
   */
  filterBody(pids: readonly string[], addressTypes?: readonly AddressType[]): NetworkMapBody {
    let indexes: number[]
    if (pids.length === 0) {
      indexes = this.pids.map((_, i) => i)
    } else {
      const known = new Set<number>()
      for (const pid of pids) {
        const index = this.#indexes.get(pid)
        if (index !== undefined) known.add(index)
      }
      indexes = [...known].sort((a, b) => a - b)
    }
    const families =
      addressTypes === undefined || addressTypes.length === 0
        ? ADDRESS_TYPES
        : ADDRESS_TYPES.filter((family) => addressTypes.includes(family))
    return this.#body(indexes, families)
  }

  /**
   * The canonical prefix texts by PID, read from the tries in address order (so deduplicated) the
   * first time they are needed, then kept: a map served by lookups alone never formats them.
   */
  #prefixLists(): readonly PrefixLists[] {
    if (this.#prefixes) return this.#prefixes
    const prefixes = this.pids.map((): Partial<Record<AddressType, string[]>> => ({}))
    for (const family of ADDRESS_TYPES) {
      // Counted first, so that each list is allocated once at its size (fewer copies for the GC).
      const counts = new Uint32Array(this.pids.length)
      this.#tries[family].forEach((_bytes, _length, pidIndex) => {
        counts[pidIndex] = counts[pidIndex]! + 1
      })
      const lists = Array.from(counts, (count) => (count === 0 ? undefined : new Array<string>(count)))
      counts.fill(0)
      this.#tries[family].forEach((bytes, length, pidIndex) => {
        const at = counts[pidIndex]!
        counts[pidIndex] = at + 1
        lists[pidIndex]![at] = `${formatAddress(family, bytes)}/${length}`
      })
      lists.forEach((list, pidIndex) => {
        if (list) prefixes[pidIndex]![family] = list
      })
    }
    for (const group of prefixes) {
      for (const family of ADDRESS_TYPES) if (group[family]) Object.freeze(group[family])
      Object.freeze(group)
    }
    this.#prefixes = prefixes
    return prefixes
  }

  #body(indexes: readonly number[], families: readonly AddressType[]): NetworkMapBody {
    const lists = this.#prefixLists()
    const map: NetworkMapData = {}
    for (const index of indexes) {
      const group: Partial<Record<AddressType, string[]>> = {}
      for (const family of families) {
        const list = lists[index]![family]
        if (list) group[family] = list.slice()
      }
      map[this.pids[index]!] = group
    }
    return { meta: { vtag: { 'resource-id': this.resourceId, tag: this.vtag } }, 'network-map': map }
  }
}

function checkIdAndTag(resourceId: string, tag: string | undefined): void {
  if (!isValidResourceId(resourceId)) {
    throw new NetworkMapError(`invalid resource id ${JSON.stringify(resourceId)}: must be 1-64 characters of A-Za-z0-9-:@_ (RFC 7285 §10.2)`)
  }
  if (tag !== undefined && !isValidVtag(tag)) {
    throw new NetworkMapError(`invalid version tag ${JSON.stringify(tag)}: must be 1-64 characters from U+0021 to U+007E (RFC 7285 §10.3)`)
  }
}

/** Check one family's columns and add them to its trie (value = sorted PID index). */
function insertColumns(trie: PrefixTrie, family: AddressType, columns: PrefixColumns, given: readonly string[], rank: Uint32Array): void {
  const width = trie.bits >>> 3
  const { bytes, lengths, pids } = columns
  const count = lengths.length
  if (pids.length !== count || bytes.length !== count * width) {
    throw new NetworkMapError(
      `${family} columns disagree: ${count} lengths, ${pids.length} PIDs and ${bytes.length} bytes (${width} per prefix expected)`,
    )
  }
  const key = new Uint8Array(width) // one buffer: no allocation per prefix
  for (let i = 0; i < count; i++) {
    const pid = pids[i]!
    const length = lengths[i]!
    if (pid >= given.length) throw new NetworkMapError(`${family} prefix ${i} names PID ${pid}, but there are ${given.length} PIDs`)
    if (length > trie.bits) throw new NetworkMapError(`${family} prefix ${i} has length ${length}, more than ${trie.bits}`)
    for (let b = 0, at = i * width; b < width; b++) key[b] = bytes[at + b]!
    const value = rank[pid]!
    const previous = trie.insert(key, length, value)
    if (previous !== -1 && previous !== value) {
      const first = given[rank.indexOf(previous)]!
      const text = `${formatAddress(family, maskedCopy(key, length))}/${length}`
      throw new NetworkMapError(`prefix ${text} is in both ${first} and ${given[pid]!}`, { pid: given[pid]!, family, index: i })
    }
  }
}

function maskedCopy(bytes: Uint8Array, length: number): Uint8Array {
  const out = bytes.slice()
  for (let i = 0; i < out.length; i++) {
    const covered = length - 8 * i
    out[i] = covered >= 8 ? out[i]! : covered <= 0 ? 0 : out[i]! & (0xff00 >>> covered)
  }
  return out
}

/** Validate one PID's address group and add its prefixes to the tries (value = PID index). */
function insertGroup(
  tries: Record<AddressType, PrefixTrie>,
  pids: readonly string[],
  pid: string,
  pidIndex: number,
  group: unknown,
): void {
  if (typeof group !== 'object' || group === null || Array.isArray(group)) {
    throw new NetworkMapError('an address group must be an object mapping address types to prefix lists', { pid })
  }
  for (const key of Object.keys(group)) {
    if (key !== 'ipv4' && key !== 'ipv6') {
      throw new NetworkMapError(`unknown address type ${JSON.stringify(key)} (expected ipv4 or ipv6)`, { pid })
    }
  }
  for (const family of ADDRESS_TYPES) {
    const list: unknown = (group as Record<string, unknown>)[family]
    if (list === undefined) continue
    if (!Array.isArray(list)) throw new NetworkMapError('the prefix list must be an array of strings', { pid, family })
    for (let index = 0; index < list.length; index++) {
      const text: unknown = list[index]
      if (typeof text !== 'string') {
        throw new NetworkMapError(`the prefix list must be an array of strings, found ${describe(text)}`, {
          pid,
          family,
          index,
        })
      }
      const prefix = parsePrefix(family, text)
      if ('error' in prefix) throw new NetworkMapError(prefix.error, { pid, family, index })
      const previous = tries[family].insert(prefix.bytes, prefix.length, pidIndex)
      if (previous !== -1 && previous !== pidIndex) {
        throw new NetworkMapError(`prefix ${prefix.text} is in both ${pids[previous]} and ${pid}`, { pid, family, index })
      }
    }
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`
}

/**
 * SHA-256 over a binary form of the content: a version line, the PID names one per line (sorted),
 * then per family a count line and every prefix in address order as its length (1 byte), PID
 * index (4 bytes) and the bytes its length covers. Tries hold each prefix once, in canonical
 * order, so the digest depends on nothing but the content; it costs one pass over the tries.
 */
function contentDigest(pids: readonly string[], tries: Readonly<Record<AddressType, PrefixTrie>>): string {
  const hash = createHash('sha256')
  hash.update(`altokit network map v2\n${pids.join('\n')}\n`)
  const chunk = new Uint8Array(64 * 1024)
  for (const family of ADDRESS_TYPES) {
    hash.update(`${family} ${tries[family].size}\n`)
    let used = 0
    tries[family].forEach((bytes, length, pidIndex) => {
      if (used + 21 > chunk.length) {
        hash.update(chunk.subarray(0, used))
        used = 0
      }
      chunk[used++] = length
      chunk[used++] = pidIndex >>> 24
      chunk[used++] = pidIndex >>> 16
      chunk[used++] = pidIndex >>> 8
      chunk[used++] = pidIndex
      for (let b = 0, n = (length + 7) >>> 3; b < n; b++) chunk[used++] = bytes[b]!
    })
    hash.update(chunk.subarray(0, used))
  }
  return hash.digest('hex')
}
