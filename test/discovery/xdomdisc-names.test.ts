/**
 * RFC 8686 §3.2-§3.4: the reverse names XDOMDISC looks up, checked against the RFC's examples and
 * against Table 1 for every prefix-length class.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { xdomdiscNames } from '../../src/discovery/xdomdisc.ts'
import { isAltoError } from '../../src/protocol/errors.ts'

// RFC 8686 §3.2 and §3.3 examples.
const R32_V4 = '3.100.51.198.in-addr.arpa'
const R128 = '0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa'
const R64 = '0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa'
const R32_V6 = '8.b.d.0.1.0.0.2.ip6.arpa'

/** The RFC's skip(str, n): drop everything up to and including the n-th dot. */
function skip(name: string, n: number): string {
  return name.split('.').slice(n).join('.')
}

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => isAltoError(error) && error.code === code)
}

test('IPv4 /32: R32, R24, R16, R8 from the RFC example 198.51.100.3', () => {
  assert.deepEqual(xdomdiscNames('198.51.100.3'), [R32_V4, '100.51.198.in-addr.arpa', '51.198.in-addr.arpa', '198.in-addr.arpa'])
  assert.deepEqual(xdomdiscNames('198.51.100.3/32'), xdomdiscNames('198.51.100.3'))
  assert.deepEqual(xdomdiscNames('198.51.100.3').slice(1), [skip(R32_V4, 1), skip(R32_V4, 2), skip(R32_V4, 3)])
})

test('IPv6 /128: R128, R64, R56, R48, R40, R32 from the RFC example 2001:0DB8::20', () => {
  const names = xdomdiscNames('2001:0DB8::20')
  assert.equal(names[0], R128)
  assert.equal(names[1], R64)
  assert.equal(names.at(-1), R32_V6)
  assert.deepEqual(names, [R128, skip(R128, 16), skip(R128, 18), skip(R128, 20), skip(R128, 22), skip(R128, 24)])
  assert.equal(R128.split('.').length, 32 + 2)
})

test('Table 1, IPv4: the prefix length picks the first name', () => {
  const all = xdomdiscNames('198.51.100.3')
  const cases: [number, number][] = [[32, 0], [31, 1], [25, 1], [24, 1], [23, 2], [17, 2], [16, 2], [15, 3], [9, 3], [8, 3]]
  for (const [length, first] of cases) assert.deepEqual(xdomdiscNames(`198.51.100.3/${length}`), all.slice(first), `/${length}`)
})

test('Table 1, IPv6: the prefix length picks the first name; /65-/127 start at R64', () => {
  const all = xdomdiscNames('2001:db8::20')
  const cases: [number, number][] = [[128, 0], [127, 1], [100, 1], [65, 1], [64, 1], [63, 2], [56, 2], [55, 3], [48, 3], [47, 4], [40, 4], [39, 5], [33, 5], [32, 5]]
  for (const [length, first] of cases) assert.deepEqual(xdomdiscNames(`2001:db8::20/${length}`), all.slice(first), `/${length}`)
})

test('unsupported prefix length: IPv4 shorter than /8, IPv6 shorter than /32', () => {
  for (const input of ['198.0.0.0/7', '0.0.0.0/0', '2001:db8::/31', '::/0', '2001::/16']) throwsCode(() => xdomdiscNames(input), 'ALTO_ERR_UNSUPPORTED_PREFIX')
  assert.throws(() => xdomdiscNames('10.0.0.0/7'), /unsupported prefix length \/7 in 10\.0\.0\.0\/7/)
})

test('a /20 starts at R16; host bits below the prefix do not matter', () => {
  assert.deepEqual(xdomdiscNames('198.51.96.0/20'), ['51.198.in-addr.arpa', '198.in-addr.arpa'])
  assert.deepEqual(xdomdiscNames('198.51.100.77/20'), xdomdiscNames('198.51.96.0/20'))
})

test('IPv6 text forms: case, zero compression, leading zeros and embedded IPv4 give one name', () => {
  const expected = xdomdiscNames('2001:db8::20')
  for (const form of ['2001:DB8::20', '2001:0db8:0000:0000:0000:0000:0000:0020', '2001:db8:0:0:0:0:0:20', '2001:db8::0:20']) assert.deepEqual(xdomdiscNames(form), expected, form)
  const mapped = `3.0.4.6.3.3.6.c.f.f.f.f.${'0.'.repeat(20)}ip6.arpa`
  assert.equal(xdomdiscNames('::ffff:198.51.100.3')[0], mapped)
  assert.equal(xdomdiscNames('::ffff:c633:6403')[0], mapped)
  assert.equal(xdomdiscNames('::')[0], `${'0.'.repeat(32)}ip6.arpa`)
  assert.equal(xdomdiscNames('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')[0], `${'f.'.repeat(32)}ip6.arpa`)
})

test('anything that is not an address or prefix is bad input', () => {
  const bad = ['', 'example.net', '198.51.100', '198.51.100.3.4', '198.51.100.300', '01.2.3.4', '198.51.100.3/33', '198.51.100.0/', '198.51.100.0/024', '198.51.100.0/-1',
    '2001:db8::/129', '2001:db8::1%eth0', '1:2:3:4:5:6:7:8:9', '1::2::3', ':1::', '2001:db8::g', '::ffff:198.51.100', '1:2:3:4:5:6:7:8::', '12345::1']
  for (const input of bad) throwsCode(() => xdomdiscNames(input), 'ALTO_ERR_BAD_DISCOVERY_INPUT')
})
