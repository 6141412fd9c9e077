import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { PrefixTrie } from '../../src/netmap/prefix-trie.ts'
import { seededRng } from '../../src/cost/rank.ts'


type Bits = 32 | 128

interface Prefix {
  bytes: Uint8Array
  length: number
}

function masked(bytes: Uint8Array, length: number): Uint8Array {
  const out = bytes.slice()
  for (let i = 0; i < out.length; i++) {
    const covered = length - 8 * i
    if (covered <= 0) out[i] = 0
    else if (covered < 8) out[i] = out[i]! & (0xff00 >>> covered)
  }
  return out
}

function covers(prefix: Prefix, address: Uint8Array): boolean {
  const whole = prefix.length >>> 3
  for (let i = 0; i < whole; i++) if (prefix.bytes[i] !== address[i]) return false
  const rest = prefix.length & 7
  if (rest === 0) return true
  const mask = (0xff00 >>> rest) & 0xff
  return (prefix.bytes[whole]! & mask) === (address[whole]! & mask)
}

function key(p: Prefix): string {
  return `${Buffer.from(p.bytes).toString('hex')}/${p.length}`
}

function compareAddressOrder(a: Prefix, b: Prefix): number {
  return Buffer.compare(a.bytes, b.bytes) || a.length - b.length
}

/** The obviously correct version: a list, scanned in full for every lookup. */
class LinearLpm {
  readonly entries = new Map<string, Prefix & { value: number }>()
  insert(bytes: Uint8Array, length: number, value: number): number {
    const p = { bytes: masked(bytes, length), length }
    const old = this.entries.get(key(p))
    this.entries.set(key(p), { ...p, value })
    return old === undefined ? -1 : old.value
  }
  get(bytes: Uint8Array, length: number): number {
    return this.entries.get(key({ bytes: masked(bytes, length), length }))?.value ?? -1
  }
  lookup(address: Uint8Array): number {
    let best = -1
    let bestLength = -1
    for (const p of this.entries.values()) {
      if (p.length > bestLength && covers(p, address)) {
        best = p.value
        bestLength = p.length
      }
    }
    return best
  }
}

/**
 * Random prefixes that nest and collide: most are cut from a few base addresses at assorted
 * lengths (including 0 and full length), so one address is covered by many of them.
 */
function prefixGenerator(rng: () => number, bits: Bits): () => Prefix {
  const randomBytes = () => Uint8Array.from({ length: bits / 8 }, () => Math.floor(rng() * 256))
  const bases = Array.from({ length: 12 }, randomBytes)
  return () => {
    const r = rng()
    const length = r < 0.02 ? 0 : r < 0.1 ? bits : Math.floor(rng() * (bits + 1))
    let bytes: Uint8Array
    if (rng() < 0.75) {
      bytes = bases[Math.floor(rng() * bases.length)]!.slice()
      // flip a bit somewhere so siblings and near misses appear too
      if (rng() < 0.5) {
        const bit = Math.floor(rng() * bits)
        bytes[bit >>> 3] = bytes[bit >>> 3]! ^ (0x80 >>> (bit & 7))
      }
    } else {
      bytes = randomBytes()
    }
    return { bytes: masked(bytes, length), length }
  }
}

/** First and last address of a prefix, and the addresses just outside it. */
function edges(p: Prefix): Uint8Array[] {
  const first = p.bytes.slice()
  const last = p.bytes.slice()
  for (let bit = p.length; bit < last.length * 8; bit++) last[bit >>> 3] = last[bit >>> 3]! | (0x80 >>> (bit & 7))
  return [first, last, step(first, -1), step(last, +1)].filter((a): a is Uint8Array => a !== undefined)
}

function step(address: Uint8Array, delta: 1 | -1): Uint8Array | undefined {
  const out = address.slice()
  for (let i = out.length - 1; i >= 0; i--) {
    const next = out[i]! + delta
    out[i] = next & 0xff
    if (next >= 0 && next <= 255) return out
  }
  return undefined // wrapped around the address space
}

function queries(rng: () => number, bits: Bits, prefixes: readonly Prefix[], count: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (const p of prefixes) out.push(...edges(p))
  while (out.length < count) {
    const random = Uint8Array.from({ length: bits / 8 }, () => Math.floor(rng() * 256))
    if (rng() < 0.5 && prefixes.length > 0) {
      // inside a stored prefix, random host bits
      const p = prefixes[Math.floor(rng() * prefixes.length)]!
      const inside = p.bytes.slice()
      for (let bit = p.length; bit < bits; bit++) {
        if (random[bit >>> 3]! & (0x80 >>> (bit & 7))) inside[bit >>> 3] = inside[bit >>> 3]! | (0x80 >>> (bit & 7))
      }
      out.push(inside)
    } else {
      out.push(random)
    }
  }
  return out
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

function assertSameLookups(trie: PrefixTrie, reference: LinearLpm, addresses: readonly Uint8Array[]): void {
  for (const address of addresses) {
    const expected = reference.lookup(address)
    assert.equal(trie.lookup(address), expected, `lookup(${hex(address)})`)
    if (trie.bits === 32) assert.equal(trie.lookupV4(Buffer.from(address).readUInt32BE(0)), expected, `lookupV4(${hex(address)})`)
  }
}

/** One conformance suite, run for both address families. */
function conformance(bits: Bits): void {
  describe(`PrefixTrie(${bits}) against a linear longest-prefix match`, () => {
    for (const [seed, valueRange] of [
      [1, 1_000_000],
      [2, 4], // few distinct values: adjacent ranges merge in the lookup table
      [3, 1],
    ] as const) {
      test(`bulk insert then lookups agree (seed ${seed}, ${valueRange} values)`, () => {
        const rng = seededRng(seed * 1000 + bits)
        const next = prefixGenerator(rng, bits)
        const trie = new PrefixTrie(bits)
        const reference = new LinearLpm()
        const inserted: Prefix[] = []
        for (let i = 0; i < 1500; i++) {
          const p = next()
          const value = Math.floor(rng() * valueRange)
          assert.equal(trie.insert(p.bytes, p.length, value), reference.insert(p.bytes, p.length, value))
          inserted.push(p)
        }
        assert.equal(trie.size, reference.entries.size)
        // The first lookups walk the trie, the rest use the table it then builds.
        assertSameLookups(trie, reference, queries(rng, bits, inserted, 8000))
        trie.compile()
        assertSameLookups(trie, reference, queries(rng, bits, inserted.slice(0, 200), 2000))
      })
    }

    test('interleaved inserts and lookups agree', () => {
      const rng = seededRng(bits + 7)
      const next = prefixGenerator(rng, bits)
      const trie = new PrefixTrie(bits)
      const reference = new LinearLpm()
      const inserted: Prefix[] = []
      for (let i = 0; i < 1500; i++) {
        const p = next()
        const value = Math.floor(rng() * 50)
        trie.insert(p.bytes, p.length, value)
        reference.insert(p.bytes, p.length, value)
        inserted.push(p)
        assertSameLookups(trie, reference, queries(rng, bits, [p], 6))
        if (i % 300 === 299) {
          trie.compile()
          assertSameLookups(trie, reference, queries(rng, bits, inserted, inserted.length * 4 + 100))
        }
      }
    })

    test('get matches exactly stored prefixes only', () => {
      const rng = seededRng(bits + 11)
      const next = prefixGenerator(rng, bits)
      const trie = new PrefixTrie(bits)
      const reference = new LinearLpm()
      for (let i = 0; i < 2000; i++) {
        const p = next()
        trie.insert(p.bytes, p.length, i)
        reference.insert(p.bytes, p.length, i)
      }
      for (let i = 0; i < 5000; i++) {
        const p = next()
        assert.equal(trie.get(p.bytes, p.length), reference.get(p.bytes, p.length), `get(${key(p)})`)
      }
    })

    test('entries lists every prefix once, in address order, shorter first', () => {
      const rng = seededRng(bits + 13)
      const next = prefixGenerator(rng, bits)
      const trie = new PrefixTrie(bits)
      const reference = new LinearLpm()
      for (let i = 0; i < 2000; i++) {
        const p = next()
        trie.insert(p.bytes, p.length, i)
        reference.insert(p.bytes, p.length, i)
      }
      const expected = [...reference.entries.values()].sort(compareAddressOrder).map((e) => `${key(e)}=${e.value}`)
      const actual = [...trie.entries()].map((e) => `${key(e)}=${e.value}`)
      assert.deepEqual(actual, expected)
    })

    test('forEach visits what entries lists, in the same order, reusing one buffer', () => {
      const rng = seededRng(bits + 17)
      const next = prefixGenerator(rng, bits)
      const trie = new PrefixTrie(bits)
      for (let i = 0; i < 500; i++) {
        const p = next()
        trie.insert(p.bytes, p.length, i)
      }
      const seen: string[] = []
      const buffers = new Set<Uint8Array>()
      trie.forEach((bytes, length, value) => {
        buffers.add(bytes)
        seen.push(`${key({ bytes, length })}=${value}`)
      })
      assert.deepEqual(seen, [...trie.entries()].map((e) => `${key(e)}=${e.value}`))
      assert.equal(seen.length, trie.size)
      assert.equal(buffers.size, 1)
    })

    test('coversAll is about addresses, not about storing the /0 prefix', () => {
      const trie = new PrefixTrie(bits)
      const low = new Uint8Array(bits / 8)
      const high = low.slice()
      high[0] = 0x80
      trie.insert(low, 1, 1)
      assert.equal(trie.coversAll, false)
      trie.insert(high, 2, 2)
      assert.equal(trie.coversAll, false)
      high[0] = 0xc0
      trie.insert(high, 2, 3)
      assert.equal(trie.coversAll, true)
    })

    test('an empty trie matches nothing', () => {
      const trie = new PrefixTrie(bits)
      assert.equal(trie.size, 0)
      assert.equal(trie.lookup(new Uint8Array(bits / 8)), -1)
      assert.equal(trie.lookup(new Uint8Array(bits / 8).fill(255)), -1)
      trie.compile()
      assert.equal(trie.lookup(new Uint8Array(bits / 8)), -1)
      assert.equal(trie.coversAll, false)
      assert.deepEqual([...trie.entries()], [])
    })

    test('the /0 prefix matches every address, and longer prefixes win inside it', () => {
      const trie = new PrefixTrie(bits)
      const zero = new Uint8Array(bits / 8)
      const ones = new Uint8Array(bits / 8).fill(255)
      assert.equal(trie.insert(zero, 0, 7), -1)
      assert.equal(trie.coversAll, true)
      const host = zero.slice()
      host[0] = 0x80 // the first address of the upper half
      assert.equal(trie.insert(host, bits, 9), -1) // a full-length (host) prefix
      assert.equal(trie.insert(host, 1, 8), -1) // the upper half
      trie.compile()
      assert.equal(trie.lookup(zero), 7)
      assert.equal(trie.lookup(ones), 8)
      assert.equal(trie.lookup(host), 9)
      assert.equal(trie.lookup(step(host, -1)!), 7)
      assert.equal(trie.lookup(step(host, +1)!), 8)
      assert.equal(trie.size, 3)
    })

    test('a host prefix at the very end of the space', () => {
      const trie = new PrefixTrie(bits)
      const ones = new Uint8Array(bits / 8).fill(255)
      trie.insert(ones, bits, 3)
      trie.compile()
      assert.equal(trie.lookup(ones), 3)
      assert.equal(trie.lookup(step(ones, -1)!), -1)
      assert.equal(trie.coversAll, false)
    })

    test('insert overwrites and returns the previous value', () => {
      const trie = new PrefixTrie(bits)
      const p = new Uint8Array(bits / 8)
      p[0] = 10
      assert.equal(trie.insert(p, 8, 1), -1)
      trie.compile()
      assert.equal(trie.lookup(p), 1)
      assert.equal(trie.insert(p, 8, 2), 1)
      assert.equal(trie.insert(p, 8, 2), 2)
      assert.equal(trie.size, 1)
      trie.compile()
      assert.equal(trie.lookup(p), 2)
      assert.equal(trie.get(p, 8), 2)
      assert.equal(trie.get(p, 7), -1)
      assert.equal(trie.get(p, 9), -1)
    })

    test('bits past the prefix length are ignored', () => {
      const trie = new PrefixTrie(bits)
      const p = new Uint8Array(bits / 8).fill(0xab)
      trie.insert(p, 12, 5)
      const clean = masked(p, 12)
      assert.equal(trie.get(clean, 12), 5)
      assert.deepEqual([...trie.entries()], [{ bytes: clean, length: 12, value: 5 }])
    })

    test('refuses bad lengths, values and address sizes', () => {
      const trie = new PrefixTrie(bits)
      const p = new Uint8Array(bits / 8)
      assert.throws(() => trie.insert(p, bits + 1, 0), RangeError)
      assert.throws(() => trie.insert(p, -1, 0), RangeError)
      assert.throws(() => trie.insert(p, 1.5, 0), RangeError)
      assert.throws(() => trie.insert(p, 8, -1), RangeError)
      assert.throws(() => trie.insert(p, 8, 2 ** 31), RangeError)
      assert.throws(() => trie.insert(p, 8, 0.5), RangeError)
      assert.throws(() => trie.lookup(new Uint8Array(bits === 32 ? 16 : 4)), RangeError)
      assert.equal(trie.size, 0)
    })
  })
}

conformance(32)
conformance(128)

describe('PrefixTrie IPv4 specifics', () => {
  test('lookupV4 takes unsigned and signed 32-bit forms of the same address', () => {
    const trie = new PrefixTrie(32)
    trie.insert(Uint8Array.of(203, 0, 113, 0), 24, 4)
    trie.compile()
    assert.equal(trie.lookupV4(0xcb007101), 4)
    assert.equal(trie.lookupV4(0xcb007101 | 0), 4)
    assert.equal(trie.lookupV4(0xcb007201), -1)
  })

  test('lookupV4 is refused on a 128-bit trie', () => {
    assert.throws(() => new PrefixTrie(128).lookupV4(1), RangeError)
  })

  test('only 32 or 128 bits', () => {
    assert.throws(() => new PrefixTrie(64 as 32), RangeError)
  })

  test('the RFC 7285 example prefixes resolve as §11.2.1.7 says', () => {
    const trie = new PrefixTrie(32)
    trie.insert(Uint8Array.of(192, 0, 2, 0), 24, 1)
    trie.insert(Uint8Array.of(198, 51, 100, 0), 25, 1)
    trie.insert(Uint8Array.of(198, 51, 100, 128), 25, 2)
    trie.insert(Uint8Array.of(0, 0, 0, 0), 0, 3)
    for (const compiled of [false, true]) {
      if (compiled) trie.compile()
      assert.equal(trie.lookup(Uint8Array.of(192, 0, 2, 100)), 1)
      assert.equal(trie.lookup(Uint8Array.of(198, 51, 100, 2)), 1)
      assert.equal(trie.lookup(Uint8Array.of(198, 51, 100, 254)), 2)
      assert.equal(trie.lookup(Uint8Array.of(203, 0, 113, 1)), 3)
    }
  })
})
