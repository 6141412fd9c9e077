/**
 * @module discovery/xdomdisc
 * RFC 8686 cross-domain ALTO server discovery, `XDOMDISC(X, SP)`: find the ALTO server responsible
 * for an address or prefix through U-NAPTR records in the reverse DNS tree.
 *
 * - §3.2: IPv4 prefixes shorter than /8 and IPv6 shorter than /32 are refused ("unsupported
 *   prefix length"); the full reverse name (R32 / R128) is built from the address.
 * - §3.3: shorter names drop whole labels: R24, R16, R8 for IPv4 (8 bits a label), R64, R56,
 *   R48, R40, R32 for IPv6 (4 bits a label).
 * - §3.4 Table 1: the prefix length picks the first name; the shorter ones follow in order. The
 *   first name that yields URIs ends the procedure.
 * - §3.5: NODATA, NXDOMAIN and temporary failures all move on to the next name; temporary
 *   failures are reported (`temporary: true`) so the caller may retry later. No name is retried
 *   within one call.
 *
 * Addresses are parsed here rather than with netmap's parser: discovery sits beside netmap, not
 * above it (DESIGN.md layering), and needs only the bytes.
 */
import { createAltoError } from '../protocol/errors.ts'
import type { NaptrResolver } from './dns.ts'
import { resolveUnaptr, type UnaptrOptions, type UnaptrResult } from './unaptr.ts'

/** Reverse-name levels in lookup order (RFC 8686 Table 1). */
const IPV4_LEVELS = [32, 24, 16, 8]
const IPV6_LEVELS = [128, 64, 56, 48, 40, 32]

/**
 * Reverse names tried, in order, for an address or prefix (RFC 8686 Table 1). Names are lower case
 * and fully qualified without the trailing dot, e.g. `'100.51.198.in-addr.arpa'`.
 * Throws ALTO_ERR_UNSUPPORTED_PREFIX for IPv4 < /8 and IPv6 < /32, ALTO_ERR_BAD_DISCOVERY_INPUT
 * for anything that is not an address or prefix.
 */
export function xdomdiscNames(addressOrPrefix: string): string[] {
  const text = typeof addressOrPrefix === 'string' ? addressOrPrefix.trim() : ''
  const slash = text.indexOf('/')
  const addressText = slash === -1 ? text : text.slice(0, slash)
  const v4 = parseIPv4(addressText)
  const bytes = v4 ?? parseIPv6(addressText)
  const bits = v4 ? 32 : 128
  const lengthText = slash === -1 ? String(bits) : text.slice(slash + 1)
  const length = /^(0|[1-9][0-9]{0,2})$/.test(lengthText) ? Number(lengthText) : NaN
  if (bytes === undefined || !(length <= bits)) {
    throw createAltoError('ALTO_ERR_BAD_DISCOVERY_INPUT', [`not an IPv4 or IPv6 address or prefix: ${JSON.stringify(addressOrPrefix)}`])
  }
  const levels = v4 ? IPV4_LEVELS : IPV6_LEVELS
  const shortest = levels.at(-1)!
  if (length < shortest) throw createAltoError('ALTO_ERR_UNSUPPORTED_PREFIX', [`/${length} in ${text}`])
  return levels.filter((level) => level <= length).map((level) => (v4 ? ipv4Name(bytes, level) : ipv6Name(bytes, level)))
}

function ipv4Name(bytes: Uint8Array, level: number): string {
  const labels = Array.from(bytes.subarray(0, level / 8), String).reverse()
  return `${labels.join('.')}.in-addr.arpa`
}

function ipv6Name(bytes: Uint8Array, level: number): string {
  const nibbles: string[] = []
  for (const byte of bytes) nibbles.push((byte >> 4).toString(16), (byte & 0xf).toString(16))
  return `${nibbles.slice(0, level / 4).reverse().join('.')}.ip6.arpa`
}

/** A strict dotted quad (no leading zeros, which some parsers read as octal). */
function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.')
  if (parts.length !== 4 || !parts.every((part) => /^(0|[1-9][0-9]{0,2})$/.test(part) && Number(part) <= 255)) return undefined
  return Uint8Array.from(parts, Number)
}

/** RFC 4291 §2.2 text forms: 8 groups, one `::`, a dotted quad in the last 32 bits; no zone id. */
function parseIPv6(text: string): Uint8Array | undefined {
  if (text.length < 2 || text.length > 45) return undefined
  let hex = text
  const lastColon = text.lastIndexOf(':')
  if (text.includes('.')) {
    const quad = parseIPv4(text.slice(lastColon + 1))
    if (quad === undefined) return undefined
    hex = `${text.slice(0, lastColon + 1)}${((quad[0]! << 8) | quad[1]!).toString(16)}:${((quad[2]! << 8) | quad[3]!).toString(16)}`
  }
  const halves = hex.split('::')
  if (halves.length > 2) return undefined
  const groupsOf = (half: string): string[] => (half === '' ? [] : half.split(':'))
  const head = groupsOf(halves[0]!)
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : []
  const groups = [...head, ...tail]
  if (!groups.every((group) => /^[0-9a-fA-F]{1,4}$/.test(group))) return undefined
  if (halves.length === 1 ? groups.length !== 8 : groups.length > 7) return undefined
  const words = [...head, ...Array<string>(8 - groups.length).fill('0'), ...tail].map((group) => parseInt(group, 16))
  const bytes = new Uint8Array(16)
  words.forEach((word, i) => {
    bytes[2 * i] = word >> 8
    bytes[2 * i + 1] = word & 0xff
  })
  return bytes
}

export interface XdomdiscResult extends UnaptrResult {
  /** The reverse name that produced the URIs, when any. */
  matchedName?: string
}

export interface XdomdiscOptions extends UnaptrOptions {
  /** The U-NAPTR service: a tag or a full service parameter (`'ALTO:https'`). @default 'ALTO' */
  service?: string
}

/**
 * XDOMDISC(X, SP): U-NAPTR on each name of {@link xdomdiscNames} in order; the first name yielding
 * URIs ends it. Empty `uris` when nothing matched; `temporary` when some lookup failed temporarily.
 */
export async function xdomdisc(resolver: NaptrResolver, addressOrPrefix: string, options: XdomdiscOptions = {}): Promise<XdomdiscResult> {
  const { service = 'ALTO', ...unaptrOptions } = options
  const names = xdomdiscNames(addressOrPrefix)
  const result: XdomdiscResult = { uris: [], temporary: false, trace: [] }
  for (const name of names) {
    const step = await resolveUnaptr(resolver, name, service, unaptrOptions)
    result.trace.push(...step.trace)
    result.temporary ||= step.temporary
    if (step.uris.length > 0) {
      result.uris = step.uris
      result.matchedName = name
      break
    }
  }
  return result
}
