/**
 * @module netmap/network-map
 * An RFC 7285 network map (§5, §11.2.1): named PIDs, each a set of IPv4 and IPv6 prefixes, and the
 * longest-prefix match that takes an endpoint address to its PID (§5.2). Built and validated once
 * by {@link NetworkMap.fromData}, immutable afterwards.
 */
import { createHash } from 'node:crypto'
import { isValidPidName, isValidResourceId, isValidVtag } from '../protocol/names.ts'
import type { AddressType, NetworkMapBody, NetworkMapData } from '../protocol/types.ts'
import { formatAddress, parsePrefix, type ParsedAddress } from './address.ts'
import { PrefixTrie } from './prefix-trie.ts'

const ADDRESS_TYPES: readonly AddressType[] = ['ipv4', 'ipv6']

type PrefixLists = Partial<Record<AddressType, readonly string[]>>

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
  readonly #prefixes: readonly PrefixLists[] // by PID index
  readonly #tries: Readonly<Record<AddressType, PrefixTrie>>

  private constructor(
    resourceId: string,
    vtag: string,
    pids: readonly string[],
    prefixes: readonly PrefixLists[],
    tries: Record<AddressType, PrefixTrie>,
  ) {
    this.resourceId = resourceId
    this.vtag = vtag
    this.pids = Object.freeze(pids)
    this.#indexes = new Map(pids.map((pid, i) => [pid, i]))
    this.#prefixes = prefixes
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
   * The version tag (§10.3) is `tag` when given, else the SHA-256 (hex) of a canonical
   * serialization of the content, so equal maps get equal tags and any change gives a new one.
   */
  static fromData(resourceId: string, data: NetworkMapData, tag?: string): NetworkMap {
    if (!isValidResourceId(resourceId)) {
      throw new NetworkMapError(
        `invalid resource id ${JSON.stringify(resourceId)}: must be 1-64 characters of A-Za-z0-9-:@_ (RFC 7285 §10.2)`,
      )
    }
    if (tag !== undefined && !isValidVtag(tag)) {
      throw new NetworkMapError(
        `invalid version tag ${JSON.stringify(tag)}: must be 1-64 characters from U+0021 to U+007E (RFC 7285 §10.3)`,
      )
    }
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

    // Read the prefixes back from the tries: deduplicated, and in address order.
    const prefixes = pids.map((): Partial<Record<AddressType, string[]>> => ({}))
    for (const family of ADDRESS_TYPES) {
      tries[family].forEach((bytes, length, pidIndex) => {
        const group = prefixes[pidIndex]!
        const list = (group[family] ??= [])
        list.push(`${formatAddress(family, bytes)}/${length}`)
      })
    }
    for (const group of prefixes) {
      for (const family of ADDRESS_TYPES) if (group[family]) Object.freeze(group[family])
      Object.freeze(group)
    }
    return new NetworkMap(resourceId, tag ?? contentDigest(pids, prefixes), pids, prefixes, tries)
  }

  /** The PID's position in {@link pids}, or -1 if unknown. */
  pidIndex(pid: string): number {
    return this.#indexes.get(pid) ?? -1
  }

  /** Canonical prefixes of a PID per family (present families only; `{}` for an unknown PID). */
  prefixesOf(pid: string): Partial<Record<AddressType, readonly string[]>> {
    const index = this.#indexes.get(pid)
    return index === undefined ? {} : this.#prefixes[index]!
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

  #body(indexes: readonly number[], families: readonly AddressType[]): NetworkMapBody {
    const map: NetworkMapData = {}
    for (const index of indexes) {
      const group: Partial<Record<AddressType, string[]>> = {}
      for (const family of families) {
        const list = this.#prefixes[index]![family]
        if (list) group[family] = list.slice()
      }
      map[this.pids[index]!] = group
    }
    return { meta: { vtag: { 'resource-id': this.resourceId, tag: this.vtag } }, 'network-map': map }
  }
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
 * SHA-256 of one JSON line per PID, in sorted order: `["PID1",{"ipv4":[...]}]`, with canonical
 * prefixes in address order. Arrays keep the order fixed, which object keys would not for PIDs
 * named by digits.
 */
function contentDigest(pids: readonly string[], prefixes: readonly PrefixLists[]): string {
  const hash = createHash('sha256')
  pids.forEach((pid, i) => hash.update(`${JSON.stringify([pid, prefixes[i]])}\n`))
  return hash.digest('hex')
}
