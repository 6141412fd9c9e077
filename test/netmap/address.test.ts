import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { isIPv6 } from 'node:net'
import {
  formatAddress,
  parseAddress,
  parseAnyPrefix,
  parseIPv4,
  parseIPv6,
  parsePrefix,
  parseTypedAddress,
  parseTypedAddressInto,
  typedAddress,
} from '../../src/netmap/address.ts'

/** Eight 16-bit groups as bytes. */
function groups(...g: number[]): Uint8Array {
  assert.equal(g.length, 8)
  return Uint8Array.from(g.flatMap((x) => [x >>> 8, x & 0xff]))
}

describe('parseIPv4', () => {
  test('accepts dotted quads', () => {
    assert.deepEqual(parseIPv4('192.0.2.1'), Uint8Array.of(192, 0, 2, 1))
    assert.deepEqual(parseIPv4('0.0.0.0'), Uint8Array.of(0, 0, 0, 0))
    assert.deepEqual(parseIPv4('255.255.255.255'), Uint8Array.of(255, 255, 255, 255))
    assert.deepEqual(parseIPv4('10.0.100.9'), Uint8Array.of(10, 0, 100, 9))
  })

  for (const bad of [
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4',
    '1.2.3.04',
    '00.1.1.1',
    '256.1.1.1',
    '1.2.3.1000',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '1..3.4',
    '.1.2.3',
    '1.2.3.',
    '1.2.3.-4',
    '+1.2.3.4',
    '0x1.2.3.4',
    '1.2.3.4/24',
    '',
    '16909060', // inet_aton would take this as 1.2.3.4
  ]) {
    test(`refuses ${JSON.stringify(bad)}`, () => assert.equal(parseIPv4(bad), undefined))
  }
})

describe('parseIPv6', () => {
  const valid: [string, Uint8Array][] = [
    ['::', new Uint8Array(16)],
    ['::1', groups(0, 0, 0, 0, 0, 0, 0, 1)],
    ['1::', groups(1, 0, 0, 0, 0, 0, 0, 0)],
    ['2001:db8::1', groups(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)],
    ['2001:DB8:0:0:1:0:0:1', groups(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1)],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', groups(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)],
    ['1:2:3:4:5:6:7:8', groups(1, 2, 3, 4, 5, 6, 7, 8)],
    ['1:2:3:4:5:6:7::', groups(1, 2, 3, 4, 5, 6, 7, 0)], // RFC 4291 lets "::" stand for one group
    ['::2:3:4:5:6:7:8', groups(0, 2, 3, 4, 5, 6, 7, 8)],
    ['fe80::abcd:EF01', groups(0xfe80, 0, 0, 0, 0, 0, 0xabcd, 0xef01)],
    ['::ffff:192.0.2.1', groups(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201)],
    ['::192.0.2.1', groups(0, 0, 0, 0, 0, 0, 0xc000, 0x0201)],
    ['1:2:3:4:5:6:1.2.3.4', groups(1, 2, 3, 4, 5, 6, 0x0102, 0x0304)],
    ['64:ff9b::198.51.100.7', groups(0x64, 0xff9b, 0, 0, 0, 0, 0xc633, 0x6407)],
  ]
  for (const [text, bytes] of valid) {
    test(`parses ${text}`, () => assert.deepEqual(parseIPv6(text), bytes))
  }

  for (const bad of [
    ':::',
    '1:2:3:4:5:6:7:8:9',
    '12345::',
    '1::2::3',
    '::ffff:1.2.3.256',
    '::ffff:01.2.3.4',
    '1:2:3:4:5:6:7',
    '1:2:3:4::5:6:7:8', // "::" must stand for at least one group
    ':1::',
    '1::2:',
    ':1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7:8:',
    'g::1',
    '::1 ',
    ' ::1',
    'fe80::1%eth0',
    '1.2.3.4::',
    '::1.2.3.4:5',
    '1:2:3:4:5:6:7:1.2.3.4',
    '[::1]',
    ':',
    '',
    '::/0',
  ]) {
    test(`refuses ${JSON.stringify(bad)}`, () => assert.equal(parseIPv6(bad), undefined))
  }
})

describe('formatAddress', () => {
  // RFC 5952 §4 and its examples.
  const cases: [Uint8Array, string][] = [
    [groups(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1), '2001:db8::1:0:0:1'], // first of two equal runs
    [groups(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), '2001:db8::1'],
    [groups(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1), '2001:db8:0:1:1:1:1:1'], // one zero group stays
    [groups(0x2001, 0, 0, 1, 0, 0, 0, 1), '2001:0:0:1::1'], // the longest run wins
    [groups(0x2001, 0xdb8, 0xaaaa, 0xbbbb, 0xcccc, 0xdddd, 0xeeee, 0xaaaa), '2001:db8:aaaa:bbbb:cccc:dddd:eeee:aaaa'],
    [groups(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), '2001:db8::'],
    [new Uint8Array(16), '::'],
    [groups(0, 0, 0, 0, 0, 0, 0, 1), '::1'],
    [groups(1, 0, 0, 0, 0, 0, 0, 0), '1::'],
    [groups(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201), '::ffff:192.0.2.1'], // §5 mixed notation
    [groups(0, 0, 0, 0, 0, 0, 0xc000, 0x0201), '::c000:201'],
  ]
  for (const [bytes, text] of cases) {
    test(`writes ${text}`, () => assert.equal(formatAddress('ipv6', bytes), text))
  }

  test('writes IPv4 as a dotted quad', () => {
    assert.equal(formatAddress('ipv4', Uint8Array.of(192, 0, 2, 1)), '192.0.2.1')
  })

  test('refuses the wrong number of bytes', () => {
    assert.throws(() => formatAddress('ipv4', new Uint8Array(16)), RangeError)
    assert.throws(() => formatAddress('ipv6', new Uint8Array(4)), RangeError)
  })

  // Addresses with many zero groups, where compression choices matter.
  const zeroHeavy = fc
    .array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
    .map((g) => groups(...g))

  test('IPv6 output parses back to the same bytes', () => {
    fc.assert(
      fc.property(zeroHeavy, (bytes) => {
        assert.deepEqual(parseIPv6(formatAddress('ipv6', bytes)), bytes)
      }),
      { seed: 5952, numRuns: 2000 },
    )
  })

  test('IPv6 output is what the WHATWG URL serializer (also RFC 5952) writes', () => {
    fc.assert(
      fc.property(zeroHeavy, (bytes) => {
        const text = formatAddress('ipv6', bytes)
        if (text.includes('.')) return // URL does not use the mixed notation of §5
        assert.equal(new URL(`http://[${text}]/`).hostname, `[${text}]`)
      }),
      { seed: 5952, numRuns: 2000 },
    )
  })

  test('IPv4 output parses back to the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (bytes) => {
        assert.deepEqual(parseIPv4(formatAddress('ipv4', bytes)), bytes)
      }),
      { seed: 4, numRuns: 1000 },
    )
  })
})

describe('parseAddress and typed addresses (RFC 7285 §10.4.3)', () => {
  test('parseAddress canonicalizes the text', () => {
    assert.deepEqual(parseAddress('ipv6', '2001:DB8:0:0:1:0:0:1'), {
      family: 'ipv6',
      bytes: groups(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1),
      text: '2001:db8::1:0:0:1',
    })
    assert.equal(parseAddress('ipv4', '192.0.2.1')?.text, '192.0.2.1')
    assert.equal(parseAddress('ipv4', '2001:db8::1'), undefined)
    assert.equal(parseAddress('ipv6', '192.0.2.1'), undefined)
  })

  test('parseTypedAddress reads both address types', () => {
    assert.deepEqual(parseTypedAddress('ipv4:192.0.2.2'), {
      family: 'ipv4',
      bytes: Uint8Array.of(192, 0, 2, 2),
      text: '192.0.2.2',
    })
    assert.equal(parseTypedAddress('ipv6:2001:DB8::0001')?.text, '2001:db8::1')
    assert.equal(parseTypedAddress('ipv6:::')?.text, '::')
  })

  for (const bad of ['192.0.2.2', 'ipv4:', 'ipv5:192.0.2.2', 'IPV4:192.0.2.2', 'ipv4:2001:db8::1', 'ipv6:192.0.2.2', ':192.0.2.2', '']) {
    test(`parseTypedAddress refuses ${JSON.stringify(bad)}`, () => assert.equal(parseTypedAddress(bad), undefined))
  }

  test('values that are not strings are refused, not thrown on', () => {
    for (const value of [undefined, null, 42, ['ipv4:192.0.2.1'], { ipv4: '192.0.2.1' }] as unknown as string[]) {
      assert.equal(parseTypedAddress(value), undefined)
      assert.equal(parseIPv4(value), undefined)
      assert.equal(parseIPv6(value), undefined)
      assert.match(error(parsePrefix('ipv4', value)), /a prefix is a string/)
      assert.match(error(parseAnyPrefix(value)), /a prefix is a string/)
    }
  })

  test('typedAddress writes the canonical typed form', () => {
    assert.equal(typedAddress(parseTypedAddress('ipv6:2001:0DB8::1')!), 'ipv6:2001:db8::1')
    assert.equal(typedAddress(parseAddress('ipv4', '198.51.100.7')!), 'ipv4:198.51.100.7')
  })
})

describe('parsePrefix', () => {
  test('reads IPv4 and IPv6 prefixes into canonical form', () => {
    assert.deepEqual(parsePrefix('ipv4', '192.0.2.0/24'), {
      family: 'ipv4',
      bytes: Uint8Array.of(192, 0, 2, 0),
      length: 24,
      text: '192.0.2.0/24',
    })
    assert.equal(ok(parsePrefix('ipv6', '2001:0DB8::/32')).text, '2001:db8::/32')
    assert.equal(ok(parsePrefix('ipv4', '0.0.0.0/0')).length, 0)
    assert.equal(ok(parsePrefix('ipv6', '::/0')).text, '::/0')
    assert.equal(ok(parsePrefix('ipv6', '2001:db8::1/128')).text, '2001:db8::1/128')
    assert.equal(ok(parsePrefix('ipv4', '198.51.100.128/25')).bytes[3], 128)
  })

  test('a bare address is a full-length prefix', () => {
    assert.deepEqual(ok(parsePrefix('ipv4', '192.0.2.1')), {
      family: 'ipv4',
      bytes: Uint8Array.of(192, 0, 2, 1),
      length: 32,
      text: '192.0.2.1/32',
    })
    assert.equal(ok(parsePrefix('ipv6', '2001:db8::1')).text, '2001:db8::1/128')
  })

  test('host bits set: says so and suggests the network', () => {
    assert.deepEqual(parsePrefix('ipv4', '192.0.2.1/24'), {
      error: '192.0.2.1/24 has host bits set; did you mean 192.0.2.0/24?',
    })
    assert.deepEqual(parsePrefix('ipv6', '2001:db8::1/32'), {
      error: '2001:db8::1/32 has host bits set; did you mean 2001:db8::/32?',
    })
    assert.deepEqual(parsePrefix('ipv4', '198.51.100.200/25'), {
      error: '198.51.100.200/25 has host bits set; did you mean 198.51.100.128/25?',
    })
    assert.match(error(parsePrefix('ipv4', '0.0.0.1/0')), /did you mean 0\.0\.0\.0\/0\?/)
  })

  test('bad lengths are refused with the allowed range', () => {
    for (const text of ['192.0.2.0/33', '192.0.2.0/-1', '192.0.2.0/', '192.0.2.0/024', '192.0.2.0/2x', '192.0.2.0/24/8', '192.0.2.0/ 24']) {
      assert.match(error(parsePrefix('ipv4', text)), /prefix length must be a whole number from 0 to 32/, text)
    }
    assert.match(error(parsePrefix('ipv6', '::/129')), /from 0 to 128/)
    assert.equal(ok(parsePrefix('ipv6', '::/128')).length, 128)
  })

  test('bad addresses are refused, with a hint when the family is wrong', () => {
    assert.equal(error(parsePrefix('ipv4', '192.0.2/24')), '"192.0.2/24" is not a valid IPv4 prefix')
    assert.equal(error(parsePrefix('ipv4', '2001:db8::/32')), '"2001:db8::/32" is not a valid IPv4 prefix (it looks like IPv6)')
    assert.equal(error(parsePrefix('ipv6', '192.0.2.0/24')), '"192.0.2.0/24" is not a valid IPv6 prefix (it looks like IPv4)')
    assert.match(error(parsePrefix('ipv6', '1::2::3/64')), /not a valid IPv6 prefix/)
    assert.match(error(parsePrefix('ipv4', '')), /not a valid IPv4 prefix/)
  })

  test('parseAnyPrefix picks the family from the text', () => {
    assert.equal(ok(parseAnyPrefix('10.0.0.0/8')).family, 'ipv4')
    assert.equal(ok(parseAnyPrefix('2001:db8::/32')).family, 'ipv6')
    assert.equal(ok(parseAnyPrefix('::ffff:0:0/96')).text, '::ffff:0.0.0.0/96')
    assert.match(error(parseAnyPrefix('10.0.0.1/8')), /host bits set/)
    assert.match(error(parseAnyPrefix('example.com')), /not a valid IPv4 prefix/)
  })
})

function ok<T>(result: T | { error: string }): T {
  if (typeof result === 'object' && result !== null && 'error' in result) assert.fail(result.error)
  return result as T
}

function error(result: object): string {
  assert.ok('error' in result, 'expected an error')
  return (result as { error: string }).error
}

describe('the one-pass parsers against independent ones', () => {
  // Text built from IPv6-ish pieces, so that a good share is valid: groups of 0-5 hex digits,
  // single and double colons, sometimes a dotted quad (with or without leading zeros) at the end.
  const group = fc.stringMatching(/^[0-9a-fA-F]{0,5}$/)
  const quad = fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.constantFrom('1', '01', '255', '256'))
    .map(([a, b, c, d]) => `${a}.${b}.${c}.${d}`)
  const ipv6ish = fc.tuple(fc.array(fc.tuple(group, fc.constantFrom(':', ':', ':', '::')), { minLength: 1, maxLength: 9 }), fc.option(quad), fc.boolean())
    .map(([parts, tail, lead]) => `${lead ? '::' : ''}${parts.map(([g, sep]) => g + sep).join('').replace(/:+$/, (m) => (tail === null ? (m.length > 1 ? '::' : '') : m))}${tail ?? ''}`)

  test('parseIPv6 accepts exactly what node:net isIPv6 accepts (no zone ids)', () => {
    fc.assert(
      fc.property(ipv6ish, (text) => {
        assert.equal(parseIPv6(text) !== undefined, isIPv6(text), text)
      }),
      { numRuns: 20_000, seed: 7 },
    )
  })

  test('parseIPv6 reads the same bits as the WHATWG URL parser', () => {
    fc.assert(
      fc.property(ipv6ish.filter((text) => isIPv6(text)), (text) => {
        const whatwg = new URL(`http://[${text}]/`).hostname.slice(1, -1) // "[...]" -> "..."
        assert.deepEqual(parseIPv6(text), parseIPv6(whatwg), text)
      }),
      { numRuns: 5_000, seed: 8 },
    )
  })

  test('typed addresses parse into caller buffers like parseTypedAddress', () => {
    const v4 = new Uint8Array(4)
    const v6 = new Uint8Array(16)
    const typed = fc.oneof(ipv6ish.map((t) => `ipv6:${t}`), quad.map((t) => `ipv4:${t}`), fc.string().map((t) => `ipv4:${t}`), fc.string())
    fc.assert(
      fc.property(typed, (text) => {
        const slow = parseTypedAddress(text)
        const family = parseTypedAddressInto(text, v4, v6)
        assert.equal(family, slow?.family, text)
        if (slow) assert.deepEqual(family === 'ipv4' ? v4 : v6, slow.bytes, text)
      }),
      { numRuns: 10_000, seed: 9 },
    )
  })
})
