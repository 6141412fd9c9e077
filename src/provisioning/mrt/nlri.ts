/**
 * @module provisioning/mrt/nlri
 * Prefixes as BGP carries them (RFC 4271 §4.3 NLRI, RFC 4760 §5): a length in bits, then just
 * enough bytes for it, optionally preceded by an RFC 7911 ADD-PATH path identifier. Shared by the
 * UPDATE decoder and the MRT record decoders (RFC 6396 writes RIB prefixes the same way).
 */
import { formatAddress } from '../../netmap/address.ts'
import type { AddressType } from '../../protocol/types.ts'

/** One decoded prefix: network bytes with host bits zero, and its canonical text. */
export interface Nlri {
  family: AddressType
  bytes: Uint8Array
  length: number
  prefix: string
  pathId?: number
}

/** Why a prefix field did not decode (the caller turns it into its own error type). */
export class NlriError extends Error {
  override name = 'NlriError'
}

const BYTES: Record<AddressType, number> = { ipv4: 4, ipv6: 16 }

/** The family of an RFC 4760 AFI (1 IPv4, 2 IPv6), undefined for any other. */
export function familyOfAfi(afi: number): AddressType | undefined {
  return afi === 1 ? 'ipv4' : afi === 2 ? 'ipv6' : undefined
}

/**
 * One prefix at `offset`: length byte, then ceil(length/8) bytes. RFC 4271 §4.3: the trailing bits
 * after `length` are irrelevant, so they are cleared rather than refused.
 * @returns the prefix and the offset after it
 */
export function readPrefix(buf: Uint8Array, offset: number, end: number, family: AddressType): { nlri: Nlri; next: number } {
  if (offset >= end) throw new NlriError('prefix length missing')
  const length = buf[offset]!
  const size = BYTES[family]
  if (length > size * 8) throw new NlriError(`prefix length ${length} is longer than ${size * 8} bits`)
  const used = (length + 7) >>> 3
  if (offset + 1 + used > end) throw new NlriError(`prefix of /${length} runs past the end of its field`)
  const bytes = new Uint8Array(size)
  bytes.set(buf.subarray(offset + 1, offset + 1 + used))
  if ((length & 7) !== 0) bytes[used - 1]! &= (0xff00 >>> (length & 7)) & 0xff
  return { nlri: { family, bytes, length, prefix: `${formatAddress(family, bytes)}/${length}` }, next: offset + 1 + used }
}

/** Every prefix of a field, each preceded by a 4-byte path identifier when `addPath`. */
export function readPrefixes(buf: Uint8Array, start: number, end: number, family: AddressType, addPath: boolean): Nlri[] {
  const out: Nlri[] = []
  let offset = start
  while (offset < end) {
    let pathId: number | undefined
    if (addPath) {
      if (offset + 4 > end) throw new NlriError('path identifier runs past the end of its field')
      pathId = readU32(buf, offset)
      offset += 4
    }
    const { nlri, next } = readPrefix(buf, offset, end, family)
    if (pathId !== undefined) nlri.pathId = pathId
    out.push(nlri)
    offset = next
  }
  return out
}

/**
 * Like {@link readPrefixes}, for a message whose ADD-PATH state is unknown (an MRT record written
 * without the RFC 8050 subtypes by a speaker that had negotiated ADD-PATH, as BIRD 1.6 did). The
 * field is read without path identifiers first; if that does not decode, or decodes to the same
 * prefix twice (four zero bytes of a path identifier read as three /0s), it is read again with
 * them, and the reading that decodes wins.
 */
export function readPrefixesGuessingAddPath(buf: Uint8Array, start: number, end: number, family: AddressType): Nlri[] {
  let plain: Nlri[] | undefined
  let failure: unknown
  try {
    plain = readPrefixes(buf, start, end, family, false)
    if (!hasDuplicates(plain)) return plain
  } catch (error) {
    failure = error
  }
  try {
    const withIds = readPrefixes(buf, start, end, family, true)
    if (!plain || !hasDuplicates(withIds)) return withIds
  } catch {
    // neither reading is clean: keep the plain one if it decoded at all
  }
  if (plain) return plain
  throw failure
}

function hasDuplicates(list: readonly Nlri[]): boolean {
  if (list.length < 2) return false
  const seen = new Set<string>()
  for (const nlri of list) {
    const key = `${nlri.prefix}#${nlri.pathId ?? ''}`
    if (seen.has(key)) return true
    seen.add(key)
  }
  return false
}

export function readU32(buf: Uint8Array, offset: number): number {
  return ((buf[offset]! << 24) >>> 0) + (buf[offset + 1]! << 16) + (buf[offset + 2]! << 8) + buf[offset + 3]!
}

export function readU16(buf: Uint8Array, offset: number): number {
  return (buf[offset]! << 8) | buf[offset + 1]!
}

/** An address of `family` at `offset` (the caller has checked the bounds). */
export function readAddress(buf: Uint8Array, offset: number, family: AddressType): string {
  return formatAddress(family, buf.slice(offset, offset + BYTES[family]))
}
