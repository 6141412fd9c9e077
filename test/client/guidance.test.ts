/**
 * Ratings per subnet mapped to addresses by longest-prefix match (seed 000 §4.2.2 step 6).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SubnetRatings } from '../../src/client/guidance.ts'
import { parseTypedAddress } from '../../src/netmap/address.ts'

test('subnet ratings resolve to the most specific subnet; unknown addresses get NaN', () => {
  const ratings = new SubnetRatings({ '192.0.2.0/24': 3, 'ipv4:192.0.2.128/25': 1, '2001:db8::/32': 7, '198.51.100.7': 2 })
  const at = (typed: string) => ratings.ratingOf(parseTypedAddress(typed)!)
  assert.equal(at('ipv4:192.0.2.1'), 3)
  assert.equal(at('ipv4:192.0.2.200'), 1)
  assert.equal(at('ipv6:2001:db8:1::5'), 7)
  assert.equal(at('ipv4:198.51.100.7'), 2)
  assert.ok(Number.isNaN(at('ipv4:198.51.100.8')))
  assert.throws(() => new SubnetRatings({ '192.0.2.1/24': 1 }), /host bits/)
})
