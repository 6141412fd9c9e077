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
  return parseIPv4At(text, 0, bytes, 0) ? bytes : undefined
}

/** The dotted quad `text[start..]` into `out[offset..offset+4)`; false if invalid. */
function parseIPv4At(text: string, start: number, out: Uint8Array, offset: number): boolean {
  let part = 0
  let value = 0
  let digits = 0
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x2e /* . */) {
      if (digits === 0 || part === 3) return false
      out[offset + part++] = value
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
  out[offset + 3] = value
  return true
}

// "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"; anything longer is not an address.
const MAX_IPV6_TEXT = 45
const COLON = 0x3a
const DOT = 0x2e

/** Value of a hex digit's char code, or -1. */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  const lower = c | 0x20
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1
}

/**
 * Every text form of RFC 4291 §2.2: eight groups of 1-4 hex digits, one `::` standing for one or
 * more zero groups, and a dotted quad in the last 32 bits (`::ffff:192.0.2.1`). Case-insensitive.
 * Zone ids (`fe80::1%eth0`, RFC 4007) are refused: they name an interface, not an address.
 */
export function parseIPv6(text: string): Uint8Array | undefined {
  if (typeof text !== 'string') return undefined
  const bytes = new Uint8Array(16)
  return parseIPv6At(text, 0, bytes) ? bytes : undefined
}

/**
 * The IPv6 text `text[start..]` into `out` (16 bytes), in one pass and without allocating (the
 * endpoint cost service parses thousands of addresses per request burst); false if invalid.
 * Groups are written as they come; those after a `::` are moved to the end at the close.
 */
function parseIPv6At(text: string, start: number, out: Uint8Array): boolean {
  const end = text.length
  if (end - start < 2 || end - start > MAX_IPV6_TEXT) return false
  let groups = 0 // groups written so far
  let gap = -1 // the group index where "::" stands
  let i = start
  if (text.charCodeAt(i) === COLON) {
    if (text.charCodeAt(i + 1) !== COLON) return false
    gap = 0
    i += 2
  }
  while (i < end) {
    const groupStart = i
    let value = 0
    let digits = 0
    for (let h: number; i < end && (h = hexDigit(text.charCodeAt(i))) >= 0; i++) {
      if (++digits > 4) return false
      value = (value << 4) | h
    }
    if (i < end && text.charCodeAt(i) === DOT) {
      // A dotted quad: the last 32 bits, so it must end the text.
      if (groups > 6 || !parseIPv4At(text, groupStart, out, 2 * groups)) return false
      groups += 2
      break
    }
    if (digits === 0 || groups === 8) return false
    out[2 * groups] = value >>> 8
    out[2 * groups + 1] = value & 0xff
    groups++
    if (i === end) break
    if (text.charCodeAt(i) !== COLON) return false
    i++
    if (i < end && text.charCodeAt(i) === COLON) {
      if (gap !== -1) return false // two gaps, or ":::"
      gap = groups
      i++
    } else if (i === end) {
      return false // a trailing single colon
    }
  }
  if (gap === -1) return groups === 8
  if (groups > 7) return false // "::" stands for at least one group
  const tail = groups - gap
  out.copyWithin(16 - 2 * tail, 2 * gap, 2 * groups)
  out.fill(0, 2 * gap, 16 - 2 * tail)
  return true
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
 * A typed endpoint address (RFC 7285 §10.4.3) into caller-owned buffers, without allocating: the
 * IPv4 form fills `v4` (4 bytes), the IPv6 form `v6` (16 bytes). Returns the family, or undefined
 * when the text is malformed or of an unknown type. The hot path of the endpoint services.
 */
export function parseTypedAddressInto(typed: unknown, v4: Uint8Array, v6: Uint8Array): AddressType | undefined {
  if (typeof typed !== 'string' || typed.length < 6) return undefined
  // §10.4.1: the address types are the lowercase strings "ipv4" and "ipv6".
  if (typed.charCodeAt(0) !== 0x69 || typed.charCodeAt(1) !== 0x70 || typed.charCodeAt(2) !== 0x76 || typed.charCodeAt(4) !== COLON) return undefined
  const version = typed.charCodeAt(3)
  if (version === 0x34 /* 4 */) return parseIPv4At(typed, 5, v4, 0) ? 'ipv4' : undefined
  if (version === 0x36 /* 6 */) return parseIPv6At(typed, 5, v6) ? 'ipv6' : undefined
  return undefined
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
