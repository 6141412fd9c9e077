/**
 * @module provisioning/libloc-map
 * From a libloc database (libloc.ts) to the prefixes of a network map in binary form
 * ({@link PrefixSet}, for `NetworkMap.fromPrefixes`): one PID per origin AS (`as13335`) or per
 * country (`country-us`), optionally only some of them and some address families, with a default
 * PID for the rest. docs/libloc.md describes the choices for operators.
 *
 * Networks nest in libloc (1.0.0.0/8 in Australia holds 1.1.1.0/24 of AS13335), and the map keeps
 * that nesting: the longest-prefix match picks the most specific network, as libloc's own lookup
 * does. A network that would get the same PID as the nearest network around it that is in the map
 * changes no lookup, so by default it is left out (about half of the networks of the real database).
 */
import type { AddressType } from '../protocol/types.ts'
import type { PrefixColumns, PrefixSet } from '../netmap/network-map.ts'
import { countryText, LibLocError, type LibLocDatabase } from './libloc.ts'

export interface LibLocMapOptions {
  /**
   * What a PID stands for: the origin AS (PID `as<N>`) or the country (`country-<cc>`, the code in
   * lower case).
   */
  pid: 'asn' | 'country'
  /**
   * Address families to put in the map.
   * @default ['ipv4', 'ipv6']
   */
  families?: readonly AddressType[]
  /**
   * Only these ASes (numbers) or countries (two-letter codes, any case) get PIDs of their own; the
   * networks of all others are treated like networks without an AS or country.
   * @example [13335, 15169]
   */
  only?: readonly (number | string)[]
  /**
   * The PID of networks without an AS (AS 0) or country, or outside `only`. Without it they are
   * left out, and their addresses resolve through the nearest network around them, if any.
   * @example 'unknown'
   */
  defaultPid?: string
  /**
   * Also put 0.0.0.0/0 and ::/0 (of the families in the map) in the default PID, so that every
   * address has a PID. Needs `defaultPid`.
   * @default false
   */
  catchAll?: boolean
  /**
   * Leave out a network whose PID is that of the nearest network around it in the map (it changes
   * no lookup). `false` lists every network of the database that gets a PID.
   * @default true
   */
  aggregate?: boolean
}

export interface LibLocMapSummary {
  /** Networks in the database. */
  networks: number
  /** Prefixes in the map, by family. */
  prefixes: Record<AddressType, number>
  pids: number
  /** Networks of families not in the map. */
  otherFamily: number
  /** Networks without an AS or country, or outside `only`, and no default PID: left out. */
  leftOut: number
  /** Networks put in the default PID. */
  toDefault: number
  /** Networks left out by aggregation (same PID as the network around them). */
  aggregated: number
}

/** PID name of an AS. */
export function asPid(asn: number): string {
  return `as${asn}`
}

/** PID name of a country (two letters or digits, any case). */
export function countryPid(code: string): string {
  return `country-${code.toLowerCase()}`
}

const COUNTRY_CODE = /^[A-Za-z0-9]{2}$/

/** The network map prefixes of a libloc database, by the options; see {@link LibLocMapOptions}. */
export function libLocPrefixes(db: LibLocDatabase, options: LibLocMapOptions): { set: PrefixSet; summary: LibLocMapSummary } {
  const byCountry = options.pid === 'country'
  const families = new Set<AddressType>(options.families ?? ['ipv4', 'ipv6'])
  const only = options.only === undefined ? undefined : new Set(options.only.map((key) => keyOf(byCountry, key)))
  const aggregate = options.aggregate ?? true
  if (options.catchAll && options.defaultPid === undefined) throw new RangeError('catchAll needs a defaultPid')

  const names: string[] = []
  const pidOfKey = new Map<number, number>()
  const DEFAULT = options.defaultPid === undefined ? -1 : names.push(options.defaultPid) - 1
  const out = { ipv4: new ColumnsBuilder(4), ipv6: new ColumnsBuilder(16) }
  const summary: LibLocMapSummary = { networks: db.networkCount, prefixes: { ipv4: 0, ipv6: 0 }, pids: 0, otherFamily: 0, leftOut: 0, toDefault: 0, aggregated: 0 }
  const around = { ipv4: new Enclosing(4), ipv6: new Enclosing(16) }
  // The catch-all /0 is around every network (for aggregation); it goes into the map at the end,
  // unless the database has a /0 network of its own with another PID, which wins.
  if (options.catchAll) for (const family of families) around[family].push(new Uint8Array(family === 'ipv4' ? 4 : 16), 0, DEFAULT)
  const hasRoot = { ipv4: false, ipv6: false }

  db.forEachNetwork((family, bytes, length, network) => {
    if (!families.has(family)) {
      summary.otherFamily++
      return
    }
    let key = byCountry ? db.countryKeyOf(network) : db.asnOf(network)
    if (byCountry && key !== 0) {
      if (!isCountryKey(key)) throw new LibLocError(`network ${network} has the country code ${JSON.stringify(countryText(key))}, not two letters or digits`)
      key = upperCase(key)
    }
    let pid: number
    if (key !== 0 && (only === undefined || only.has(key))) {
      pid = pidOfKey.get(key) ?? -1
      if (pid === -1) {
        pid = names.push(byCountry ? countryPid(countryText(key)) : asPid(key)) - 1
        pidOfKey.set(key, pid)
      }
    } else if (DEFAULT !== -1) {
      pid = DEFAULT
      summary.toDefault++
    } else {
      summary.leftOut++
      return
    }
    if (aggregate) {
      const enclosing = around[family]
      if (enclosing.pidAround(bytes, length) === pid) {
        summary.aggregated++
        return
      }
      enclosing.push(bytes, length, pid)
    }
    out[family].add(bytes, length, pid)
    if (length === 0) hasRoot[family] = true
  })
  if (options.catchAll) {
    for (const family of families) if (!hasRoot[family]) out[family].add(new Uint8Array(family === 'ipv4' ? 4 : 16), 0, DEFAULT)
  }

  const set: { pids: string[]; ipv4?: PrefixColumns; ipv6?: PrefixColumns } = { pids: names }
  for (const family of families) {
    set[family] = out[family].build()
    summary.prefixes[family] = out[family].count
  }
  summary.pids = names.length
  return { set, summary }
}

/** An AS number, or a country code as the two character codes of its upper case. */
function keyOf(byCountry: boolean, key: number | string): number {
  if (!byCountry) {
    const asn = typeof key === 'number' ? key : Number(/^(?:as)?(\d+)$/i.exec(key)?.[1] ?? Number.NaN)
    if (!Number.isInteger(asn) || asn < 1 || asn > 0xffffffff) throw new RangeError(`${JSON.stringify(key)} is not an AS number`)
    return asn
  }
  if (typeof key !== 'string' || !COUNTRY_CODE.test(key)) throw new RangeError(`${JSON.stringify(key)} is not a two-letter country code`)
  const upper = key.toUpperCase()
  return (upper.charCodeAt(0) << 8) | upper.charCodeAt(1)
}

function isCountryKey(key: number): boolean {
  return isAlnum(key >>> 8) && isAlnum(key & 0xff)
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
}

function upperCase(key: number): number {
  let a = key >>> 8
  let b = key & 0xff
  if (a >= 0x61 && a <= 0x7a) a -= 0x20
  if (b >= 0x61 && b <= 0x7a) b -= 0x20
  return (a << 8) | b
}

/**
 * The networks around the current one, for aggregation. Networks come in address order (a network
 * before those inside it), so those that hold the current one are a stack: pop the ones it is not
 * inside, and the top is the nearest.
 */
class Enclosing {
  readonly #width: number
  #bytes: Uint8Array
  #lengths: number[] = []
  #pids: number[] = []

  constructor(width: number) {
    this.#width = width
    this.#bytes = new Uint8Array(width * 8)
  }

  /** PID of the nearest network around this one, or -1 (and forget those it is not inside). */
  pidAround(bytes: Uint8Array, length: number): number {
    while (this.#lengths.length > 0) {
      const top = this.#lengths.length - 1
      if (this.#holds(top, bytes, length)) return this.#pids[top]!
      this.#lengths.pop()
      this.#pids.pop()
    }
    return -1
  }

  push(bytes: Uint8Array, length: number, pid: number): void {
    const at = this.#lengths.length * this.#width
    if (at + this.#width > this.#bytes.length) {
      const grown = new Uint8Array(this.#bytes.length * 2)
      grown.set(this.#bytes)
      this.#bytes = grown
    }
    this.#bytes.set(bytes, at)
    this.#lengths.push(length)
    this.#pids.push(pid)
  }

  #holds(index: number, bytes: Uint8Array, length: number): boolean {
    const outer = this.#lengths[index]!
    if (outer > length) return false
    const at = index * this.#width
    const whole = outer >>> 3
    for (let i = 0; i < whole; i++) if (this.#bytes[at + i] !== bytes[i]) return false
    const rest = outer & 7
    return rest === 0 || ((this.#bytes[at + whole]! ^ bytes[whole]!) & (0xff00 >>> rest) & 0xff) === 0
  }
}

/** Growing {@link PrefixColumns} of one family. */
class ColumnsBuilder {
  readonly #width: number
  count = 0
  #bytes: Uint8Array
  #lengths: Uint8Array
  #pids: Uint32Array

  constructor(width: number) {
    this.#width = width
    this.#bytes = new Uint8Array(1024 * width)
    this.#lengths = new Uint8Array(1024)
    this.#pids = new Uint32Array(1024)
  }

  add(bytes: Uint8Array, length: number, pid: number): void {
    if (this.count === this.#lengths.length) {
      const size = this.count * 2
      this.#bytes = grow(this.#bytes, size * this.#width) as Uint8Array
      this.#lengths = grow(this.#lengths, size) as Uint8Array
      this.#pids = grow(this.#pids, size) as Uint32Array
    }
    this.#bytes.set(bytes, this.count * this.#width)
    this.#lengths[this.count] = length
    this.#pids[this.count] = pid
    this.count++
  }

  /** Copies at the exact size: the spec keeps them as long as the config serves. */
  build(): PrefixColumns {
    return { bytes: this.#bytes.slice(0, this.count * this.#width), lengths: this.#lengths.slice(0, this.count), pids: this.#pids.slice(0, this.count) }
  }
}

function grow(array: Uint8Array | Uint32Array, size: number): Uint8Array | Uint32Array {
  const grown = array instanceof Uint8Array ? new Uint8Array(size) : new Uint32Array(size)
  grown.set(array)
  return grown
}
