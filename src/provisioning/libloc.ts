/**
 * @module provisioning/libloc
 * A reader for libloc location databases, format version 1: the IPFire Location database that
 * Debian ships as `libloc-database` (/usr/share/libloc-location/location.db). The file maps every
 * announced network to its origin AS, country and flags, as a binary trie over the 128-bit IPv6
 * space (IPv4 networks live under the IPv4-mapped prefix ::ffff:0:0/96).
 *
 * Layout (all integers big-endian): the magic `LOCDBXX` and a version byte; a header of creation
 * time, three string-pool offsets (vendor, description, license) and the offset and length of five
 * sections (AS table, network data, network tree, country table, string pool), then the two
 * signature lengths and blobs. Signatures are not verified: the file is trusted as the package
 * manager installed it. Everything else is checked before it is used: a damaged or hostile file
 * gives a {@link LibLocError}, never an endless loop or a read out of bounds.
 *
 * ```ts
 * const db = LibLocDatabase.fromBytes(readFileSync('/usr/share/libloc-location/location.db'))
 * db.forEachNetwork((family, bytes, length, network) => use(family, bytes, length, db.asnOf(network)))
 * ```
 */
import type { AddressType } from '../protocol/types.ts'

const MAGIC = 'LOCDBXX'
/** Magic, version byte, created_at, 3 string offsets, 5 sections of (offset, length), 2 signature lengths. */
const HEADER_BYTES = 7 + 1 + 8 + 3 * 4 + 5 * 2 * 4 + 2 * 2
const NODE_BYTES = 12 // zero-child, one-child, network
const NETWORK_BYTES = 12 // country code[2], padding[2], asn, flags, padding[2]
const AS_BYTES = 8 // number, name
const COUNTRY_BYTES = 8 // code[2], continent[2], name
const NO_NETWORK = 0xffffffff
// A preorder walk keeps at most one pending sibling per level, plus the two children just pushed.
const STACK_SIZE = 132

/** The network flags of libloc (`location lookup` shows them as "Anycast: yes" and so on). */
export const LibLocFlag = Object.freeze({ anonymousProxy: 1, satelliteProvider: 2, anycast: 4, drop: 8 })

/** Why a file is not a usable libloc database; `offset` is the byte where the problem was seen. */
export class LibLocError extends Error {
  readonly offset: number | undefined
  constructor(message: string, offset?: number) {
    super(message)
    this.name = 'LibLocError'
    this.offset = offset
  }
}

export interface LibLocNetwork {
  /** Two letters (ISO 3166 or libloc's own, e.g. `A1`), or `''` when none. */
  country: string
  /** Origin AS, 0 when none. */
  asn: number
  /** Bits of {@link LibLocFlag}. */
  flags: number
}

export interface LibLocCountry {
  code: string
  continent: string
  name: string
}

/**
 * Called for every network in address order (a less specific network before the ones inside it).
 * `bytes` (4 or 16, host bits zero) is reused between calls: copy it to keep it. `network` is the
 * network's index, for {@link LibLocDatabase.asnOf} and friends.
 */
export type LibLocVisitor = (family: AddressType, bytes: Uint8Array, length: number, network: number) => void

interface Section {
  offset: number
  length: number
}

export class LibLocDatabase {
  readonly version: number
  /** When the database was made. */
  readonly createdAt: Date
  readonly vendor: string
  readonly description: string
  readonly license: string
  /** Records in the network data, AS, tree and country sections. */
  readonly networkCount: number
  readonly asCount: number
  readonly nodeCount: number
  readonly countryCount: number

  readonly #bytes: Uint8Array
  readonly #view: DataView
  readonly #as: Section
  readonly #networks: Section
  readonly #tree: Section
  readonly #countries: Section
  readonly #pool: Section

  private constructor(bytes: Uint8Array) {
    this.#bytes = bytes
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    if (bytes.length < MAGIC.length + 1 || String.fromCharCode(...bytes.subarray(0, MAGIC.length)) !== MAGIC) {
      throw new LibLocError(`not a libloc database: the file does not start with "${MAGIC}"`, 0)
    }
    this.version = bytes[MAGIC.length]!
    if (this.version !== 1) throw new LibLocError(`libloc database format version ${this.version} is not supported (only version 1)`, MAGIC.length)
    if (bytes.length < HEADER_BYTES) throw new LibLocError(`truncated: ${bytes.length} bytes, shorter than the ${HEADER_BYTES}-byte header`, bytes.length)
    const v = this.#view
    this.createdAt = new Date(Number(v.getBigUint64(8)) * 1000)
    const section = (at: number, name: string, recordBytes: number): Section => {
      const offset = v.getUint32(at)
      const length = v.getUint32(at + 4)
      if (length === 0) return { offset, length }
      if (offset < HEADER_BYTES || offset + length > bytes.length) {
        throw new LibLocError(`the ${name} section (${length} bytes at offset ${offset}) lies outside the file's ${bytes.length} bytes${offset + length > bytes.length ? ' (truncated?)' : ''}`, at)
      }
      if (length % recordBytes !== 0) throw new LibLocError(`the ${name} section is ${length} bytes, not a whole number of ${recordBytes}-byte records`, at)
      return { offset, length }
    }
    this.#as = section(28, 'AS', AS_BYTES)
    this.#networks = section(36, 'network data', NETWORK_BYTES)
    this.#tree = section(44, 'network tree', NODE_BYTES)
    this.#countries = section(52, 'country', COUNTRY_BYTES)
    this.#pool = section(60, 'string pool', 1)
    this.networkCount = this.#networks.length / NETWORK_BYTES
    this.asCount = this.#as.length / AS_BYTES
    this.nodeCount = this.#tree.length / NODE_BYTES
    this.countryCount = this.#countries.length / COUNTRY_BYTES
    if (this.nodeCount === 0) throw new LibLocError('the network tree is empty (no root node)', 44)
    this.vendor = this.#string(v.getUint32(16), 16)
    this.description = this.#string(v.getUint32(20), 20)
    this.license = this.#string(v.getUint32(24), 24)
  }

  /** Check the header and sections of a whole database file's bytes (kept, not copied). */
  static fromBytes(bytes: Uint8Array): LibLocDatabase {
    return new LibLocDatabase(bytes)
  }

  /** Origin AS of a network (0: none). */
  asnOf(network: number): number {
    return this.#view.getUint32(this.#networkAt(network) + 4)
  }

  /** Country of a network as two character codes in one number (`(c0 << 8) | c1`); 0 when none. */
  countryKeyOf(network: number): number {
    return this.#view.getUint16(this.#networkAt(network))
  }

  /** Flags of a network ({@link LibLocFlag} bits). */
  flagsOf(network: number): number {
    return this.#view.getUint16(this.#networkAt(network) + 8)
  }

  network(network: number): LibLocNetwork {
    const key = this.countryKeyOf(network)
    return { country: countryText(key), asn: this.asnOf(network), flags: this.flagsOf(network) }
  }

  /** Name of an AS from the AS table (binary search: the table is sorted by number), if listed. */
  asName(asn: number): string | undefined {
    const { offset } = this.#as
    let lo = 0
    let hi = this.asCount - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const at = offset + mid * AS_BYTES
      const number = this.#view.getUint32(at)
      if (number === asn) return this.#string(this.#view.getUint32(at + 4), at + 4)
      if (number < asn) lo = mid + 1
      else hi = mid - 1
    }
    return undefined
  }

  countries(): LibLocCountry[] {
    const out: LibLocCountry[] = []
    for (let i = 0; i < this.countryCount; i++) {
      const at = this.#countries.offset + i * COUNTRY_BYTES
      const code = countryText(this.#view.getUint16(at))
      const continent = countryText(this.#view.getUint16(at + 2))
      out.push({ code, continent, name: this.#string(this.#view.getUint32(at + 4), at + 4) })
    }
    return out
  }

  /**
   * The most specific network holding an address (4 or 16 bytes), as its index, or -1. Walks the
   * tree bit by bit, as libloc's own lookup does: a reference to check other readers against.
   */
  lookup(address: Uint8Array): number {
    let key = address
    if (address.length === 4) {
      key = new Uint8Array(16)
      key[10] = 0xff
      key[11] = 0xff
      key.set(address, 12)
    } else if (address.length !== 16) {
      throw new RangeError(`an address is 4 or 16 bytes, not ${address.length}`)
    }
    const v = this.#view
    let node = 0
    let best = -1
    for (let depth = 0; ; depth++) {
      const at = this.#nodeAt(node)
      const network = v.getUint32(at + 8)
      if (network !== NO_NETWORK) best = this.#checkedNetwork(network, at + 8)
      if (depth === 128) return best
      const bit = (key[depth >>> 3]! >>> (7 - (depth & 7))) & 1
      const child = v.getUint32(at + 4 * bit)
      if (child === 0) return best
      node = child
    }
  }

  /**
   * Visit every network of the tree, in address order, without recursion. Every node is checked as
   * it is reached: a child past the end of the tree, a node reached twice (a cycle, or a node
   * shared by two parents), a tree deeper than 128 bits or a network index past the network data
   * throw a {@link LibLocError}. Returns the number of networks visited.
   */
  forEachNetwork(visit: LibLocVisitor): number {
    const v = this.#view
    const seen = new Uint8Array(this.nodeCount)
    const stackNode = new Uint32Array(STACK_SIZE)
    const stackDepth = new Uint8Array(STACK_SIZE) // depth (0-128)
    const stackBit = new Uint8Array(STACK_SIZE) // the bit that led to the node
    const path = new Uint8Array(16) // the current node's address; bits past its depth are stale
    const v6 = new Uint8Array(16)
    const v4 = new Uint8Array(4)
    let top = 0
    stackNode[0] = 0
    stackDepth[0] = 0
    seen[0] = 1
    let count = 0
    while (top >= 0) {
      const node = stackNode[top]!
      const depth = stackDepth[top]!
      const bit = stackBit[top]!
      top--
      if (depth > 0) {
        const byte = (depth - 1) >>> 3
        const mask = 0x80 >>> ((depth - 1) & 7)
        path[byte] = bit ? path[byte]! | mask : path[byte]! & ~mask
      }
      const at = this.#tree.offset + node * NODE_BYTES
      const network = v.getUint32(at + 8)
      if (network !== NO_NETWORK) {
        this.#checkedNetwork(network, at + 8)
        count++
        if (depth >= 96 && isIPv4Mapped(path)) {
          const host = 128 - depth
          const word = host >= 32 ? 0 : ((((path[12]! << 24) | (path[13]! << 16) | (path[14]! << 8) | path[15]!) >>> host) << host) >>> 0
          v4[0] = word >>> 24
          v4[1] = word >>> 16
          v4[2] = word >>> 8
          v4[3] = word
          visit('ipv4', v4, depth - 96, network)
        } else {
          maskInto(path, depth, v6)
          visit('ipv6', v6, depth, network)
        }
      }
      const zero = v.getUint32(at)
      const one = v.getUint32(at + 4)
      if (zero === 0 && one === 0) continue
      if (depth === 128) throw new LibLocError(`the network tree is deeper than 128 bits (node ${node} has children)`, at)
      // The one-child first, so that the zero-child (lower addresses) is visited first.
      for (let childBit = 1; childBit >= 0; childBit--) {
        const child = childBit === 1 ? one : zero
        if (child === 0) continue
        if (child >= this.nodeCount) throw new LibLocError(`node ${node} points to node ${child}, past the end of the tree (${this.nodeCount} nodes)`, at)
        if (seen[child]) throw new LibLocError(`node ${child} is reached twice (from node ${node}): the network tree has a cycle or a shared node`, at)
        seen[child] = 1
        top++
        stackNode[top] = child
        stackDepth[top] = depth + 1
        stackBit[top] = childBit
      }
    }
    return count
  }

  #nodeAt(node: number): number {
    if (node >= this.nodeCount) throw new LibLocError(`node ${node} is past the end of the tree (${this.nodeCount} nodes)`)
    return this.#tree.offset + node * NODE_BYTES
  }

  #networkAt(network: number): number {
    if (!(network >= 0 && network < this.networkCount)) throw new RangeError(`network ${network} is not in 0-${this.networkCount - 1}`)
    return this.#networks.offset + network * NETWORK_BYTES
  }

  #checkedNetwork(network: number, at: number): number {
    if (network >= this.networkCount) throw new LibLocError(`a tree node names network ${network}, past the end of the network data (${this.networkCount} networks)`, at)
    return network
  }

  /** A NUL-terminated UTF-8 string of the pool; `at` is where its offset was read, for errors. */
  #string(offset: number, at: number): string {
    const { offset: pool, length } = this.#pool
    if (offset >= length) throw new LibLocError(`string offset ${offset} is past the end of the string pool (${length} bytes)`, at)
    const start = pool + offset
    const end = this.#bytes.indexOf(0, start)
    if (end === -1 || end >= pool + length) throw new LibLocError(`the string at pool offset ${offset} has no terminating NUL inside the pool`, at)
    return Buffer.from(this.#bytes.buffer, this.#bytes.byteOffset + start, end - start).toString('utf8')
  }
}

/** Two letters from a country key (see {@link LibLocDatabase.countryKeyOf}); `''` for 0. */
export function countryText(key: number): string {
  if (key === 0) return ''
  return String.fromCharCode(key >>> 8, key & 0xff).replace(/\0+$/, '')
}

function isIPv4Mapped(path: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (path[i] !== 0) return false
  return path[10] === 0xff && path[11] === 0xff
}

/** The first `length` bits of `from` into `to`, the rest zero. */
function maskInto(from: Uint8Array, length: number, to: Uint8Array): void {
  const whole = length >>> 3
  for (let i = 0; i < 16; i++) to[i] = i < whole ? from[i]! : 0
  const rest = length & 7
  if (rest !== 0) to[whole] = from[whole]! & (0xff00 >>> rest)
}
