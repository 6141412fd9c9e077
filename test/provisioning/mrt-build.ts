/**
 * Builders of MRT records and BGP UPDATE messages (RFC 6396, RFC 4271) for the MRT tests: the
 * cases real dumps do not have (withdrawals, AS4_PATH, AS_SET, confederations, extended
 * timestamps, corruption). The files built here also go through bgpdump and mrtparse, so the
 * oracles, not this encoder, say what the bytes mean.
 */

export const u8 = (v: number): number[] => [v & 0xff]
export const u16 = (v: number): number[] => [(v >>> 8) & 0xff, v & 0xff]
export const u32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]

export function ipv4(text: string): number[] {
  return text.split('.').map(Number)
}

export function ipv6(text: string): number[] {
  const [head = '', tail = ''] = text.split('::')
  const h = head ? head.split(':') : []
  const t = text.includes('::') ? (tail ? tail.split(':') : []) : []
  const groups = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t]
  return groups.flatMap((g) => u16(parseInt(g, 16)))
}

/** NLRI encoding of `a.b.c.d/len` or `x::/len`, optionally with an ADD-PATH path identifier. */
export function prefix(text: string, pathId?: number): number[] {
  const [address = '', lengthText = ''] = text.split('/')
  const length = Number(lengthText)
  const bytes = address.includes(':') ? ipv6(address) : ipv4(address)
  return [...(pathId === undefined ? [] : u32(pathId)), length, ...bytes.slice(0, (length + 7) >>> 3)]
}

/** A path attribute; the extended length flag is set when needed. */
export function attr(flags: number, type: number, value: number[]): number[] {
  if (value.length > 255 || flags & 0x10) return [flags | 0x10, type, ...u16(value.length), ...value]
  return [flags, type, value.length, ...value]
}

export const origin = (v: number): number[] => attr(0x40, 1, [v])
export const nextHop = (a: string): number[] => attr(0x40, 3, ipv4(a))
export const med = (v: number): number[] => attr(0x80, 4, u32(v))
export const localPref = (v: number): number[] => attr(0x40, 5, u32(v))

/** AS_PATH from segments `[type, [asns]]`, with 2- or 4-byte AS numbers. */
export function asPath(segments: [number, number[]][], width: 2 | 4 = 4, type = 2): number[] {
  const value = segments.flatMap(([t, asns]) => [t, asns.length, ...asns.flatMap((a) => (width === 4 ? u32(a) : u16(a)))])
  return attr(type === 2 ? 0x40 : 0xc0, type, value)
}

export function communities(list: string[]): number[] {
  return attr(0xc0, 8, list.flatMap((c) => c.split(':').map(Number).flatMap(u16)))
}

export function largeCommunities(list: string[]): number[] {
  return attr(0xc0, 32, list.flatMap((c) => c.split(':').map(Number).flatMap(u32)))
}

export function mpReach(afi: number, safi: number, hop: number[], nlri: number[]): number[] {
  return attr(0x80, 14, [...u16(afi), safi, hop.length, ...hop, 0, ...nlri])
}

export function mpUnreach(afi: number, safi: number, withdrawn: number[]): number[] {
  return attr(0x80, 15, [...u16(afi), safi, ...withdrawn])
}

/** An UPDATE body (after the 19-byte header). */
export function updateBody(withdrawn: number[], attributes: number[], nlri: number[]): number[] {
  return [...u16(withdrawn.length), ...withdrawn, ...u16(attributes.length), ...attributes, ...nlri]
}

/** A whole BGP message: marker, length, type. */
export function bgpMessage(type: number, body: number[]): number[] {
  return [...new Array<number>(16).fill(0xff), ...u16(19 + body.length), type, ...body]
}

/** An MRT record: timestamp, type, subtype, length, body. */
export function record(timestamp: number, type: number, subtype: number, body: number[]): number[] {
  return [...u32(timestamp), ...u16(type), ...u16(subtype), ...u32(body.length), ...body]
}

/** BGP4MP(_ET) MESSAGE(_AS4)(_ADDPATH) record body around a BGP message. */
export function bgp4mpMessage(options: { as4: boolean; peerAs: number; peer: string; local: string }, message: number[]): number[] {
  const v6 = options.peer.includes(':')
  const as = (v: number): number[] => (options.as4 ? u32(v) : u16(v))
  const address = (a: string): number[] => (v6 ? ipv6(a) : ipv4(a))
  return [...as(options.peerAs), ...as(64999), ...u16(0), ...u16(v6 ? 2 : 1), ...address(options.peer), ...address(options.local), ...message]
}

/** TABLE_DUMP_V2 PEER_INDEX_TABLE with 4-byte AS numbers. */
export function peerIndexTable(peers: { address: string; asn: number; bgpId?: string }[]): number[] {
  return [
    ...ipv4('192.0.2.254'),
    ...u16(4),
    ...Array.from('test', (c) => c.charCodeAt(0)),
    ...u16(peers.length),
    ...peers.flatMap((p) => {
      const v6 = p.address.includes(':')
      return [(v6 ? 1 : 0) | 2, ...ipv4(p.bgpId ?? '192.0.2.1'), ...(v6 ? ipv6(p.address) : ipv4(p.address)), ...u32(p.asn)]
    }),
  ]
}

/** A RIB_IPV4/IPV6_UNICAST record body: one prefix, entries of (peer index, attributes). */
export function ribBody(sequence: number, nlri: number[], entries: { peer: number; attributes: number[]; pathId?: number }[]): number[] {
  return [
    ...u32(sequence),
    ...nlri,
    ...u16(entries.length),
    ...entries.flatMap((e) => [...u16(e.peer), ...u32(1700000000), ...(e.pathId === undefined ? [] : u32(e.pathId)), ...u16(e.attributes.length), ...e.attributes]),
  ]
}

export const bytes = (...parts: number[][]): Buffer => Buffer.from(parts.flat())
