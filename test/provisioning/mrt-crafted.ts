/**
 * One MRT stream with what the real dumps in test/fixtures/mrt/ lack: withdrawals (IPv4 and
 * MP_UNREACH), a 2-byte session with AS4_PATH, AS_SET and confederation segments, MED, well-known
 * and large communities, an IPv6 next hop with a link-local one, BGP4MP_ET, ADD-PATH withdrawals,
 * legacy TABLE_DUMP, a VPN family (skipped) and a state change (ignored). The oracle test feeds it
 * to bgpdump and mrtparse as well.
 */
import {
  asPath,
  attr,
  bgp4mpMessage,
  bgpMessage,
  bytes,
  communities,
  ipv4,
  ipv6,
  largeCommunities,
  localPref,
  med,
  mpReach,
  mpUnreach,
  nextHop,
  origin,
  peerIndexTable,
  prefix,
  record,
  ribBody,
  u16,
  u32,
  updateBody,
} from './mrt-build.ts'

const T = 1700000000
const UPDATE = 2
const SEQ = 2
const SET = 1
const CONFED_SEQ = 3

/**
 * @param options.extendedTimestamp include the BGP4MP_ET record (mrtparse 1.6 cannot read one:
 * it takes the microseconds from a buffer it has not filled, and stops with a TypeError)
 */
export function craftedStream(options: { extendedTimestamp?: boolean } = {}): Buffer {
  const withEt = options.extendedTimestamp ?? true
  const peer4 = { as4: true, peerAs: 64500, peer: '192.0.2.1', local: '192.0.2.254' }
  const peer6 = { as4: true, peerAs: 4200000001, peer: '2001:db8::1', local: '2001:db8::fe' }
  return bytes(
    record(T, 13, 1, peerIndexTable([{ address: '192.0.2.1', asn: 64500 }, { address: '2001:db8::1', asn: 4200000001 }])),
    record(
      T,
      13,
      2,
      ribBody(0, prefix('10.0.0.0/8'), [
        {
          peer: 0,
          attributes: [
            ...origin(0),
            ...asPath([[SEQ, [64500, 3356]], [SET, [64511, 64512]]]),
            ...nextHop('192.0.2.1'),
            ...med(5),
            ...localPref(200),
            ...communities(['65000:101', '65535:65281']),
            ...largeCommunities(['65000:1:101']),
          ],
        },
        { peer: 1, attributes: [...origin(1), ...asPath([[CONFED_SEQ, [65001]], [SEQ, [1299]]]), ...nextHop('192.0.2.9')] },
      ]),
    ),
    record(
      T,
      13,
      4,
      ribBody(1, prefix('2001:db8:100::/40'), [
        // RFC 6396 §4.3.4 abbreviated MP_REACH_NLRI: next hop length, global + link-local next hop.
        { peer: 1, attributes: [...origin(0), ...asPath([[SEQ, [4200000001, 65010]]]), ...attr(0x80, 14, [32, ...ipv6('2001:db8::1'), ...ipv6('fe80::1')])] },
      ]),
    ),
    // A 2-byte session: AS_TRANS in AS_PATH, the real AS in AS4_PATH (RFC 6793 §4.2.3).
    record(
      T + 1,
      16,
      1,
      bgp4mpMessage(
        { ...peer4, as4: false },
        bgpMessage(UPDATE, updateBody([], [...origin(0), ...asPath([[SEQ, [64500, 23456]]], 2), ...asPath([[SEQ, [4200000002]]], 4, 17), ...nextHop('192.0.2.1')], [...prefix('198.51.100.0/24'), ...prefix('203.0.113.0/25')])),
      ),
    ),
    record(T + 2, 16, 4, bgp4mpMessage(peer4, bgpMessage(UPDATE, updateBody(prefix('192.0.2.0/24'), [], [])))),
    record(T + 3, 16, 4, bgp4mpMessage(peer6, bgpMessage(UPDATE, updateBody([], mpUnreach(2, 1, prefix('2001:db8:1::/48')), [])))),
    // BGP4MP_ET: microseconds after the header.
    withEt ? record(
      T + 4,
      17,
      4,
      [
        ...u32(250000),
        ...bgp4mpMessage(
          peer6,
          bgpMessage(UPDATE, updateBody([], [...origin(2), ...asPath([[SEQ, [4200000001]]]), ...communities(['4200:1']), ...mpReach(2, 1, ipv6('2001:db8::1'), prefix('2001:db8:2::/48'))], [])),
        ),
      ],
    ) : [],
    // RFC 8050 BGP4MP_MESSAGE_AS4_ADDPATH: a withdrawal and an announcement with path identifiers.
    record(
      T + 5,
      16,
      9,
      bgp4mpMessage(peer4, bgpMessage(UPDATE, updateBody(prefix('100.64.0.0/10', 3), [...origin(0), ...asPath([[SEQ, [64500]]]), ...nextHop('192.0.2.1')], prefix('100.64.0.0/10', 7)))),
    ),
    // Legacy TABLE_DUMP, AFI_IPv4: view, sequence, prefix, length, status, time, peer, 2-byte AS.
    record(T + 6, 12, 1, tableDump([...origin(0), ...asPath([[SEQ, [64500, 65020]]], 2), ...nextHop('192.0.2.1'), ...communities(['64500:7'])])),
    // A VPNv4 (SAFI 128) announcement: not a unicast route, skipped by everyone.
    record(
      T + 7,
      16,
      4,
      bgp4mpMessage(peer4, bgpMessage(UPDATE, updateBody([], [...origin(0), ...asPath([[SEQ, [64500]]]), ...mpReach(1, 128, [...new Array<number>(8).fill(0), ...ipv4('192.0.2.1')], [112, 0, 0, 1, ...new Array<number>(8).fill(0), 10, 9, 0])], []))),
    ),
    // BGP4MP_STATE_CHANGE_AS4: Established -> Idle.
    record(T + 8, 16, 5, [...u32(64500), ...u32(64999), ...u16(0), ...u16(1), ...ipv4('192.0.2.1'), ...ipv4('192.0.2.254'), ...u16(6), ...u16(1)]),
  )
}

function tableDump(attributes: number[]): number[] {
  return [...u16(0), ...u16(7), ...ipv4('172.16.0.0'), 12, 1, ...u32(T), ...ipv4('192.0.2.1'), ...u16(64500), ...u16(attributes.length), ...attributes]
}
