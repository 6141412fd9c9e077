/**
 * @module netmap/address
 * Text forms of IPv4 and IPv6 addresses and prefixes: strict parsing (RFC 4291 §2.2 and §2.3 for
 * IPv6, dotted quads for IPv4), canonical output (RFC 5952) and the typed endpoint addresses of
 * RFC 7285 §10.4.3 (`ipv4:192.0.2.2`). Addresses are byte arrays in network order: 4 bytes for
 * IPv4, 16 for IPv6.
 */
import type { AddressType } from '../protocol/types.ts'

export interface ParsedAddress {
  family: AddressType
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array
  /** Canonical text: dotted quad, or RFC 5952 IPv6. */
  text: string
}

export interface ParsedPrefix {
  family: AddressType
  /** 4 or 16 bytes, network order, host bits zero. */
  bytes: Uint8Array
  length: number
  /** Canonical text, e.g. `192.0.2.0/24` or `2001:db8::/32`. */
  text: string
}

const BITS: Record<AddressType, number> = { ipv4: 32, ipv6: 128 }
const NAMES: Record<AddressType, string> = { ipv4: 'IPv4', ipv6: 'IPv6' }

/** A strict dotted quad: four decimal numbers 0-255 without leading zeros (`01` could be octal). */
export function parseIPv4(text: string): Uint8Array | undefined {
  if (typeof text !== 'string') return undefined
  const bytes = new Uint8Array(4)
  return parseIPv4Into(text, bytes) ? bytes : undefined
}

function parseIPv4Into(text: string, out: Uint8Array): boolean {
  let part = 0
  let value = 0
  let digits = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x2e /* . */) {
      if (digits === 0 || part === 3) return false
      out[part++] = value
      value = 0
      digits = 0
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value === 0) return false // a leading zero
      value = value * 10 + (c - 0x30)
      digits++
      if (value > 255) return false
    } else {
      return false
    }
  }
  if (digits === 0 || part !== 3) return false
  out[3] = value
  return true
}

const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/
// "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"; anything longer is not an address, and the cap
// keeps a hostile megabyte string from reaching split().
const MAX_IPV6_TEXT = 45

/**
 * Every text form of RFC 4291 §2.2: eight groups of 1-4 hex digits, one `::` standing for one or
 * more zero groups, and a dotted quad in the last 32 bits (`::ffff:192.0.2.1`). Case-insensitive.
 * Zone ids (`fe80::1%eth0`, RFC 4007) are refused: they name an interface, not an address.
 */
export function parseIPv6(text: string): Uint8Array | undefined {
  if (typeof text !== 'string' || text.length < 2 || text.length > MAX_IPV6_TEXT) return undefined
  const gap = text.indexOf('::')
  let groups: number[] | undefined
  if (gap === -1) {
    groups = parseGroups(text, true)
    if (groups === undefined || groups.length !== 8) return undefined
  } else {
    if (text.indexOf('::', gap + 1) !== -1) return undefined // two gaps, or ":::"
    const head = parseGroups(text.slice(0, gap), false)
    const tail = parseGroups(text.slice(gap + 2), true)
    if (head === undefined || tail === undefined) return undefined
    const zeros = 8 - head.length - tail.length
    if (zeros < 1) return undefined // "::" stands for at least one group
    groups = [...head, ...new Array<number>(zeros).fill(0), ...tail]
  }
  const bytes = new Uint8Array(16)
  for (let i = 0; i < 8; i++) {
    const group = groups[i]!
    bytes[2 * i] = group >>> 8
    bytes[2 * i + 1] = group & 0xff
  }
  return bytes
}

/** Colon-separated groups; the last may be a dotted quad (two groups) when `allowIPv4`. */
function parseGroups(part: string, allowIPv4: boolean): number[] | undefined {
  if (part === '') return []
  const pieces = part.split(':')
  const groups: number[] = []
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!
    if (allowIPv4 && i === pieces.length - 1 && piece.includes('.')) {
      const quad = parseIPv4(piece)
      if (quad === undefined) return undefined
      groups.push((quad[0]! << 8) | quad[1]!, (quad[2]! << 8) | quad[3]!)
    } else if (HEX_GROUP.test(piece)) {
      groups.push(parseInt(piece, 16))
    } else {
      return undefined
    }
  }
  return groups
}

export function parseAddress(family: AddressType, text: string): ParsedAddress | undefined {
  const bytes = family === 'ipv4' ? parseIPv4(text) : family === 'ipv6' ? parseIPv6(text) : undefined
  if (bytes === undefined) return undefined
  return { family, bytes, text: formatAddress(family, bytes) }
}

/** RFC 7285 §10.4.3 typed endpoint address "ipv4:192.0.2.2" / "ipv6:2001:db8::1". undefined if malformed or unknown type. */
export function parseTypedAddress(typed: string): ParsedAddress | undefined {
  if (typeof typed !== 'string') return undefined // request JSON may hold anything
  const colon = typed.indexOf(':')
  if (colon === -1) return undefined
  // §10.4.1: the address types are the lowercase strings "ipv4" and "ipv6".
  const type = typed.slice(0, colon)
  if (type !== 'ipv4' && type !== 'ipv6') return undefined
  return parseAddress(type, typed.slice(colon + 1))
}

/**
 * "192.0.2.0/24" in the given family (RFC 4632 §3.1, RFC 4291 §2.3). A bare address (no "/len")
 * means a full-length prefix. Returns `{ error }` explaining why when invalid.
 */
export function parsePrefix(family: AddressType, text: string): ParsedPrefix | { error: string } {
  const bits = BITS[family]
  if (bits === undefined) return { error: `unknown address type ${JSON.stringify(family)} (expected ipv4 or ipv6)` }
  if (typeof text !== 'string') return { error: `a prefix is a string, not ${JSON.stringify(text)}` }
  const slash = text.indexOf('/')
  const addressText = slash === -1 ? text : text.slice(0, slash)
  const bytes = family === 'ipv4' ? parseIPv4(addressText) : parseIPv6(addressText)
  if (bytes === undefined) {
    const other: AddressType = family === 'ipv4' ? 'ipv6' : 'ipv4'
    const looksOther = (other === 'ipv6' ? parseIPv6(addressText) : parseIPv4(addressText)) !== undefined
    const hint = looksOther ? ` (it looks like ${NAMES[other]})` : ''
    return { error: `${JSON.stringify(text)} is not a valid ${NAMES[family]} prefix${hint}` }
  }
  let length = bits
  if (slash !== -1) {
    const lengthText = text.slice(slash + 1)
    length = /^(?:0|[1-9][0-9]{0,2})$/.test(lengthText) ? Number(lengthText) : NaN
    if (!(length <= bits)) {
      return { error: `${JSON.stringify(text)}: the prefix length must be a whole number from 0 to ${bits}` }
    }
  }
  if (clearHostBits(bytes, length)) {
    const suggestion = `${formatAddress(family, bytes)}/${length}`
    return { error: `${text} has host bits set; did you mean ${suggestion}?` }
  }
  return { family, bytes, length, text: `${formatAddress(family, bytes)}/${length}` }
}

/** Zero every bit past `length`; true if any was set. */
function clearHostBits(bytes: Uint8Array, length: number): boolean {
  let changed = false
  for (let i = length >>> 3; i < bytes.length; i++) {
    const keep = i === length >>> 3 ? (0xff00 >>> (length & 7)) & 0xff : 0
    const byte = bytes[i]!
    if ((byte & ~keep) !== 0) {
      bytes[i] = byte & keep
      changed = true
    }
  }
  return changed
}

/** Guess the family from the text (contains ':' => ipv6) and parse. */
export function parseAnyPrefix(text: string): ParsedPrefix | { error: string } {
  return parsePrefix(typeof text === 'string' && text.includes(':') ? 'ipv6' : 'ipv4', text)
}

/**
 * Canonical text. IPv6 follows RFC 5952 §4: lowercase, no leading zeros, the longest run of two or
 * more zero groups shortened to "::" (the first on ties), and IPv4-mapped addresses
 * (::ffff:0:0/96) in mixed notation, `::ffff:192.0.2.1` (§5).
 */
export function formatAddress(family: AddressType, bytes: Uint8Array): string {
  if (bytes.length !== BITS[family] >>> 3) {
    throw new RangeError(`an ${NAMES[family]} address has ${BITS[family] >>> 3} bytes, not ${bytes.length}`)
  }
  if (family === 'ipv4') return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`
  if (isIPv4Mapped(bytes)) return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`
  const groups: string[] = []
  let runStart = -1
  let runLength = 0
  let start = -1
  for (let i = 0; i < 8; i++) {
    const group = (bytes[2 * i]! << 8) | bytes[2 * i + 1]!
    groups.push(group.toString(16))
    if (group !== 0) {
      start = -1
      continue
    }
    if (start === -1) start = i
    if (i - start + 1 > runLength) {
      runStart = start
      runLength = i - start + 1
    }
  }
  // §4.2.2: a single zero group is not shortened.
  if (runLength < 2) return groups.join(':')
  return `${groups.slice(0, runStart).join(':')}::${groups.slice(runStart + runLength).join(':')}`
}

function isIPv4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false
  return bytes[10] === 0xff && bytes[11] === 0xff
}

/** "ipv4:192.0.2.2" / "ipv6:2001:db8::1" (RFC 7285 §10.4.3). */
export function typedAddress(a: ParsedAddress): string {
  return `${a.family}:${a.text}`
}

/**
 * An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, how a dual-stack socket reports an IPv4 peer)
 * as plain IPv4 text; any other text unchanged.
 */
export function unmapIPv4(text: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text)
  return mapped ? mapped[1]! : text
}
