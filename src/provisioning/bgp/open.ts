/**
 * @module provisioning/bgp/open
 * The OPEN exchange: what we offer (4-octet AS, RFC 6793; multiprotocol IPv4 and IPv6 unicast,
 * RFC 4760; route refresh, RFC 2918) and the checks and negotiation applied to the peer's OPEN
 * (RFC 4271 §6.2, RFC 5492 §5, RFC 6286 §2.2). Pure functions; errors are {@link BgpError}s with
 * the OPEN Message Error subcode to send.
 */
import type { AddressType } from '../../protocol/types.ts'
import { BgpError, ErrorCode, OpenSubcode } from './errors.ts'
import type { Capability, OpenMessage } from './message.ts'

export const CapabilityCode = { MULTIPROTOCOL: 1, ROUTE_REFRESH: 2, FOUR_OCTET_AS: 65, ROUTE_REFRESH_OLD: 128 } as const

/** RFC 6793 §9: the 2-octet stand-in for an AS number that needs 4 octets. */
export const AS_TRANS = 23456
export const BGP_VERSION = 4
export const AFI: Record<AddressType, number> = { ipv4: 1, ipv6: 2 }
export const SAFI_UNICAST = 1

/** Our side of the session. */
export interface LocalSettings {
  localAs: number
  /** Our BGP Identifier as an unsigned 32-bit number. */
  routerId: number
  holdTimeS: number
  /** Address families we offer (unicast). */
  families: readonly AddressType[]
}

/** What both sides agreed on. */
export interface Negotiated {
  peerAs: number
  /** The peer's BGP Identifier, dotted quad. */
  peerId: string
  /** Negotiated hold time in seconds; 0 means neither hold timer nor keepalives (RFC 4271 §4.2). */
  holdTimeS: number
  /** Both sides speak 4-octet AS numbers (RFC 6793): AS_PATH carries 4-byte ASNs. */
  as4: boolean
  /** Unicast families both sides offered. */
  families: AddressType[]
  /** The peer accepts ROUTE-REFRESH (RFC 2918). */
  routeRefresh: boolean
  /** The codes of every capability the peer advertised, for diagnostics. */
  peerCapabilities: number[]
}

export function multiprotocolCapability(family: AddressType): Capability {
  return { code: CapabilityCode.MULTIPROTOCOL, value: Uint8Array.of(0, AFI[family], 0, SAFI_UNICAST) }
}

/** The OPEN we send. */
export function buildOpen(local: LocalSettings): OpenMessage {
  const as4 = new Uint8Array(4)
  new DataView(as4.buffer).setUint32(0, local.localAs)
  return {
    version: BGP_VERSION,
    myAs: local.localAs > 0xffff ? AS_TRANS : local.localAs,
    holdTime: local.holdTimeS,
    bgpId: local.routerId,
    capabilities: [
      ...local.families.map(multiprotocolCapability),
      { code: CapabilityCode.ROUTE_REFRESH, value: new Uint8Array(0) },
      { code: CapabilityCode.FOUR_OCTET_AS, value: as4 },
    ],
  }
}

/**
 * Check the peer's OPEN against what we expect of this neighbor and negotiate. Capabilities we do
 * not know are ignored (RFC 5492 §5); a peer that shares no unicast family with us is refused with
 * Unsupported Capability, carrying the capabilities it lacks.
 */
export function negotiate(open: OpenMessage, local: LocalSettings, expectedPeerAs: number): Negotiated {
  if (open.version !== BGP_VERSION) {
    // §6.2: the data is the largest version we support below the one bid.
    throw new BgpError(ErrorCode.OPEN, OpenSubcode.UNSUPPORTED_VERSION, `version ${open.version}`, { data: Uint8Array.of(0, BGP_VERSION) })
  }
  let as4Value: number | undefined
  const theirFamilies = new Set<AddressType>()
  let multiprotocolSeen = false
  let routeRefresh = false
  for (const cap of open.capabilities) {
    if (cap.code === CapabilityCode.FOUR_OCTET_AS) {
      if (cap.value.length !== 4) throw new BgpError(ErrorCode.OPEN, OpenSubcode.UNSPECIFIC, `4-octet AS capability of ${cap.value.length} bytes`)
      as4Value = new DataView(cap.value.buffer, cap.value.byteOffset, 4).getUint32(0)
    } else if (cap.code === CapabilityCode.MULTIPROTOCOL) {
      if (cap.value.length !== 4) throw new BgpError(ErrorCode.OPEN, OpenSubcode.UNSPECIFIC, `multiprotocol capability of ${cap.value.length} bytes`)
      multiprotocolSeen = true
      const afi = (cap.value[0]! << 8) | cap.value[1]!
      if (cap.value[3] !== SAFI_UNICAST) continue
      if (afi === AFI.ipv4) theirFamilies.add('ipv4')
      if (afi === AFI.ipv6) theirFamilies.add('ipv6')
    } else if (cap.code === CapabilityCode.ROUTE_REFRESH || cap.code === CapabilityCode.ROUTE_REFRESH_OLD) {
      routeRefresh = true
    }
  }
  // RFC 4760 §8: a peer without multiprotocol capabilities speaks IPv4 unicast only.
  if (!multiprotocolSeen) theirFamilies.add('ipv4')

  // RFC 6793 §4.1: the capability carries the real AS; My AS then holds it or AS_TRANS.
  const peerAs = as4Value ?? open.myAs
  if (peerAs !== expectedPeerAs) {
    throw new BgpError(ErrorCode.OPEN, OpenSubcode.BAD_PEER_AS, `peer AS ${peerAs}, configured ${expectedPeerAs}`)
  }
  if (open.holdTime === 1 || open.holdTime === 2) {
    throw new BgpError(ErrorCode.OPEN, OpenSubcode.UNACCEPTABLE_HOLD_TIME, `hold time ${open.holdTime} s (must be 0 or at least 3)`)
  }
  // RFC 6286 §2.2: any non-zero identifier; within one AS it must differ from ours.
  if (open.bgpId === 0 || (peerAs === local.localAs && open.bgpId === local.routerId)) {
    throw new BgpError(ErrorCode.OPEN, OpenSubcode.BAD_BGP_ID, `BGP identifier ${formatId(open.bgpId)}`, { data: idBytes(open.bgpId) })
  }
  const families = local.families.filter((f) => theirFamilies.has(f))
  if (families.length === 0) {
    const lacking = local.families.map(multiprotocolCapability)
    const data = Buffer.concat(lacking.map((c) => Buffer.concat([Buffer.from([c.code, c.value.length]), c.value])))
    throw new BgpError(ErrorCode.OPEN, OpenSubcode.UNSUPPORTED_CAPABILITY, `no common address family (we offer ${local.families.join(', ')} unicast)`, { data })
  }
  return {
    peerAs,
    peerId: formatId(open.bgpId),
    holdTimeS: Math.min(local.holdTimeS, open.holdTime),
    as4: as4Value !== undefined,
    families,
    routeRefresh,
    peerCapabilities: [...new Set(open.capabilities.map((c) => c.code))],
  }
}

/** Dotted quad <-> unsigned 32-bit BGP Identifier. */
export function formatId(id: number): string {
  return [id >>> 24, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff].join('.')
}

export function parseId(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)
  if (!m) return undefined
  const parts = m.slice(1).map(Number)
  if (parts.some((p) => p > 255)) return undefined
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0
}

function idBytes(id: number): Uint8Array {
  return Uint8Array.of(id >>> 24, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff)
}
