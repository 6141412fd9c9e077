/**
 * The TypeScript bzip2 decoder against Debian's bzip2(1): whatever bzip2 compresses, bunzip2
 * restores byte for byte, in one piece or chunk by chunk; damage is a Bzip2Error.
 */
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import fc from 'fast-check'
import { bunzip2, bunzip2Sync, Bzip2Error, isBzip2 } from '../../src/provisioning/mrt/bzip2.ts'

const HAVE_BZIP2 = spawnSync('bzip2', ['--help'], { stdio: 'ignore' }).error === undefined

test('bzip2 is installed (the reference the decoder is checked against)', () => assert.ok(HAVE_BZIP2, 'apt-get install bzip2'))

const compress = (data: Uint8Array, level = 9): Buffer => execFileSync('bzip2', ['-c', `-${level}`], { input: data, maxBuffer: 1 << 28 })

async function streamed(data: Buffer, chunk: number): Promise<Buffer> {
  async function* pieces(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk)
  }
  const out: Uint8Array[] = []
  for await (const part of bunzip2(pieces())) out.push(part)
  return Buffer.concat(out)
}

test('restores what bzip2 compressed: empty, tiny, runs, text, random, several blocks', async () => {
  const inputs: [string, Buffer, number][] = [
    ['empty', Buffer.alloc(0), 9],
    ['one byte', Buffer.from('a'), 9],
    // Runs of 4+ equal bytes exercise the initial run-length coding, 256+ its count limit.
    ['runs', Buffer.concat([Buffer.alloc(1000, 1), Buffer.alloc(3, 2), Buffer.alloc(4, 3), Buffer.alloc(5, 4), Buffer.alloc(259, 5), Buffer.alloc(260, 6), Buffer.from('xyz')]), 9],
    ['text', Buffer.from('BGP routes, prefixes and PIDs. '.repeat(20000)), 9],
    ['random', randomBytes(120_000), 9],
    // Level 1 = 100 000-byte blocks: three blocks, and a combined CRC over them.
    ['three blocks', Buffer.concat([randomBytes(150_000), Buffer.alloc(100_000, 7)]), 1],
  ]
  for (const [name, data, level] of inputs) {
    const compressed = compress(data, level)
    assert.ok(isBzip2(compressed) || data.length === 0, name)
    assert.ok(Buffer.from(bunzip2Sync(compressed)).equals(data), `${name}: in one piece`)
    assert.ok((await streamed(compressed, 4093)).equals(data), `${name}: in chunks`)
  }
})

test('concatenated streams (pbzip2) are read one after the other; trailing garbage is ignored', () => {
  const both = Buffer.concat([compress(Buffer.from('first,')), compress(Buffer.from('second'))])
  assert.equal(Buffer.from(bunzip2Sync(both)).toString(), 'first,second')
  const garbage = Buffer.concat([compress(Buffer.from('data')), Buffer.from([0, 0, 0, 0, 1, 2, 3])])
  assert.equal(Buffer.from(bunzip2Sync(garbage)).toString(), 'data')
})

test('damage is a Bzip2Error: a flipped bit fails a CRC or the Huffman decoding, a cut is `truncated`', async () => {
  const data = Buffer.from('ALTO network map from MRT. '.repeat(5000))
  const compressed = compress(data)
  const flipped = Buffer.from(compressed)
  flipped[Math.floor(flipped.length / 2)]! ^= 0x10
  assert.throws(() => bunzip2Sync(flipped), Bzip2Error)
  const cut = compressed.subarray(0, compressed.length - 20)
  assert.throws(() => bunzip2Sync(cut), (error: Bzip2Error) => error instanceof Bzip2Error && error.truncated)
  await assert.rejects(streamed(cut, 100), (error: Bzip2Error) => error instanceof Bzip2Error && error.truncated)
  assert.throws(() => bunzip2Sync(Buffer.from('BZh9not a block')), Bzip2Error)
})

test('any input bzip2 compresses comes back unchanged (property)', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 3000 }),
        // Few distinct bytes and long runs: what the RLE and MTF stages are for.
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 300 })), { maxLength: 40 }).map((runs) => Uint8Array.from(runs.flatMap(([b, n]) => new Array<number>(n).fill(b)))),
      ),
      (data) => {
        assert.ok(Buffer.from(bunzip2Sync(compress(data))).equals(Buffer.from(data)))
      },
    ),
    { numRuns: 60 },
  )
})

test('random bytes after a bzip2 signature never hang or crash: a Bzip2Error or some output', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 6, maxLength: 400 }), (tail) => {
      const data = Buffer.concat([Buffer.from('BZh9'), Buffer.from([0x31, 0x41, 0x59, 0x26, 0x53, 0x59]), tail])
      try {
        bunzip2Sync(data)
      } catch (error) {
        assert.ok(error instanceof Bzip2Error, String(error))
      }
    }),
    { numRuns: 300 },
  )
})
