/**
 * @module provisioning/mrt/records
 * The bodies of the MRT records that carry routes (RFC 6396 §4): TABLE_DUMP (§4.2), TABLE_DUMP_V2
 * (§4.3, with the RFC 8050 ADD-PATH subtypes) and BGP4MP / BGP4MP_ET (§4.4, §3). Each record
 * decodes to zero or more entries; a RIB entry that does not decode is reported as a problem and
 * skipped, without losing the record's other entries. Framing, decompression and counting are the
 * reader's (reader.ts).
 */
import type { AddressType } from '../../protocol/types.ts'
import type { Route } from '../route.ts'
import { announcedRoute, decodeAttributes, decodeUpdate, type PathAttributes } from './bgp-update.ts'
import { familyOfAfi, readAddress, readPrefix, readU16, readU32, type Nlri } from './nlri.ts'

/** MRT types (RFC 6396 §4). */
export const MrtType = { TABLE_DUMP: 12, TABLE_DUMP_V2: 13, BGP4MP: 16, BGP4MP_ET: 17 } as const

/** TABLE_DUMP_V2 subtypes (RFC 6396 §4.3, RFC 8050 §4). */
export const TableDumpV2 = {
  PEER_INDEX_TABLE: 1,
  RIB_IPV4_UNICAST: 2,
  RIB_IPV4_MULTICAST: 3,
  RIB_IPV6_UNICAST: 4,
  RIB_IPV6_MULTICAST: 5,
  RIB_GENERIC: 6,
  RIB_IPV4_UNICAST_ADDPATH: 8,
  RIB_IPV4_MULTICAST_ADDPATH: 9,
  RIB_IPV6_UNICAST_ADDPATH: 10,
  RIB_IPV6_MULTICAST_ADDPATH: 11,
  RIB_GENERIC_ADDPATH: 12,
} as const

/** BGP4MP subtypes (RFC 6396 §4.4, RFC 8050 §3). */
export const Bgp4mp = {
  STATE_CHANGE: 0,
  MESSAGE: 1,
  ENTRY: 2,
  SNAPSHOT: 3,
  MESSAGE_AS4: 4,
  STATE_CHANGE_AS4: 5,
  MESSAGE_LOCAL: 6,
  MESSAGE_AS4_LOCAL: 7,
  MESSAGE_ADDPATH: 8,
  MESSAGE_AS4_ADDPATH: 9,
  MESSAGE_LOCAL_ADDPATH: 10,
  MESSAGE_AS4_LOCAL_ADDPATH: 11,
} as const

/** One route read from an MRT record. */
export interface MrtEntry {
  /** `rib`: a RIB snapshot entry; `announce` / `withdraw`: from a BGP UPDATE message. */
  kind: 'rib' | 'announce' | 'withdraw'
  /** The route; `route.peer` is the peer's address. Withdrawals carry the prefix only. */
  route: Route
  /** Seconds since the epoch from the MRT header; BGP4MP_ET adds the microseconds as a fraction. */
  timestamp: number
  peerAs?: number
  peerAddress?: string
  /** RIB entries: when the route was received (TABLE_DUMP originated time). */
  originatedTime?: number
  /** All decoded attributes (MED, LOCAL_PREF, AS path segments…); absent for withdrawals. */
  attributes?: PathAttributes
  /** The record the entry came from: type, subtype, and offset in the (decompressed) stream. */
  record: MrtRecordInfo
}

export interface MrtRecordInfo {
  type: number
  subtype: number
  offset: number
}

/** A framed record: header fields and body (RFC 6396 §2; `_ET` microseconds already split off). */
export interface MrtRecord extends MrtRecordInfo {
  timestamp: number
  body: Uint8Array
}

/** A peer of the TABLE_DUMP_V2 PEER_INDEX_TABLE (RFC 6396 §4.3.1). */
export interface MrtPeer {
  bgpId: string
  address: string
  asn: number
}

/** What the decoders remember between records: the last PEER_INDEX_TABLE. */
export interface DecodeState {
  peers?: MrtPeer[]
}

export interface RecordResult {
  /** `routes`: decoded (entries may be empty); `ignored`: carries no routes (state changes, OPEN,
   * KEEPALIVE, the peer table, messages the collector sent); `unsupported`: a family or subtype
   * this reader does not decode (multicast, VPN, BGP4MP_SNAPSHOT, OSPF, IS-IS). */
  status: 'routes' | 'ignored' | 'unsupported'
  entries: MrtEntry[]
  /** RIB entries skipped because they did not decode: one message each. */
  problems: string[]
}

/** A record body that does not decode. The reader counts the record as corrupt. */
export class MrtRecordError extends Error {
  override name = 'MrtRecordError'
}

/** Bounds-checked reads over a record body. */
class Cursor {
  readonly buf: Uint8Array
  offset: number
  readonly end: number
  constructor(buf: Uint8Array, offset = 0, end = buf.length) {
    this.buf = buf
    this.offset = offset
    this.end = end
  }
  need(n: number, what: string): void {
    if (this.offset + n > this.end) throw new MrtRecordError(`${what} runs past the end of the record`)
  }
  u8(what: string): number {
    this.need(1, what)
    return this.buf[this.offset++]!
  }
  u16(what: string): number {
    this.need(2, what)
    const v = readU16(this.buf, this.offset)
    this.offset += 2
    return v
  }
  u32(what: string): number {
    this.need(4, what)
    const v = readU32(this.buf, this.offset)
    this.offset += 4
    return v
  }
  address(family: AddressType, what: string): string {
    const size = family === 'ipv4' ? 4 : 16
    this.need(size, what)
    const text = readAddress(this.buf, this.offset, family)
    this.offset += size
    return text
  }
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what)
    const v = this.buf.subarray(this.offset, this.offset + n)
    this.offset += n
    return v
  }
  prefix(family: AddressType, what: string): Nlri {
    try {
      const { nlri, next } = readPrefix(this.buf, this.offset, this.end, family)
      this.offset = next
      return nlri
    } catch (error) {
      throw new MrtRecordError(`${what}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
}

const routes = (entries: MrtEntry[], problems: string[] = []): RecordResult => ({ status: 'routes', entries, problems })
const IGNORED: RecordResult = Object.freeze({ status: 'ignored', entries: [], problems: [] }) as RecordResult
const UNSUPPORTED: RecordResult = Object.freeze({ status: 'unsupported', entries: [], problems: [] }) as RecordResult

/**
 * Decode one record. Types other than TABLE_DUMP, TABLE_DUMP_V2, BGP4MP and BGP4MP_ET are
 * `unsupported`.
 * @throws MrtRecordError when the record (not just one of its RIB entries) does not decode
 */
export function decodeRecord(record: MrtRecord, state: DecodeState): RecordResult {
  switch (record.type) {
    case MrtType.TABLE_DUMP:
      return tableDump(record)
    case MrtType.TABLE_DUMP_V2:
      return tableDumpV2(record, state)
    case MrtType.BGP4MP:
    case MrtType.BGP4MP_ET:
      return bgp4mp(record)
    default:
      return UNSUPPORTED
  }
}

const info = (r: MrtRecord): MrtRecordInfo => ({ type: r.type, subtype: r.subtype, offset: r.offset })

/** RFC 6396 §4.2: one route per record, 2-byte AS numbers, peer of the prefix's family. */
function tableDump(record: MrtRecord): RecordResult {
  const family = record.subtype === 1 ? 'ipv4' : record.subtype === 2 ? 'ipv6' : undefined
  if (!family) return UNSUPPORTED
  const c = new Cursor(record.body)
  c.u16('view number')
  c.u16('sequence number')
  const size = family === 'ipv4' ? 4 : 16
  const address = c.bytes(size, 'prefix')
  const length = c.u8('prefix length')
  if (length > size * 8) throw new MrtRecordError(`prefix length ${length} is longer than ${size * 8} bits`)
  // The prefix field is a whole address: reuse the NLRI reader on its significant bytes.
  const nlriBytes = new Uint8Array(1 + size)
  nlriBytes[0] = length
  nlriBytes.set(address, 1)
  const nlri = readPrefix(nlriBytes, 0, nlriBytes.length, family).nlri
  c.u8('status')
  const originatedTime = c.u32('originated time')
  // An IPv4 peer of an IPv6 route is written into the 16-byte field as 4 bytes and 12 zeros
  // (OpenBGPD); no real IPv6 peer address looks like that, so it is read as IPv4.
  const peerField = c.bytes(size, 'peer address')
  const peerAddress = family === 'ipv6' && peerField.subarray(4).every((b) => b === 0) ? readAddress(peerField, 0, 'ipv4') : readAddress(peerField, 0, family)
  const peerAs = c.u16('peer AS')
  const attributeLength = c.u16('attribute length')
  const attributes = c.bytes(attributeLength, 'attributes')
  const entry = ribEntry(record, nlri, attributes, false, { address: peerAddress, asn: peerAs, bgpId: '' }, originatedTime)
  return routes([entry])
}

function tableDumpV2(record: MrtRecord, state: DecodeState): RecordResult {
  const T = TableDumpV2
  switch (record.subtype) {
    case T.PEER_INDEX_TABLE:
      state.peers = peerIndexTable(record.body)
      return IGNORED
    case T.RIB_IPV4_UNICAST:
    case T.RIB_IPV4_UNICAST_ADDPATH:
      return rib(record, state, 'ipv4', record.subtype === T.RIB_IPV4_UNICAST_ADDPATH, false)
    case T.RIB_IPV6_UNICAST:
    case T.RIB_IPV6_UNICAST_ADDPATH:
      return rib(record, state, 'ipv6', record.subtype === T.RIB_IPV6_UNICAST_ADDPATH, false)
    case T.RIB_GENERIC:
    case T.RIB_GENERIC_ADDPATH:
      return rib(record, state, undefined, record.subtype === T.RIB_GENERIC_ADDPATH, true)
    default:
      return UNSUPPORTED // multicast RIBs, RFC 6397 GEO_PEER_TABLE
  }
}

/** RFC 6396 §4.3.1: collector BGP ID, view name, then peers (type bit 0: IPv6, bit 1: 4-byte AS). */
function peerIndexTable(body: Uint8Array): MrtPeer[] {
  const c = new Cursor(body)
  c.u32('collector BGP ID')
  c.bytes(c.u16('view name length'), 'view name')
  const count = c.u16('peer count')
  const peers: MrtPeer[] = []
  for (let i = 0; i < count; i++) {
    const type = c.u8(`peer ${i} type`)
    const bgpId = c.address('ipv4', `peer ${i} BGP ID`)
    const address = c.address(type & 1 ? 'ipv6' : 'ipv4', `peer ${i} address`)
    const asn = type & 2 ? c.u32(`peer ${i} AS`) : c.u16(`peer ${i} AS`)
    peers.push({ bgpId, address, asn })
  }
  return peers
}

/**
 * RFC 6396 §4.3.2-3: sequence number, prefix (RIB_GENERIC: AFI, SAFI and one NLRI), then entries
 * of peer index, originated time, [RFC 8050 path identifier], attributes.
 */
function rib(record: MrtRecord, state: DecodeState, fixed: AddressType | undefined, addPath: boolean, generic: boolean): RecordResult {
  const c = new Cursor(record.body)
  c.u32('sequence number')
  let family = fixed
  if (generic) {
    const afi = c.u16('AFI')
    const safi = c.u8('SAFI')
    family = familyOfAfi(afi)
    if (!family || safi !== 1) return UNSUPPORTED
  }
  const nlri = c.prefix(family!, 'prefix')
  const count = c.u16('entry count')
  const entries: MrtEntry[] = []
  const problems: string[] = []
  for (let i = 0; i < count; i++) {
    let peerIndex: number, originatedTime: number, pathId: number | undefined, attributes: Uint8Array
    try {
      peerIndex = c.u16(`entry ${i} peer index`)
      originatedTime = c.u32(`entry ${i} originated time`)
      pathId = addPath ? c.u32(`entry ${i} path identifier`) : undefined
      attributes = c.bytes(c.u16(`entry ${i} attribute length`), `entry ${i} attributes`)
    } catch (error) {
      // The entries after this one cannot be found: keep those before it.
      if (entries.length === 0 && problems.length === 0) throw error
      problems.push(`${nlri.prefix} entry ${i} of ${count}: ${error instanceof Error ? error.message : String(error)}`)
      break
    }
    const peer = state.peers?.[peerIndex]
    try {
      if (!peer) throw new MrtRecordError(state.peers ? `peer index ${peerIndex} is not in the PEER_INDEX_TABLE` : 'no PEER_INDEX_TABLE before this RIB record')
      const entryNlri = pathId === undefined ? nlri : { ...nlri, pathId }
      // §4.3.4: AS_PATH in TABLE_DUMP_V2 always has 4-byte AS numbers.
      entries.push(ribEntry(record, entryNlri, attributes, true, peer, originatedTime))
    } catch (error) {
      problems.push(`${nlri.prefix} entry ${i}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  return routes(entries, problems)
}

function ribEntry(record: MrtRecord, nlri: Nlri, raw: Uint8Array, as4: boolean, peer: MrtPeer, originatedTime: number): MrtEntry {
  const { attributes, mpReach } = decodeAttributes(raw, { as4, lenient: true, rib: true })
  // IPv6 routes take the MP_REACH_NLRI next hop; IPv4 ones NEXT_HOP, or MP_REACH (RFC 8950).
  const nextHop = nlri.family === 'ipv6' ? mpReach?.nextHop : (attributes.nextHop ?? mpReach?.nextHop)
  const route = announcedRoute(nlri, attributes, nextHop)
  route.peer = peer.address
  return { kind: 'rib', route, timestamp: record.timestamp, peerAs: peer.asn, peerAddress: peer.address, originatedTime, attributes, record: info(record) }
}

/** RFC 6396 §4.4: BGP4MP and BGP4MP_ET. */
function bgp4mp(record: MrtRecord): RecordResult {
  const B = Bgp4mp
  switch (record.subtype) {
    case B.MESSAGE:
    case B.MESSAGE_AS4:
    case B.MESSAGE_ADDPATH:
    case B.MESSAGE_AS4_ADDPATH:
      return message(record, record.subtype === B.MESSAGE_AS4 || record.subtype === B.MESSAGE_AS4_ADDPATH, record.subtype >= B.MESSAGE_ADDPATH)
    case B.ENTRY:
      return bgp4mpEntry(record)
    case B.SNAPSHOT:
      return UNSUPPORTED
    default:
      // State changes, and the _LOCAL messages: what the collector itself sent, not routes it learnt.
      return IGNORED
  }
}

/** Peer AS, local AS, interface index, AFI, peer and local address (§4.4.2, §4.4.3). */
function messageHeader(c: Cursor, as4: boolean): { peerAs: number; peerAddress: string } {
  const peerAs = as4 ? c.u32('peer AS') : c.u16('peer AS')
  if (as4) c.u32('local AS')
  else c.u16('local AS')
  c.u16('interface index')
  const afi = c.u16('address family')
  const family = familyOfAfi(afi)
  if (!family) throw new MrtRecordError(`unknown address family ${afi}`)
  const peerAddress = c.address(family, 'peer address')
  c.address(family, 'local address')
  return { peerAs, peerAddress }
}

const BGP_HEADER = 19
const UPDATE = 2

function message(record: MrtRecord, as4: boolean, addPath: boolean): RecordResult {
  const c = new Cursor(record.body)
  const { peerAs, peerAddress } = messageHeader(c, as4)
  c.need(BGP_HEADER, 'BGP message header')
  const length = readU16(c.buf, c.offset + 16)
  const type = c.buf[c.offset + 18]!
  if (length < BGP_HEADER) throw new MrtRecordError(`BGP message length ${length} is shorter than its header`)
  if (c.offset + length > c.end) throw new MrtRecordError(`BGP message of ${length} bytes runs past the end of the record`)
  if (type !== UPDATE) return IGNORED // OPEN, NOTIFICATION, KEEPALIVE, ROUTE-REFRESH
  const body = c.buf.subarray(c.offset + BGP_HEADER, c.offset + length)
  let update
  try {
    // Without the RFC 8050 subtypes ADD-PATH may still be in use (BIRD 1.6): guess it.
    update = decodeUpdate(body, { as4, addPath: addPath ? { ipv4: true, ipv6: true } : 'guess', lenient: true })
  } catch (error) {
    throw new MrtRecordError(`UPDATE: ${error instanceof Error ? error.message : String(error)}`)
  }
  const at = info(record)
  const entries: MrtEntry[] = []
  for (const route of update.withdrawn) {
    route.peer = peerAddress
    entries.push({ kind: 'withdraw', route, timestamp: record.timestamp, peerAs, peerAddress, record: at })
  }
  for (const route of update.announced) {
    route.peer = peerAddress
    entries.push({ kind: 'announce', route, timestamp: record.timestamp, peerAs, peerAddress, attributes: update.attributes, record: at })
  }
  return routes(entries)
}

/**
 * BGP4MP_ENTRY, deprecated by RFC 6396 but written by OpenBGPD's `dump table-mp`: a header of
 * source AS, destination AS, interface, AFI, source and destination address, then view, status,
 * time of last change, AFI, SAFI, next hop, one prefix and its attributes (2-byte AS numbers), as
 * in draft-ietf-grow-mrt before it was deprecated. OpenBGPD, the only writer known, puts itself
 * as the source and the peer the route came from as the destination (its TABLE_DUMP of the same
 * RIB names that peer), so the destination is taken as the peer.
 */
function bgp4mpEntry(record: MrtRecord): RecordResult {
  const c = new Cursor(record.body)
  c.u16('source AS')
  const peerAs = c.u16('destination AS')
  c.u16('interface index')
  const afi = c.u16('address family')
  const headerFamily = familyOfAfi(afi)
  if (!headerFamily) throw new MrtRecordError(`unknown address family ${afi}`)
  c.address(headerFamily, 'source address')
  const peerAddress = c.address(headerFamily, 'destination address')
  c.u16('view')
  c.u16('status')
  const originatedTime = c.u32('time of last change')
  const family = familyOfAfi(c.u16('AFI'))
  const safi = c.u8('SAFI')
  const hopLength = c.u8('next hop length')
  const hop = c.bytes(hopLength, 'next hop')
  if (!family || safi !== 1) return UNSUPPORTED
  const nlri = c.prefix(family, 'prefix')
  const raw = c.bytes(c.u16('attribute length'), 'attributes')
  const { attributes } = decodeAttributes(raw, { as4: false, lenient: true, rib: true })
  const nextHop = hopLength === 4 ? readAddress(hop, 0, 'ipv4') : hopLength === 16 || hopLength === 32 ? readAddress(hop, 0, 'ipv6') : attributes.nextHop
  const route = announcedRoute(nlri, attributes, nextHop)
  route.peer = peerAddress
  return routes([{ kind: 'rib', route, timestamp: record.timestamp, peerAs, peerAddress, originatedTime, attributes, record: info(record) }])
}

