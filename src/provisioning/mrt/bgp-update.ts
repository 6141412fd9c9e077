/**
 * @module provisioning/mrt/bgp-update
 * The BGP-4 UPDATE message (RFC 4271 §4.3) decoded into {@link Route}s: withdrawn routes,
 * announced routes with their path attributes, IPv4 NLRI and the IPv6 (or other unicast) NLRI of
 * MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760), with RFC 7911 ADD-PATH path identifiers. Used by the
 * MRT reader for BGP4MP records and meant for a live BGP speaker: strict by default, throwing a
 * {@link BgpUpdateError} that carries the NOTIFICATION subcode (RFC 4271 §6.3).
 *
 * Only unicast routes (SAFI 1) become Routes: multicast, VPN and other families are reported in
 * `skippedFamilies` and otherwise ignored.
 */
import type { AddressType } from '../../protocol/types.ts'
import type { Route } from '../route.ts'
import {
  AttributeType,
  BgpUpdateError,
  decodeAttributes,
  UpdateErrorSubcode,
  type DecodedAttributes,
  type PathAttributes,
} from './bgp-attributes.ts'
import { NlriError, readPrefixes, readPrefixesGuessingAddPath, readU16, type Nlri } from './nlri.ts'

export {
  AS_CONFED_SEQUENCE,
  AS_CONFED_SET,
  AS_SEQUENCE,
  AS_SET,
  AS_TRANS,
  AttributeType,
  BgpUpdateError,
  decodeAttributes,
  isBgpUpdateError,
  UPDATE_MESSAGE_ERROR,
  UpdateErrorSubcode,
  type AsPathSegment,
  type AttributeOptions,
  type DecodedAttributes,
  type MpReach,
  type MpUnreach,
  type PathAttributes,
} from './bgp-attributes.ts'

export interface DecodeUpdateOptions {
  /** Both speakers sent the 4-octet AS capability (RFC 6793): AS_PATH and AGGREGATOR use 4-byte ASNs. */
  as4: boolean
  /**
   * The families in which this side receives path identifiers, as negotiated with the ADD-PATH
   * capability (RFC 7911 §4). `'guess'` (MRT records without the RFC 8050 subtypes) reads each
   * prefix field with and without them and keeps the reading that decodes.
   * @default { ipv4: false, ipv6: false }
   */
  addPath?: { ipv4: boolean; ipv6: boolean } | 'guess'
  /**
   * Accept what archives hold rather than what a peer may send; see `AttributeOptions.lenient`.
   * Also: announcements need not carry ORIGIN, AS_PATH and NEXT_HOP.
   * @default false
   */
  lenient?: boolean
}

export interface DecodedUpdate {
  /** Withdrawn routes: prefix (and path identifier) only; empty AS path and communities. */
  withdrawn: Route[]
  /** Announced routes, each with the message's attributes and its family's next hop. */
  announced: Route[]
  attributes: PathAttributes
  /** RFC 4724 §2 End-of-RIB marker, when the message is one. */
  endOfRib?: { afi: number; safi: number }
  /** MP_REACH/MP_UNREACH families that are not IPv4 or IPv6 unicast, whose routes were skipped. */
  skippedFamilies: { afi: number; safi: number }[]
}

const UNICAST = 1
const NO_ADD_PATH = { ipv4: false, ipv6: false }
const { MALFORMED_ATTRIBUTE_LIST, MISSING_WELL_KNOWN_ATTRIBUTE, INVALID_NETWORK_FIELD } = UpdateErrorSubcode

/**
 * Decode an UPDATE message body: the bytes after the 19-byte message header (marker, length, type).
 * @throws BgpUpdateError carrying the RFC 4271 §6.3 subcode and data for the NOTIFICATION
 */
export function decodeUpdate(body: Uint8Array, options: DecodeUpdateOptions): DecodedUpdate {
  const lenient = options.lenient === true
  const addPath = options.addPath ?? NO_ADD_PATH
  if (body.length < 4) throw new BgpUpdateError(MALFORMED_ATTRIBUTE_LIST, `an UPDATE body of ${body.length} bytes is shorter than its two length fields`)
  const withdrawnLength = readU16(body, 0)
  // §6.3: lengths that do not fit the message make the attribute list malformed.
  if (2 + withdrawnLength + 2 > body.length) throw new BgpUpdateError(MALFORMED_ATTRIBUTE_LIST, `the withdrawn routes length ${withdrawnLength} runs past the end of the message`)
  const attributesStart = 2 + withdrawnLength + 2
  const attributesLength = readU16(body, 2 + withdrawnLength)
  const nlriStart = attributesStart + attributesLength
  if (nlriStart > body.length) throw new BgpUpdateError(MALFORMED_ATTRIBUTE_LIST, `the path attributes length ${attributesLength} runs past the end of the message`)

  const decoded = decodeAttributes(body.subarray(attributesStart, nlriStart), { as4: options.as4, lenient })
  const { attributes, mpReach, mpUnreach } = decoded
  const withdrawn = prefixes(body, 2, 2 + withdrawnLength, 'ipv4', addPath).map((n) => withdrawnRoute(n))
  const nlri = prefixes(body, nlriStart, body.length, 'ipv4', addPath)
  const announced = nlri.map((n) => announcedRoute(n, attributes, attributes.nextHop))
  const skippedFamilies: { afi: number; safi: number }[] = []

  if (mpUnreach) {
    if (mpUnreach.family && mpUnreach.safi === UNICAST) {
      for (const n of prefixes(mpUnreach.withdrawn, 0, mpUnreach.withdrawn.length, mpUnreach.family, addPath)) withdrawn.push(withdrawnRoute(n))
    } else {
      skippedFamilies.push({ afi: mpUnreach.afi, safi: mpUnreach.safi })
    }
  }
  let reached = 0
  if (mpReach) {
    if (mpReach.family && mpReach.safi === UNICAST) {
      const reachNlri = prefixes(mpReach.nlri, 0, mpReach.nlri.length, mpReach.family, addPath)
      reached = reachNlri.length
      for (const n of reachNlri) announced.push(announcedRoute(n, attributes, mpReach.nextHop))
    } else {
      skippedFamilies.push({ afi: mpReach.afi, safi: mpReach.safi })
    }
  }
  if (!lenient) requireWellKnown(decoded, nlri.length > 0, reached > 0)

  const result: DecodedUpdate = { withdrawn, announced, attributes, skippedFamilies }
  const eor = endOfRib(body.length, withdrawnLength, attributesLength, nlri.length, decoded)
  if (eor) result.endOfRib = eor
  return result
}

function prefixes(buf: Uint8Array, start: number, end: number, family: AddressType, addPath: NonNullable<DecodeUpdateOptions['addPath']>): Nlri[] {
  try {
    if (addPath === 'guess') return readPrefixesGuessingAddPath(buf, start, end, family)
    return readPrefixes(buf, start, end, family, addPath[family])
  } catch (error) {
    if (error instanceof NlriError) throw new BgpUpdateError(INVALID_NETWORK_FIELD, `invalid ${family} prefix field: ${error.message}`)
    throw error
  }
}

// RFC 4271 §6.3 and RFC 4760 §3: an announcement carries ORIGIN and AS_PATH, and NEXT_HOP when it
// has IPv4 NLRI outside MP_REACH_NLRI. The data of the NOTIFICATION is the missing type code.
function requireWellKnown(decoded: DecodedAttributes, ipv4Nlri: boolean, mpNlri: boolean): void {
  if (!ipv4Nlri && !mpNlri) return
  const needed: number[] = [AttributeType.ORIGIN, AttributeType.AS_PATH]
  if (ipv4Nlri) needed.push(AttributeType.NEXT_HOP)
  for (const type of needed) {
    if (!decoded.present.includes(type)) throw new BgpUpdateError(MISSING_WELL_KNOWN_ATTRIBUTE, `an announcement without the well-known attribute ${type}`, Uint8Array.of(type))
  }
}

// RFC 4724 §2: an UPDATE with nothing in it ends the IPv4 unicast RIB; one whose only attribute is
// an empty MP_UNREACH_NLRI ends that family's.
function endOfRib(bodyLength: number, withdrawnLength: number, attributesLength: number, nlriCount: number, decoded: DecodedAttributes): { afi: number; safi: number } | undefined {
  if (bodyLength === 4 && withdrawnLength === 0 && attributesLength === 0) return { afi: 1, safi: UNICAST }
  const unreach = decoded.mpUnreach
  if (withdrawnLength === 0 && nlriCount === 0 && unreach && unreach.withdrawn.length === 0 && decoded.present.length === 1) return { afi: unreach.afi, safi: unreach.safi }
  return undefined
}

const NOTHING: readonly string[] = Object.freeze([])
const NO_PATH: readonly number[] = Object.freeze([])

/** A Route for a prefix that is withdrawn: no attributes. */
export function withdrawnRoute(n: Nlri): Route {
  const route: Route = { family: n.family, bytes: n.bytes, length: n.length, prefix: n.prefix, asPath: NO_PATH, communities: NOTHING, largeCommunities: NOTHING }
  if (n.pathId !== undefined) route.pathId = n.pathId
  return route
}

/** A Route for an announced prefix: the attributes the rules match on, and the family's next hop. */
export function announcedRoute(n: Nlri, attributes: PathAttributes, nextHop: string | undefined): Route {
  const route: Route = {
    family: n.family,
    bytes: n.bytes,
    length: n.length,
    prefix: n.prefix,
    asPath: attributes.asPath,
    communities: attributes.communities,
    largeCommunities: attributes.largeCommunities,
  }
  if (attributes.origin !== undefined) route.origin = attributes.origin
  if (attributes.originAs !== undefined) route.originAs = attributes.originAs
  if (nextHop !== undefined) route.nextHop = nextHop
  if (n.pathId !== undefined) route.pathId = n.pathId
  return route
}
