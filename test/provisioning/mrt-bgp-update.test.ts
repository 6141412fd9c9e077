/**
 * decodeUpdate: the BGP UPDATE decoder the MRT reader and the live BGP speaker share. Strict mode
 * is what a speaker needs (RFC 4271 §6.3 subcodes for the NOTIFICATION); lenient mode is what
 * archives need.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { BgpUpdateError, decodeUpdate, UpdateErrorSubcode as E, type DecodeUpdateOptions } from '../../src/provisioning/mrt/bgp-update.ts'
import {
  asPath,
  attr,
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
  prefix,
  u16,
  updateBody,
} from './mrt-build.ts'

const SEQ = 2
const SET = 1
const CONFED_SEQ = 3
const AS4: DecodeUpdateOptions = { as4: true }
const body = (...parts: number[][]): Buffer => Buffer.from(updateBody(parts[0] ?? [], parts[1] ?? [], parts[2] ?? []))

function updateError(fn: () => unknown): BgpUpdateError {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof BgpUpdateError, `expected BgpUpdateError, got ${String(error)}`)
    assert.equal(error.errorCode, 3)
    return error
  }
  assert.fail('expected a BgpUpdateError')
}

const basic = (): number[] => [...origin(0), ...asPath([[SEQ, [64500, 3356]]]), ...nextHop('192.0.2.1')]

test('an IPv4 announcement becomes one Route per prefix, with the attributes rules match on', () => {
  const attributes = [...basic(), ...med(10), ...localPref(150), ...communities(['65000:101', '65000:7']), ...largeCommunities(['65000:1:101'])]
  const update = decodeUpdate(body([], attributes, [...prefix('198.51.100.0/24'), ...prefix('203.0.113.128/25')]), AS4)
  assert.deepEqual(update.withdrawn, [])
  assert.deepEqual(
    update.announced.map((r) => ({ ...r, bytes: [...r.bytes] })),
    ['198.51.100.0/24', '203.0.113.128/25'].map((p) => ({
      family: 'ipv4',
      bytes: p.startsWith('198') ? [198, 51, 100, 0] : [203, 0, 113, 128],
      length: p.startsWith('198') ? 24 : 25,
      prefix: p,
      origin: 0,
      asPath: [64500, 3356],
      originAs: 3356,
      nextHop: '192.0.2.1',
      communities: ['65000:101', '65000:7'],
      largeCommunities: ['65000:1:101'],
    })),
  )
  assert.equal(update.attributes.med, 10)
  assert.equal(update.attributes.localPref, 150)
  assert.equal(update.endOfRib, undefined)
})

test('withdrawn routes carry the prefix only; trailing bits of a prefix are cleared (RFC 4271 §4.3)', () => {
  const update = decodeUpdate(body([...prefix('192.0.2.0/24'), 20, 10, 1, 0xff]), AS4)
  assert.deepEqual(
    update.withdrawn.map((r) => [r.prefix, r.asPath.length, r.communities.length]),
    [
      ['192.0.2.0/24', 0, 0],
      ['10.1.240.0/20', 0, 0],
    ],
  )
})

test('MP_REACH_NLRI and MP_UNREACH_NLRI carry IPv6 routes; the global next hop is kept (RFC 4760, RFC 2545)', () => {
  const hops = [...ipv6('2001:db8::1'), ...ipv6('fe80::1')]
  const update = decodeUpdate(body([], [...origin(0), ...asPath([[SEQ, [64500]]]), ...mpReach(2, 1, hops, prefix('2001:db8:100::/40')), ...mpUnreach(2, 1, prefix('2001:db8:200::/48'))]), AS4)
  assert.deepEqual(update.announced.map((r) => [r.family, r.prefix, r.nextHop]), [['ipv6', '2001:db8:100::/40', '2001:db8::1']])
  assert.deepEqual(update.withdrawn.map((r) => [r.family, r.prefix]), [['ipv6', '2001:db8:200::/48']])
})

test('families other than IPv4/IPv6 unicast are skipped and reported', () => {
  const vpn = mpReach(1, 128, [...new Array<number>(8).fill(0), ...ipv4('192.0.2.1')], [112, 0, 0, 1, ...new Array<number>(8).fill(0), 10, 9, 0])
  const update = decodeUpdate(body([], [...origin(0), ...asPath([[SEQ, [64500]]]), ...vpn]), AS4)
  assert.deepEqual(update.announced, [])
  assert.deepEqual(update.skippedFamilies, [{ afi: 1, safi: 128 }])
})

test('ADD-PATH path identifiers are read in the families where they were negotiated (RFC 7911)', () => {
  const attributes = [...basic(), ...mpReach(2, 1, ipv6('2001:db8::1'), prefix('2001:db8::/32'))]
  const update = decodeUpdate(body(prefix('192.0.2.0/24', 9), attributes, prefix('198.51.100.0/24', 7)), { as4: true, addPath: { ipv4: true, ipv6: false } })
  assert.deepEqual(update.withdrawn.map((r) => [r.prefix, r.pathId]), [['192.0.2.0/24', 9]])
  assert.deepEqual(update.announced.map((r) => [r.prefix, r.pathId]), [['198.51.100.0/24', 7], ['2001:db8::/32', undefined]])
})

test('addPath "guess" finds path identifiers a plain reading cannot decode, and leaves plain fields alone', () => {
  const withIds = decodeUpdate(body([], basic(), [...prefix('172.17.0.0/24', 1), ...prefix('172.17.1.0/24', 1)]), { as4: true, addPath: 'guess', lenient: true })
  assert.deepEqual(withIds.announced.map((r) => `${r.prefix}#${r.pathId}`), ['172.17.0.0/24#1', '172.17.1.0/24#1'])
  const plain = decodeUpdate(body([], basic(), [...prefix('172.17.0.0/24'), ...prefix('10.0.0.0/8')]), { as4: true, addPath: 'guess', lenient: true })
  assert.deepEqual(plain.announced.map((r) => `${r.prefix}#${r.pathId}`), ['172.17.0.0/24#undefined', '10.0.0.0/8#undefined'])
})

test('a 2-byte session: AS4_PATH replaces the AS_TRANS tail of AS_PATH (RFC 6793 §4.2.3)', () => {
  const merged = decodeUpdate(body([], [...origin(0), ...asPath([[SEQ, [64500, 23456, 23456]]], 2), ...asPath([[SEQ, [4200000001, 4200000002]]], 4, 17), ...nextHop('192.0.2.1')], prefix('10.0.0.0/8')), { as4: false })
  assert.deepEqual(merged.announced[0]!.asPath, [64500, 4200000001, 4200000002])
  assert.equal(merged.announced[0]!.originAs, 4200000002)
  // An AS4_PATH longer than AS_PATH is ignored.
  const longer = decodeUpdate(body([], [...origin(0), ...asPath([[SEQ, [23456]]], 2), ...asPath([[SEQ, [1, 2]]], 4, 17), ...nextHop('192.0.2.1')], prefix('10.0.0.0/8')), { as4: false })
  assert.deepEqual(longer.announced[0]!.asPath, [23456])
  // An AGGREGATOR with a real 2-byte AS says the AS4 attributes are stale.
  const aggregator = attr(0xc0, 7, [...u16(64501), ...ipv4('192.0.2.9')])
  const stale = decodeUpdate(body([], [...origin(0), ...asPath([[SEQ, [64500, 23456]]], 2), ...asPath([[SEQ, [4200000001]]], 4, 17), ...aggregator, ...nextHop('192.0.2.1')], prefix('10.0.0.0/8')), { as4: false })
  assert.deepEqual(stale.announced[0]!.asPath, [64500, 23456])
  // An AS_SET counts as one AS.
  const set = decodeUpdate(body([], [...origin(0), ...asPath([[SEQ, [64500]], [SET, [23456, 64502]]], 2), ...asPath([[SET, [4200000001, 64502]]], 4, 17), ...nextHop('192.0.2.1')], prefix('10.0.0.0/8')), { as4: false })
  assert.deepEqual(set.attributes.asPathSegments, [{ type: SEQ, asns: [64500] }, { type: SET, asns: [4200000001, 64502] }])
  assert.equal(set.announced[0]!.originAs, undefined) // the path ends in an AS_SET
})

test('a 4-byte session ignores AS4_PATH; a malformed AS4_PATH is discarded, not an error (RFC 6793 §6)', () => {
  const as4 = decodeUpdate(body([], [...origin(0), ...asPath([[SEQ, [64500]]]), ...asPath([[SEQ, [1]]], 4, 17), ...nextHop('192.0.2.1')], prefix('10.0.0.0/8')), AS4)
  assert.deepEqual(as4.announced[0]!.asPath, [64500])
  const broken = decodeUpdate(body([], [...origin(0), ...asPath([[SEQ, [64500, 23456]]], 2), ...attr(0xc0, 17, [2, 5, 0, 0]), ...nextHop('192.0.2.1')], prefix('10.0.0.0/8')), { as4: false })
  assert.deepEqual(broken.announced[0]!.asPath, [64500, 23456])
})

test('confederation segments stay out of the flat AS path and of the origin AS (RFC 5065)', () => {
  const update = decodeUpdate(body([], [...origin(0), ...asPath([[CONFED_SEQ, [65001, 65002]], [SEQ, [64500]]]), ...nextHop('192.0.2.1')], prefix('10.0.0.0/8')), AS4)
  assert.deepEqual(update.announced[0]!.asPath, [64500])
  assert.equal(update.announced[0]!.originAs, 64500)
  const local = decodeUpdate(body([], [...origin(0), ...asPath([[CONFED_SEQ, [65001]]]), ...nextHop('192.0.2.1')], prefix('10.0.0.0/8')), AS4)
  assert.deepEqual(local.announced[0]!.asPath, [])
  assert.equal(local.announced[0]!.originAs, undefined)
})

test('End-of-RIB markers are recognized (RFC 4724 §2)', () => {
  assert.deepEqual(decodeUpdate(body(), AS4).endOfRib, { afi: 1, safi: 1 })
  assert.deepEqual(decodeUpdate(body([], mpUnreach(2, 1, [])), AS4).endOfRib, { afi: 2, safi: 1 })
  assert.equal(decodeUpdate(body(prefix('10.0.0.0/8')), AS4).endOfRib, undefined)
})

test('malformed UPDATEs throw BgpUpdateError with the RFC 4271 §6.3 subcode and data', () => {
  const cases: [string, Buffer, number, number[]?][] = [
    ['a body shorter than its length fields', Buffer.from([0, 0, 0]), E.MALFORMED_ATTRIBUTE_LIST],
    ['withdrawn routes length past the end', Buffer.from([0, 9, 0, 0]), E.MALFORMED_ATTRIBUTE_LIST],
    ['path attributes length past the end', Buffer.from([0, 0, 0, 9, 1]), E.MALFORMED_ATTRIBUTE_LIST],
    ['an attribute past the end of the attributes', body([], [0x40, 1, 5, 0]), E.MALFORMED_ATTRIBUTE_LIST],
    ['an attribute twice', body([], [...basic(), ...origin(1)], prefix('10.0.0.0/8')), E.MALFORMED_ATTRIBUTE_LIST],
    ['ORIGIN flagged optional', body([], [0x80, 1, 1, 0], []), E.ATTRIBUTE_FLAGS_ERROR, [0x80, 1, 1, 0]],
    ['MED flagged partial', body([], [0xa0, 4, 4, 0, 0, 0, 1], []), E.ATTRIBUTE_FLAGS_ERROR, [0xa0, 4, 4, 0, 0, 0, 1]],
    ['ORIGIN of two bytes', body([], [0x40, 1, 2, 0, 0], []), E.ATTRIBUTE_LENGTH_ERROR, [0x40, 1, 2, 0, 0]],
    ['ORIGIN 3', body([], [0x40, 1, 1, 3], []), E.INVALID_ORIGIN_ATTRIBUTE, [0x40, 1, 1, 3]],
    ['NEXT_HOP of five bytes', body([], [0x40, 3, 5, 1, 2, 3, 4, 5], []), E.ATTRIBUTE_LENGTH_ERROR],
    ['COMMUNITIES of six bytes', body([], attr(0xc0, 8, [0, 1, 0, 2, 0, 3]), []), E.ATTRIBUTE_LENGTH_ERROR],
    ['LARGE_COMMUNITY of eight bytes', body([], attr(0xc0, 32, new Array<number>(8).fill(1)), []), E.ATTRIBUTE_LENGTH_ERROR],
    ['an AS_PATH segment of type 7', body([], attr(0x40, 2, [7, 1, 0, 0, 0, 1]), []), E.MALFORMED_AS_PATH],
    ['an AS_PATH segment of no AS', body([], attr(0x40, 2, [2, 0]), []), E.MALFORMED_AS_PATH],
    ['an AS_PATH segment cut short', body([], attr(0x40, 2, [2, 2, 0, 0, 0, 1]), []), E.MALFORMED_AS_PATH],
    ['an unknown well-known attribute', body([], [0x40, 99, 0], []), E.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, [0x40, 99, 0]],
    ['IPv4 NLRI without NEXT_HOP', body([], [...origin(0), ...asPath([[SEQ, [1]]])], prefix('10.0.0.0/8')), E.MISSING_WELL_KNOWN_ATTRIBUTE, [3]],
    ['MP_REACH NLRI without AS_PATH', body([], [...origin(0), ...mpReach(2, 1, ipv6('2001:db8::1'), prefix('2001:db8::/32'))]), E.MISSING_WELL_KNOWN_ATTRIBUTE, [2]],
    ['a /33 IPv4 prefix', body([], basic(), [33, 1, 2, 3, 4, 5]), E.INVALID_NETWORK_FIELD],
    ['a prefix cut short', body([], basic(), [24, 10, 0]), E.INVALID_NETWORK_FIELD],
    ['a /129 IPv6 withdrawal', body([], mpUnreach(2, 1, [129, ...new Array<number>(17).fill(0)])), E.INVALID_NETWORK_FIELD],
    ['MP_REACH_NLRI whose next hop runs past its end', body([], attr(0x80, 14, [0, 2, 1, 16, 1, 2])), E.OPTIONAL_ATTRIBUTE_ERROR],
  ]
  for (const [name, bytes, subcode, data] of cases) {
    const error = updateError(() => decodeUpdate(bytes, AS4))
    assert.equal(error.errorSubcode, subcode, `${name}: ${error.message}`)
    if (data) assert.deepEqual([...error.data], data, `${name}: data`)
  }
})

test('lenient mode reads what archives hold: any flags, a repeated attribute, the other AS width, no well-known checks', () => {
  const options: DecodeUpdateOptions = { as4: true, lenient: true }
  // BIRD 2 MRT exports with all flags 0x00 (REFERENCE.md).
  const zeroFlags = decodeUpdate(body([], [0, 1, 1, 0, 0, 2, 6, 2, 1, 0, 0, 0xfb, 0xf4, 0, 8, 4, 0xfd, 0xe8, 0, 0x65], prefix('10.0.0.0/8')), options)
  assert.deepEqual([zeroFlags.announced[0]!.asPath, zeroFlags.announced[0]!.communities], [[64500], ['65000:101']])
  // An AS_PATH of 2-byte ASNs in a message announced as 4-byte.
  const narrow = decodeUpdate(body([], [...origin(0), ...asPath([[SEQ, [64500, 64501, 64502]]], 2)], prefix('10.0.0.0/8')), options)
  assert.deepEqual(narrow.announced[0]!.asPath, [64500, 64501, 64502])
  const twice = decodeUpdate(body([], [...origin(0), ...origin(2)], prefix('10.0.0.0/8')), options)
  assert.equal(twice.announced[0]!.origin, 0)
})

test('decodeUpdate accepts a Buffer slice of a larger message without copying assumptions', () => {
  const inner = body([], basic(), prefix('10.0.0.0/8'))
  const outer = Buffer.concat([Buffer.alloc(19, 0xff), inner, Buffer.from([1, 2, 3])])
  const update = decodeUpdate(outer.subarray(19, 19 + inner.length), AS4)
  assert.deepEqual(update.announced.map((r) => r.prefix), ['10.0.0.0/8'])
})
