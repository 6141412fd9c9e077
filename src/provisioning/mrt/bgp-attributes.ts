/**
 * @module provisioning/mrt/bgp-attributes
 * BGP path attributes (RFC 4271 §4.3, §5): ORIGIN, AS_PATH (2- and 4-byte, with the RFC 6793 §4.2.3
 * AS4_PATH merge), NEXT_HOP, MED, LOCAL_PREF, ATOMIC_AGGREGATE, AGGREGATOR, COMMUNITIES (RFC 1997),
 * MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760) and LARGE_COMMUNITY (RFC 8092). Other attributes are
 * skipped. Errors carry the RFC 4271 §6.3 UPDATE Message Error subcode, so that a BGP speaker can
 * send the NOTIFICATION; the MRT reader decodes in `lenient` mode (see {@link AttributeOptions}).
 */
import type { AddressType } from '../../protocol/types.ts'
import { familyOfAfi, readAddress, readU16, readU32 } from './nlri.ts'

/** RFC 4271 §4.5: the NOTIFICATION error code of every error found in an UPDATE. */
export const UPDATE_MESSAGE_ERROR = 3

/** RFC 4271 §4.5 / §6.3 UPDATE Message Error subcodes (7, AS Routing Loop, is deprecated). */
export const UpdateErrorSubcode = {
  MALFORMED_ATTRIBUTE_LIST: 1,
  UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: 2,
  MISSING_WELL_KNOWN_ATTRIBUTE: 3,
  ATTRIBUTE_FLAGS_ERROR: 4,
  ATTRIBUTE_LENGTH_ERROR: 5,
  INVALID_ORIGIN_ATTRIBUTE: 6,
  INVALID_NEXT_HOP_ATTRIBUTE: 8,
  OPTIONAL_ATTRIBUTE_ERROR: 9,
  INVALID_NETWORK_FIELD: 10,
  MALFORMED_AS_PATH: 11,
} as const
export type UpdateErrorSubcode = (typeof UpdateErrorSubcode)[keyof typeof UpdateErrorSubcode]

/** A malformed UPDATE: what a BGP speaker puts in its NOTIFICATION (RFC 4271 §4.5, §6.3). */
export class BgpUpdateError extends Error {
  /** NOTIFICATION error code: always 3, UPDATE Message Error. */
  readonly errorCode = UPDATE_MESSAGE_ERROR
  readonly errorSubcode: UpdateErrorSubcode
  /** NOTIFICATION data as §6.3 asks for this subcode (e.g. the faulty attribute), possibly empty. */
  readonly data: Uint8Array
  constructor(errorSubcode: UpdateErrorSubcode, message: string, data: Uint8Array = new Uint8Array(0)) {
    super(message)
    this.name = 'BgpUpdateError'
    this.errorSubcode = errorSubcode
    this.data = data
  }
}

export function isBgpUpdateError(error: unknown): error is BgpUpdateError {
  return error instanceof BgpUpdateError
}

/** Attribute type codes (IANA "BGP Path Attributes"). */
export const AttributeType = {
  ORIGIN: 1,
  AS_PATH: 2,
  NEXT_HOP: 3,
  MULTI_EXIT_DISC: 4,
  LOCAL_PREF: 5,
  ATOMIC_AGGREGATE: 6,
  AGGREGATOR: 7,
  COMMUNITIES: 8,
  MP_REACH_NLRI: 14,
  MP_UNREACH_NLRI: 15,
  AS4_PATH: 17,
  AS4_AGGREGATOR: 18,
  LARGE_COMMUNITY: 32,
} as const

/** AS_PATH segment types: RFC 4271 §4.3 (1, 2) and RFC 5065 §3 (3, 4). */
export const AS_SET = 1
export const AS_SEQUENCE = 2
export const AS_CONFED_SEQUENCE = 3
export const AS_CONFED_SET = 4
/** RFC 6793 §9: the 2-byte stand-in for a 4-byte AS number. */
export const AS_TRANS = 23456

export interface AsPathSegment {
  type: number
  asns: readonly number[]
}

/** The decoded attributes of one UPDATE (or one RIB entry). Absent attributes are undefined/empty. */
export interface PathAttributes {
  /** 0 IGP, 1 EGP, 2 INCOMPLETE. */
  origin?: number
  /** AS_PATH segments, after merging AS4_PATH when the session was 2-byte (RFC 6793 §4.2.3). */
  asPathSegments: readonly AsPathSegment[]
  /** AS_SEQUENCE and AS_SET members in order; confederation segments (RFC 5065) are left out. */
  asPath: readonly number[]
  /** The last AS when the path ends in an AS_SEQUENCE. */
  originAs?: number
  /** The NEXT_HOP attribute (IPv4 NLRI). MP_REACH_NLRI carries its own, see {@link MpReach}. */
  nextHop?: string
  med?: number
  localPref?: number
  atomicAggregate?: boolean
  aggregator?: { asn: number; address: string }
  /** RFC 1997 `ASN:VALUE`, in the order carried. */
  communities: readonly string[]
  /** RFC 8092 `GLOBAL:LOCAL1:LOCAL2`, in the order carried. */
  largeCommunities: readonly string[]
}

/** MP_REACH_NLRI (RFC 4760 §3): the family, its next hop and the raw NLRI field. */
export interface MpReach {
  afi: number
  safi: number
  family?: AddressType
  /** Global next hop; an IPv4 text for a 4-byte next hop, IPv6 for 16 or 32 bytes (RFC 2545 §3). */
  nextHop?: string
  linkLocalNextHop?: string
  nlri: Uint8Array
}

/** MP_UNREACH_NLRI (RFC 4760 §4): the family and the raw withdrawn routes field. */
export interface MpUnreach {
  afi: number
  safi: number
  family?: AddressType
  withdrawn: Uint8Array
}

export interface DecodedAttributes {
  attributes: PathAttributes
  mpReach?: MpReach
  mpUnreach?: MpUnreach
  /** Type codes present, in order (well-known checks, End-of-RIB detection). */
  present: readonly number[]
}

export interface AttributeOptions {
  /** AS numbers in AS_PATH and AGGREGATOR are 4 bytes (RFC 6793: both speakers are NEW). */
  as4: boolean
  /**
   * Decode what archives hold rather than what a speaker may send (MRT): attribute flags are not
   * checked (BIRD 2 writes `0x00`), a repeated attribute keeps its first value, an AS_PATH that does
   * not decode at the announced AS width is tried at the other one, unknown well-known attributes
   * and zero-length AS_PATH segments are accepted, an AGGREGATOR of either width is read.
   * @default false
   */
  lenient?: boolean
  /**
   * RFC 6396 §4.3.4 RIB entries: MP_REACH_NLRI holds only the next hop length and next hop. The
   * full RFC 4760 form, which Quagga and OpenBGPD write there, is recognized too.
   * @default false
   */
  rib?: boolean
}

const WELL_KNOWN = 0x40
const OPTIONAL_TRANSITIVE = 0xc0
const OPTIONAL_NON_TRANSITIVE = 0x80
// RFC 4271 §4.3: the Optional and Transitive bits each attribute must carry (checked when strict).
const CATEGORY: Readonly<Record<number, number>> = {
  [AttributeType.ORIGIN]: WELL_KNOWN,
  [AttributeType.AS_PATH]: WELL_KNOWN,
  [AttributeType.NEXT_HOP]: WELL_KNOWN,
  [AttributeType.LOCAL_PREF]: WELL_KNOWN,
  [AttributeType.ATOMIC_AGGREGATE]: WELL_KNOWN,
  [AttributeType.MULTI_EXIT_DISC]: OPTIONAL_NON_TRANSITIVE,
  [AttributeType.MP_REACH_NLRI]: OPTIONAL_NON_TRANSITIVE,
  [AttributeType.MP_UNREACH_NLRI]: OPTIONAL_NON_TRANSITIVE,
  [AttributeType.AGGREGATOR]: OPTIONAL_TRANSITIVE,
  [AttributeType.COMMUNITIES]: OPTIONAL_TRANSITIVE,
  [AttributeType.AS4_PATH]: OPTIONAL_TRANSITIVE,
  [AttributeType.AS4_AGGREGATOR]: OPTIONAL_TRANSITIVE,
  [AttributeType.LARGE_COMMUNITY]: OPTIONAL_TRANSITIVE,
}
const FLAG_EXTENDED_LENGTH = 0x10
const FLAG_PARTIAL = 0x20

const { MALFORMED_ATTRIBUTE_LIST, UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, ATTRIBUTE_FLAGS_ERROR, ATTRIBUTE_LENGTH_ERROR } = UpdateErrorSubcode
const { INVALID_ORIGIN_ATTRIBUTE, OPTIONAL_ATTRIBUTE_ERROR, MALFORMED_AS_PATH } = UpdateErrorSubcode
// Shared by every route without communities (never mutated: a decoded list is a new array).
const NONE: string[] = []

function lengthError(buf: Uint8Array, header: number, end: number): never {
  throw new BgpUpdateError(ATTRIBUTE_LENGTH_ERROR, `attribute ${buf[header + 1]} has a length of ${end - header - ((buf[header]! & FLAG_EXTENDED_LENGTH) !== 0 ? 4 : 3)} bytes`, buf.slice(header, end))
}

/**
 * Decode a Path Attributes field (RFC 4271 §4.3).
 * @throws BgpUpdateError with the §6.3 subcode; its `data` is the faulty attribute where §6.3 asks
 */
export function decodeAttributes(input: Uint8Array, options: AttributeOptions): DecodedAttributes {
  // A plain view: Uint8Array#subarray is much cheaper than Buffer#subarray in this hot loop.
  const buf = input instanceof Buffer ? new Uint8Array(input.buffer, input.byteOffset, input.length) : input
  const lenient = options.lenient === true
  const present: number[] = []
  let origin: number | undefined
  let asPath: AsPathSegment[] | undefined
  let as4Path: AsPathSegment[] | undefined
  let nextHop: string | undefined
  let med: number | undefined
  let localPref: number | undefined
  let atomicAggregate: boolean | undefined
  let aggregator: { asn: number; address: string } | undefined
  let communities: string[] = NONE
  let largeCommunities: string[] = NONE
  let mpReach: MpReach | undefined
  let mpUnreach: MpUnreach | undefined

  let offset = 0
  while (offset < buf.length) {
    if (offset + 3 > buf.length) throw new BgpUpdateError(MALFORMED_ATTRIBUTE_LIST, 'a path attribute header runs past the end of the attributes')
    const header = offset
    const flags = buf[offset]!
    const type = buf[offset + 1]!
    const extended = (flags & FLAG_EXTENDED_LENGTH) !== 0
    if (extended && offset + 4 > buf.length) throw new BgpUpdateError(MALFORMED_ATTRIBUTE_LIST, 'a path attribute header runs past the end of the attributes')
    const length = extended ? readU16(buf, offset + 2) : buf[offset + 2]!
    const start = offset + (extended ? 4 : 3)
    const end = start + length
    if (end > buf.length) throw new BgpUpdateError(MALFORMED_ATTRIBUTE_LIST, `attribute ${type} (${length} bytes) runs past the end of the attributes`, buf.slice(header))
    offset = end
    if (present.includes(type)) {
      // §6.3: an attribute appearing twice makes the attribute list malformed.
      if (lenient) continue
      throw new BgpUpdateError(MALFORMED_ATTRIBUTE_LIST, `attribute ${type} appears more than once`)
    }
    present.push(type)
    const category = CATEGORY[type]
    if (!lenient) {
      if (category === undefined) {
        if ((flags & 0x80) === 0) throw new BgpUpdateError(UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, `unrecognized well-known attribute ${type}`, buf.slice(header, end))
        continue
      }
      // §4.3: the Partial bit is 0 for well-known and optional non-transitive attributes.
      const partialAllowed = category === OPTIONAL_TRANSITIVE
      if ((flags & 0xc0) !== category || (!partialAllowed && (flags & FLAG_PARTIAL) !== 0)) {
        throw new BgpUpdateError(ATTRIBUTE_FLAGS_ERROR, `attribute ${type} has flags 0x${flags.toString(16).padStart(2, '0')} that conflict with its type`, buf.slice(header, end))
      }
    }
    switch (type) {
      case AttributeType.ORIGIN:
        if (length !== 1) lengthError(buf, header, end)
        if (buf[start]! > 2) throw new BgpUpdateError(INVALID_ORIGIN_ATTRIBUTE, `ORIGIN ${buf[start]} is not IGP (0), EGP (1) or INCOMPLETE (2)`, buf.slice(header, end))
        origin = buf[start]!
        break
      case AttributeType.AS_PATH:
        asPath = decodeAsPath(buf, start, end, options.as4, lenient, header)
        break
      case AttributeType.AS4_PATH:
        // RFC 6793 §6 (and RFC 7606 §7.7): a malformed AS4_PATH is discarded, not an error.
        try {
          as4Path = decodeAsPath(buf, start, end, true, false, header)
        } catch {
          as4Path = undefined
        }
        break
      case AttributeType.NEXT_HOP:
        if (length !== 4) lengthError(buf, header, end)
        nextHop = readAddress(buf, start, 'ipv4')
        break
      case AttributeType.MULTI_EXIT_DISC:
        if (length !== 4) lengthError(buf, header, end)
        med = readU32(buf, start)
        break
      case AttributeType.LOCAL_PREF:
        if (length !== 4) lengthError(buf, header, end)
        localPref = readU32(buf, start)
        break
      case AttributeType.ATOMIC_AGGREGATE:
        if (length !== 0) lengthError(buf, header, end)
        atomicAggregate = true
        break
      case AttributeType.AGGREGATOR: {
        // 6 bytes on a 2-byte session, 8 on a 4-byte one (RFC 6793 §3); archives hold both.
        const width = lenient ? length - 4 : options.as4 ? 4 : 2
        if (length !== width + 4 || (width !== 2 && width !== 4)) lengthError(buf, header, end)
        aggregator = { asn: width === 4 ? readU32(buf, start) : readU16(buf, start), address: readAddress(buf, start + width, 'ipv4') }
        break
      }
      case AttributeType.AS4_AGGREGATOR:
        break // not needed for maps; RFC 6793 §6 discards it when malformed anyway
      case AttributeType.COMMUNITIES:
        if (length % 4 !== 0) lengthError(buf, header, end)
        communities = []
        for (let i = start; i < end; i += 4) communities.push(`${readU16(buf, i)}:${readU16(buf, i + 2)}`)
        break
      case AttributeType.LARGE_COMMUNITY:
        if (length % 12 !== 0) lengthError(buf, header, end)
        largeCommunities = []
        for (let i = start; i < end; i += 12) largeCommunities.push(`${readU32(buf, i)}:${readU32(buf, i + 4)}:${readU32(buf, i + 8)}`)
        break
      case AttributeType.MP_REACH_NLRI:
        mpReach = options.rib ? decodeRibMpReach(buf.subarray(start, end), buf.slice(header, end)) : decodeMpReach(buf.subarray(start, end), buf.slice(header, end))
        break
      case AttributeType.MP_UNREACH_NLRI: {
        if (length < 3) lengthError(buf, header, end)
        const afi = readU16(buf, start)
        mpUnreach = { afi, safi: buf[start + 2]!, withdrawn: buf.subarray(start + 3, end) }
        const family = familyOfAfi(afi)
        if (family) mpUnreach.family = family
        break
      }
      default:
        break // an attribute that maps do not use: skipped
    }
  }

  // RFC 6793 §4.2.3: a NEW speaker on a 2-byte session rebuilds the path from AS_PATH and AS4_PATH,
  // unless an AGGREGATOR with a real (not AS_TRANS) AS says the AS4 attributes are stale.
  let segments = asPath ?? []
  if (!options.as4 && as4Path && asPath && (aggregator === undefined || aggregator.asn === AS_TRANS)) segments = mergeAs4Path(asPath, as4Path)
  const flat = flatten(segments)
  const attributes: PathAttributes = { asPathSegments: segments, asPath: flat, communities, largeCommunities }
  const last = segments[segments.length - 1]
  if (last?.type === AS_SEQUENCE && last.asns.length > 0) attributes.originAs = last.asns[last.asns.length - 1]!
  if (origin !== undefined) attributes.origin = origin
  if (nextHop !== undefined) attributes.nextHop = nextHop
  if (med !== undefined) attributes.med = med
  if (localPref !== undefined) attributes.localPref = localPref
  if (atomicAggregate) attributes.atomicAggregate = true
  if (aggregator) attributes.aggregator = aggregator
  const decoded: DecodedAttributes = { attributes, present }
  if (mpReach) decoded.mpReach = mpReach
  if (mpUnreach) decoded.mpUnreach = mpUnreach
  return decoded
}

/**
 * AS_PATH segments (RFC 4271 §4.3): type, count, then count AS numbers of `width` bytes.
 * Lenient: if the field does not decode at the announced width it is tried at the other width
 * (MRT BGP4MP_MESSAGE_AS4 records of sessions that were in fact 2-byte, and vice versa).
 */
function decodeAsPath(buf: Uint8Array, start: number, end: number, as4: boolean, lenient: boolean, header: number): AsPathSegment[] {
  const first = readSegments(buf, start, end, as4 ? 4 : 2, lenient)
  if (typeof first !== 'string') return first
  if (lenient) {
    const other = readSegments(buf, start, end, as4 ? 2 : 4, lenient)
    if (typeof other !== 'string') return other
  }
  throw new BgpUpdateError(MALFORMED_AS_PATH, `malformed AS path: ${first}`, buf.slice(header, end))
}

function readSegments(buf: Uint8Array, start: number, end: number, width: 2 | 4, lenient: boolean): AsPathSegment[] | string {
  const segments: AsPathSegment[] = []
  let offset = start
  while (offset < end) {
    if (offset + 2 > end) return 'a segment header is cut short'
    const type = buf[offset]!
    const count = buf[offset + 1]!
    if (type < AS_SET || type > AS_CONFED_SET) return `unknown segment type ${type}`
    // RFC 7606 §7.2: a segment of zero ASes is malformed.
    if (count === 0 && !lenient) return 'a segment holds no AS'
    offset += 2
    if (offset + count * width > end) return `a segment of ${count} ASes runs past the end of the attribute`
    const asns: number[] = []
    for (let i = 0; i < count; i++, offset += width) asns.push(width === 4 ? readU32(buf, offset) : readU16(buf, offset))
    segments.push({ type, asns })
  }
  return segments
}

/** RFC 6793 §4.2.3: path length counts an AS_SET as one AS and confederation segments as none. */
function pathLength(segments: readonly AsPathSegment[]): number {
  let n = 0
  for (const s of segments) n += s.type === AS_SEQUENCE ? s.asns.length : s.type === AS_SET ? 1 : 0
  return n
}

function mergeAs4Path(asPath: readonly AsPathSegment[], as4Path: readonly AsPathSegment[]): AsPathSegment[] {
  // Confederation segments must not be in AS4_PATH (§3); any that are, are left out.
  const tail = as4Path.filter((s) => s.type === AS_SEQUENCE || s.type === AS_SET)
  let keep = pathLength(asPath) - pathLength(tail)
  if (keep < 0) return [...asPath] // §4.2.3: a longer AS4_PATH is ignored
  const merged: AsPathSegment[] = []
  for (const segment of asPath) {
    if (keep === 0) break
    if (segment.type === AS_SEQUENCE) {
      const take = Math.min(keep, segment.asns.length)
      merged.push({ type: AS_SEQUENCE, asns: segment.asns.slice(0, take) })
      keep -= take
    } else {
      merged.push(segment)
      if (segment.type === AS_SET) keep -= 1
    }
  }
  return [...merged, ...tail]
}

function flatten(segments: readonly AsPathSegment[]): number[] {
  const out: number[] = []
  for (const s of segments) if (s.type === AS_SEQUENCE || s.type === AS_SET) out.push(...s.asns)
  return out
}

/** RFC 4760 §3: AFI, SAFI, next hop length and next hop, a reserved byte, then NLRI. */
function decodeMpReach(value: Uint8Array, whole: Uint8Array): MpReach {
  if (value.length < 5) throw new BgpUpdateError(OPTIONAL_ATTRIBUTE_ERROR, 'MP_REACH_NLRI is too short', whole)
  const afi = readU16(value, 0)
  const safi = value[2]!
  const hopLength = value[3]!
  if (4 + hopLength + 1 > value.length) throw new BgpUpdateError(OPTIONAL_ATTRIBUTE_ERROR, `MP_REACH_NLRI next hop of ${hopLength} bytes runs past its end`, whole)
  const reach: MpReach = { afi, safi, nlri: value.subarray(4 + hopLength + 1) }
  const family = familyOfAfi(afi)
  if (family) reach.family = family
  setNextHop(reach, value.subarray(4, 4 + hopLength))
  return reach
}

/** RFC 6396 §4.3.4: next hop length and next hop only; else the full RFC 4760 form (Quagga, OpenBGPD). */
function decodeRibMpReach(value: Uint8Array, whole: Uint8Array): MpReach {
  if (value.length >= 1 && value[0]! + 1 === value.length) {
    const reach: MpReach = { afi: 0, safi: 0, nlri: new Uint8Array(0) }
    setNextHop(reach, value.subarray(1))
    return reach
  }
  return decodeMpReach(value, whole)
}

// 4 bytes: IPv4; 16: IPv6; 32: IPv6 global + link-local (RFC 2545 §3). Other sizes (route
// distinguisher + address of VPN families) carry no next hop an ALTO map can use.
function setNextHop(reach: MpReach, hop: Uint8Array): void {
  if (hop.length === 4) reach.nextHop = readAddress(hop, 0, 'ipv4')
  else if (hop.length === 16 || hop.length === 32) {
    reach.nextHop = readAddress(hop, 0, 'ipv6')
    if (hop.length === 32) reach.linkLocalNextHop = readAddress(hop, 16, 'ipv6')
  }
}
