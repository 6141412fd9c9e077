/**
 * The BGP wire format apart from UPDATE: header checks and framing (RFC 4271 §4.1, §6.1), OPEN with
 * capabilities (RFC 5492, RFC 9072), the OPEN checks and negotiation (§6.2, RFC 6793, RFC 4760),
 * NOTIFICATION (with the RFC 9003 shutdown communication) and the speaker's option checks. Vectors
 * are written out byte by byte; one is the OPEN a real BIRD 2.0.12 sent.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AltoConfigError } from '../../src/protocol/errors.ts'
import { BgpError, describeNotification } from '../../src/provisioning/bgp/errors.ts'
import {
  decodeNotification,
  decodeOpen,
  encodeKeepalive,
  encodeMessage,
  encodeNotification,
  encodeOpen,
  MessageReader,
  shutdownCommunication,
  type BgpMessage,
  type OpenMessage,
} from '../../src/provisioning/bgp/message.ts'
import { AS_TRANS, buildOpen, formatId, negotiate, parseId, type LocalSettings } from '../../src/provisioning/bgp/open.ts'
import { canonicalAddress, resolveOptions } from '../../src/provisioning/bgp/options.ts'

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex')
const MARKER = 'ffffffffffffffffffffffffffffffff'

/** Expect `fn` to throw a BgpError with this code and subcode; returns it. */
function bgpError(fn: () => unknown, code: number, subcode: number): BgpError {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof BgpError, `expected a BgpError, got ${String(error)}`)
    assert.deepEqual([error.errorCode, error.subcode], [code, subcode], error.message)
    assert.equal(error.code, 'ALTO_ERR_BGP')
    return error
  }
  assert.fail(`expected BgpError ${code}/${subcode}`)
}

function readAll(reader: MessageReader, chunk: Buffer): BgpMessage[] {
  return [...reader.push(chunk)]
}

// The OPEN BIRD 2.0.12 sent from AS 4200000002 (hold time 9, router id 127.0.0.2): AS_TRANS in My
// AS, then multiprotocol IPv4 and IPv6 unicast, route refresh, graceful restart, 4-octet AS,
// enhanced route refresh and long-lived graceful restart.
const BIRD_OPEN = hex(`${MARKER} 003b 01 04 5ba0 0009 7f000002 1e 02 1c 01040001 0001 01040002 0001 0200 40020078 4104fa56ea02 4600 4700`)

const LOCAL: LocalSettings = { localAs: 4200000001, routerId: parseId('127.0.0.1')!, holdTimeS: 90, families: ['ipv4', 'ipv6'] }

test('a KEEPALIVE is a bare 19-byte header', () => {
  assert.equal(encodeKeepalive().toString('hex'), `${MARKER}001304`)
})

test('the reader cuts a byte stream into messages, however it is split', () => {
  const stream = Buffer.concat([encodeKeepalive(), BIRD_OPEN, encodeKeepalive()])
  for (const size of [1, 2, 7, 19, 20, 64, stream.length]) {
    const reader = new MessageReader()
    const types: number[] = []
    for (let i = 0; i < stream.length; i += size) for (const m of reader.push(stream.subarray(i, i + size))) types.push(m.type)
    assert.deepEqual(types, [4, 1, 4], `chunks of ${size}`)
    assert.equal(reader.pending, 0)
  }
})

test('header errors carry the RFC 4271 §6.1 subcodes and data', () => {
  const badMarker = Buffer.from(encodeKeepalive())
  badMarker[3] = 0
  bgpError(() => readAll(new MessageReader(), badMarker), 1, 1)

  const tooShort = hex(`${MARKER} 0012 04`)
  assert.deepEqual([...bgpError(() => readAll(new MessageReader(), tooShort), 1, 2).data], [0x00, 0x12])
  const tooLong = hex(`${MARKER} 1001 02`)
  assert.deepEqual([...bgpError(() => readAll(new MessageReader(), tooLong), 1, 2).data], [0x10, 0x01])
  // A KEEPALIVE must be exactly 19 bytes, an OPEN at least 29, a NOTIFICATION at least 21.
  bgpError(() => readAll(new MessageReader(), hex(`${MARKER} 0014 04 00`)), 1, 2)
  bgpError(() => readAll(new MessageReader(), hex(`${MARKER} 001c 01`)), 1, 2)
  bgpError(() => readAll(new MessageReader(), hex(`${MARKER} 0014 03`)), 1, 2)
  // ROUTE-REFRESH (RFC 2918) is exactly 23 bytes.
  bgpError(() => readAll(new MessageReader(), hex(`${MARKER} 0018 05 00010001 00`)), 1, 2)
  assert.equal(readAll(new MessageReader(), hex(`${MARKER} 0017 05 00010001`)).length, 1)

  assert.deepEqual([...bgpError(() => readAll(new MessageReader(), hex(`${MARKER} 0013 09`)), 1, 3).data], [9])
})

test('a header error is raised as soon as the header is in, before the body', () => {
  const reader = new MessageReader()
  assert.deepEqual(readAll(reader, hex(`${MARKER} 00`)), [])
  bgpError(() => readAll(reader, hex('13 07')), 1, 3)
})

test("BIRD's OPEN decodes: AS_TRANS, hold time, identifier and seven capabilities", () => {
  const [message] = readAll(new MessageReader(), BIRD_OPEN)
  const open = decodeOpen(message!.body)
  assert.equal(open.version, 4)
  assert.equal(open.myAs, AS_TRANS)
  assert.equal(open.holdTime, 9)
  assert.equal(formatId(open.bgpId), '127.0.0.2')
  assert.deepEqual(open.capabilities.map((c) => c.code), [1, 1, 2, 64, 65, 70, 71])
  const negotiated = negotiate(open, LOCAL, 4200000002)
  assert.deepEqual(negotiated, {
    peerAs: 4200000002,
    peerId: '127.0.0.2',
    holdTimeS: 9,
    as4: true,
    families: ['ipv4', 'ipv6'],
    routeRefresh: true,
    peerCapabilities: [1, 2, 64, 65, 70, 71],
  })
})

test('our OPEN: AS_TRANS for a 4-byte AS, then multiprotocol, route refresh and 4-octet AS capabilities', () => {
  const bytes = encodeOpen(buildOpen(LOCAL))
  assert.equal(
    bytes.toString('hex'),
    `${MARKER}0033 01 04 5ba0 005a 7f000001 16 02 14 0104 00010001 0104 00020001 0200 4104 fa56ea01`.replace(/\s+/g, ''),
  )
  const twoByte = encodeOpen(buildOpen({ ...LOCAL, localAs: 64500, families: ['ipv4'] }))
  assert.equal(twoByte.readUInt16BE(20), 64500)
  assert.deepEqual(decodeOpen(twoByte.subarray(19)).capabilities.map((c) => c.code), [1, 2, 65])
})

test('RFC 9072 extended optional parameters decode', () => {
  // Non-Ext OP Len 255, Non-Ext OP Type 255, 2-byte length 9, then a capabilities parameter with a 2-byte length 6.
  const body = hex('04 fde8 00b4 0a000001 ff ff 0009 02 0006 4104 0000fde8')
  const open = decodeOpen(body)
  assert.deepEqual(open.capabilities.map((c) => [c.code, [...c.value]]), [[65, [0, 0, 0xfd, 0xe8]]])
})

test('malformed optional parameters are OPEN errors; unknown parameter types are Unsupported Optional Parameter', () => {
  bgpError(() => decodeOpen(hex('04 fde8 00b4 0a000001 05 02 04 4104')), 2, 0) // capability overruns
  bgpError(() => decodeOpen(hex('04 fde8 00b4 0a000001 06 02 02 0000')), 2, 0) // length does not match the message
  bgpError(() => decodeOpen(hex('04 fde8 00b4 0a000001 04 01 02 0000')), 2, 4) // authentication (type 1)
})

function openFrom(overrides: Partial<OpenMessage>): OpenMessage {
  return { ...buildOpen({ localAs: 64502, routerId: parseId('10.0.0.2')!, holdTimeS: 180, families: ['ipv4', 'ipv6'] }), ...overrides }
}

test('negotiation: the smaller hold time, shared families, and IPv4 only for a peer without multiprotocol', () => {
  const negotiated = negotiate(openFrom({}), LOCAL, 64502)
  assert.equal(negotiated.holdTimeS, 90)
  assert.equal(negotiated.as4, true)
  assert.equal(negotiate(openFrom({ holdTime: 0 }), LOCAL, 64502).holdTimeS, 0)
  assert.deepEqual(negotiate(openFrom({ holdTime: 3 }), { ...LOCAL, families: ['ipv6'] }, 64502).families, ['ipv6'])
  const old = negotiate(openFrom({ capabilities: [] }), LOCAL, 64502)
  assert.deepEqual([old.families, old.as4, old.routeRefresh], [['ipv4'], false, false])
})

test('OPEN errors: version, peer AS, hold time, identifier, no shared family', () => {
  assert.deepEqual([...bgpError(() => negotiate(openFrom({ version: 3 }), LOCAL, 64502), 2, 1).data], [0, 4])
  bgpError(() => negotiate(openFrom({}), LOCAL, 64503), 2, 2)
  // A 2-byte-only peer cannot be a 4-byte AS: AS_TRANS alone is not the configured AS.
  bgpError(() => negotiate(openFrom({ myAs: AS_TRANS, capabilities: [] }), LOCAL, 4200000002), 2, 2)
  bgpError(() => negotiate(openFrom({ holdTime: 1 }), LOCAL, 64502), 2, 6)
  bgpError(() => negotiate(openFrom({ holdTime: 2 }), LOCAL, 64502), 2, 6)
  bgpError(() => negotiate(openFrom({ bgpId: 0 }), LOCAL, 64502), 2, 3)
  // RFC 6286: the same identifier is an error inside one AS only.
  const internal = { ...LOCAL, localAs: 64502 }
  bgpError(() => negotiate(openFrom({ bgpId: LOCAL.routerId }), internal, 64502), 2, 3)
  assert.equal(negotiate(openFrom({ bgpId: LOCAL.routerId }), LOCAL, 64502).peerId, '127.0.0.1')
  // Only IPv4 multicast on offer: Unsupported Capability, listing the capabilities it lacks.
  const multicastOnly = openFrom({ capabilities: [{ code: 1, value: Uint8Array.of(0, 1, 0, 2) }] })
  const error = bgpError(() => negotiate(multicastOnly, LOCAL, 64502), 2, 7)
  assert.equal(Buffer.from(error.data).toString('hex'), '01040001000101040002000' + '1')
  bgpError(() => negotiate(openFrom({ capabilities: [{ code: 65, value: Uint8Array.of(0, 1) }] }), LOCAL, 64502), 2, 0)
})

test('unknown capabilities are ignored (RFC 5492 §5)', () => {
  const open = openFrom({ capabilities: [...openFrom({}).capabilities, { code: 73, value: Uint8Array.of(1, 2, 3) }] })
  assert.deepEqual(negotiate(open, LOCAL, 64502).families, ['ipv4', 'ipv6'])
})

test('NOTIFICATION round trip, names, and the RFC 9003 shutdown communication', () => {
  const text = Buffer.from('maintenance', 'utf8')
  const bytes = encodeNotification({ code: 6, subcode: 2, data: Buffer.concat([Buffer.from([text.length]), text]) })
  const [message] = readAll(new MessageReader(), bytes)
  const n = decodeNotification(message!.body)
  assert.deepEqual([n.code, n.subcode], [6, 2])
  assert.equal(shutdownCommunication(n), 'maintenance')
  assert.equal(shutdownCommunication({ code: 6, subcode: 2, data: Uint8Array.of(20, 65) }), undefined)
  assert.equal(describeNotification(2, 2), 'OPEN Message Error/Bad Peer AS (2/2)')
  assert.equal(describeNotification(4, 0), 'Hold Timer Expired (4/0)')
  assert.equal(describeNotification(9, 9), 'Unknown error code 9 (9/9)')
  // NOTIFICATION data is cut to fit in 4096 bytes.
  assert.equal(encodeNotification({ code: 3, subcode: 1, data: new Uint8Array(5000) }).length, 4096)
  assert.throws(() => encodeMessage(2, new Uint8Array(4096)), RangeError)
})

test('speaker options are checked at the boundary and frozen', () => {
  const base = { listen: { host: '127.0.0.1', port: 0 }, localAs: 65001, routerId: '192.0.2.1', neighbors: [{ address: '::ffff:192.0.2.7', peerAs: 64500 }] }
  const resolved = resolveOptions(base)
  assert.equal(resolved.neighbors[0]!.address, '192.0.2.7')
  assert.deepEqual([resolved.holdTimeS, resolved.debounceMs, resolved.families, resolved.neighbors[0]!.passive], [90, 500, ['ipv4', 'ipv6'], true])
  assert.ok(Object.isFrozen(resolved) && Object.isFrozen(resolved.neighbors[0]))
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ routerId: '0.0.0.0' }, /bgp\.routerId/],
    [{ localAs: 0 }, /bgp\.localAs/],
    [{ localAs: 2 ** 32 }, /bgp\.localAs/],
    [{ holdTimeS: 2 }, /bgp\.holdTimeS/],
    [{ neighbors: [{ address: 'router1', peerAs: 1 }] }, /bgp\.neighbors\[0\]\.address/],
    [{ neighbors: [{ address: '192.0.2.7', peerAs: 1 }, { address: '192.0.2.7', peerAs: 2 }] }, /listed twice/],
    [{ neighbors: [{ address: '2001:db8::1', peerAs: -1 }] }, /bgp\.neighbors\[0\]\.peerAs/],
    [{ families: ['ipv5'] }, /bgp\.families/],
    [{ listen: { host: '127.0.0.1', port: 70000 } }, /bgp\.listen\.port/],
  ]
  for (const [override, message] of bad) {
    assert.throws(() => resolveOptions({ ...base, ...override } as never), (error: unknown) => error instanceof AltoConfigError && message.test(error.message))
  }
  assert.deepEqual(canonicalAddress('2001:DB8:0::1'), { family: 'ipv6', text: '2001:db8::1' })
})
