/**
 * The MRT reader as a stream reader: compressed input, any chunking of the bytes, and damaged
 * input (truncated, corrupt headers, corrupt bodies, garbage), which is skipped, counted and
 * reported, never thrown.
 */
import assert from 'node:assert/strict'
import { createReadStream, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { MrtReader, type MrtEntry, type MrtSource, type MrtWarning } from '../../src/provisioning/mrt/index.ts'
import { asPath, bytes, nextHop, origin, peerIndexTable, prefix, record, ribBody } from './mrt-build.ts'

const FIXTURES = fileURLToPath(new URL('../fixtures/mrt/', import.meta.url))
const fixture = (name: string): string => join(FIXTURES, name)
const REAL = ['bird-mrtdump_bgp', 'bird-mrtdump_rib', 'bird6-mrtdump_bgp', 'bird6-mrtdump_rib', 'bird6_bgp', 'bird_bgp', 'openbgpd_bgp', 'openbgpd_rib_table', 'openbgpd_rib_table-mp', 'openbgpd_rib_table-v2', 'quagga_bgp', 'quagga_rib']

async function read(source: MrtSource, options: { maxRecordBytes?: number } = {}): Promise<{ entries: MrtEntry[]; warnings: MrtWarning[]; reader: MrtReader }> {
  const warnings: MrtWarning[] = []
  const reader = new MrtReader(source, { ...options, onWarning: (w) => warnings.push(w) })
  const entries: MrtEntry[] = []
  for await (const entry of reader) entries.push(entry)
  return { entries, warnings, reader }
}

const summary = (entries: MrtEntry[]): string[] => entries.map((e) => `${e.kind} ${e.route.peer} ${e.route.prefix}#${e.route.pathId ?? ''} ${e.route.asPath.join(' ')}`)

async function* chunks(buf: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size)
}

test('every real dump reads without a warning, whether from a file, a Readable or 1-byte chunks', async () => {
  for (const name of REAL) {
    const fromFile = await read(fixture(name))
    assert.deepEqual(fromFile.warnings, [], name)
    assert.ok(fromFile.entries.length > 0, name)
    assert.equal(fromFile.reader.stats.bytes, readFileSync(fixture(name)).length, name)
    const fromStream = await read(createReadStream(fixture(name), { highWaterMark: 7 }))
    assert.deepEqual(summary(fromStream.entries), summary(fromFile.entries), name)
    const fromBytes = await read(chunks(readFileSync(fixture(name)), 1))
    assert.deepEqual(summary(fromBytes.entries), summary(fromFile.entries), name)
  }
})

test('any split of the input into chunks reads the same entries (property)', async () => {
  const data = Buffer.concat(['quagga_rib', 'openbgpd_bgp', 'bird6-mrtdump_rib'].map((name) => readFileSync(fixture(name))))
  const expected = summary((await read(data)).entries)
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: data.length - 1 }), { maxLength: 40 }), async (cuts) => {
      const points = [0, ...cuts.sort((a, b) => a - b), data.length]
      async function* pieces(): AsyncGenerator<Uint8Array> {
        for (let i = 1; i < points.length; i++) yield data.subarray(points[i - 1], points[i])
      }
      const { entries, warnings } = await read(pieces())
      assert.deepEqual(warnings, [])
      assert.deepEqual(summary(entries), expected)
    }),
    { numRuns: 200 },
  )
})

test('gzip and bzip2 input is recognized by its magic number and decompressed', async () => {
  const plain = await read(fixture('quagga_rib'))
  const gz = await read(fixture('quagga_rib.gz'))
  assert.equal(gz.reader.stats.compression, 'gzip')
  assert.equal(gz.reader.stats.inputBytes, readFileSync(fixture('quagga_rib.gz')).length)
  assert.deepEqual(summary(gz.entries), summary(plain.entries))
  const bz = await read(fixture('openbgpd_bgp.bz2'))
  assert.equal(bz.reader.stats.compression, 'bzip2')
  assert.deepEqual(summary(bz.entries), summary((await read(fixture('openbgpd_bgp'))).entries))
  assert.deepEqual([gz.warnings, bz.warnings], [[], []])
})

test('a file cut inside a record yields the records before it and counts one truncation', async () => {
  const { entries, warnings, reader } = await read(fixture('quagga_rib.truncated'))
  const whole = await read(fixture('quagga_rib'))
  assert.deepEqual(summary(entries), summary(whole.entries).slice(0, 7))
  assert.equal(reader.stats.truncated, 1)
  assert.equal(reader.stats.corrupt, 0)
  assert.deepEqual(
    warnings.map((w) => [w.kind, w.offset]),
    [['truncated', 860]],
  )
})

test('a cut gzip stream is a truncation warning, not an error', async () => {
  const { warnings, reader } = await read(fixture('quagga_rib.gz.truncated'))
  assert.equal(reader.stats.truncated, 1)
  assert.ok(warnings.some((w) => w.kind === 'truncated' && w.message.startsWith('gzip:')))
})

test('damaged records are skipped: a corrupt header, a body that does not decode, a wrong length', async () => {
  const { entries, warnings, reader } = await read(fixture('openbgpd_bgp.corrupt'))
  const clean = (await read(fixture('openbgpd_bgp'))).entries
  // make-variants.sh damaged the records at these offsets of the original file.
  const expected = clean.filter((e) => ![636, 2150, 2260].includes(e.record.offset))
  assert.equal(expected.length, clean.length - 6)
  assert.deepEqual(summary(entries), summary(expected))
  assert.deepEqual(
    warnings.map((w) => [w.kind, w.offset]),
    [
      ['corrupt', 636],
      ['resync', 636],
      ['corrupt', 2150],
      ['corrupt', 2260],
      ['resync', 2260],
    ],
  )
  assert.equal(reader.stats.corrupt, 3)
  // 12-byte header + 157 bytes at 636; 12 + 75 at 2260.
  assert.equal(reader.stats.skippedBytes, 169 + 87)
})

const peers = record(1700000000, 13, 1, peerIndexTable([{ address: '192.0.2.1', asn: 64500 }]))
const rib = (seq: number, p: string): number[] => record(1700000000, 13, 2, ribBody(seq, prefix(p), [{ peer: 0, attributes: [...origin(0), ...asPath([[2, [64500]]]), ...nextHop('192.0.2.1')] }]))

test('garbage between records is skipped up to the next plausible header', async () => {
  const { entries, warnings, reader } = await read(chunks(bytes(peers, rib(0, '10.0.0.0/8'), [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9], rib(1, '10.1.0.0/16')), 5))
  assert.deepEqual(entries.map((e) => e.route.prefix), ['10.0.0.0/8', '10.1.0.0/16'])
  assert.deepEqual(warnings.map((w) => w.kind), ['corrupt', 'resync'])
  assert.equal(reader.stats.skippedBytes, 13)
})

test('records of types that carry no routes are counted, not warned about', async () => {
  const ospf = record(1700000000, 11, 0, [1, 2, 3, 4])
  const geoPeerTable = record(1700000000, 13, 7, [0, 0, 0, 0])
  const { entries, warnings, reader } = await read(bytes(peers, ospf, geoPeerTable, rib(0, '10.0.0.0/8')))
  assert.equal(entries.length, 1)
  assert.deepEqual(warnings, [])
  assert.deepEqual([reader.stats.ignored, reader.stats.unsupported], [1, 2])
})

test('a RIB entry that does not decode is skipped without losing the others of its record', async () => {
  const good = [...origin(0), ...asPath([[2, [64500]]]), ...nextHop('192.0.2.1')]
  const bad = [0x40, 1, 1, 9] // ORIGIN 9
  const body = ribBody(0, prefix('10.0.0.0/8'), [
    { peer: 0, attributes: good },
    { peer: 0, attributes: bad },
    { peer: 5, attributes: good }, // no such peer
  ])
  const { entries, warnings, reader } = await read(bytes(peers, record(1700000000, 13, 2, body)))
  assert.equal(entries.length, 1)
  assert.equal(reader.stats.corrupt, 2)
  assert.deepEqual(warnings.map((w) => w.kind), ['corrupt', 'corrupt'])
  assert.match(warnings[1]!.message, /peer index 5/)
})

test('a RIB record before any PEER_INDEX_TABLE has no peers to name: its entries are skipped', async () => {
  const { entries, reader } = await read(bytes(rib(0, '10.0.0.0/8')))
  assert.equal(entries.length, 0)
  assert.equal(reader.stats.corrupt, 1)
})

test('a header announcing more than maxRecordBytes is corrupt', async () => {
  const { entries, reader } = await read(bytes(peers, rib(0, '10.0.0.0/8')), { maxRecordBytes: 30 })
  assert.equal(entries.length, 0)
  assert.equal(reader.stats.corrupt, 1)
})

test('BGP4MP_ET timestamps carry the microseconds; an _ET record too short for them is corrupt', async () => {
  const { warnings, reader } = await read(bytes(record(1700000000, 17, 4, [0, 1])))
  assert.equal(reader.stats.corrupt, 1)
  assert.match(warnings[0]!.message, /extended-timestamp/)
})

test('empty input: no entries, no warnings', async () => {
  const { entries, warnings, reader } = await read(chunks(Buffer.alloc(0), 1))
  assert.deepEqual([entries, warnings, reader.stats.records], [[], [], 0])
})

test('stopping early closes the source; a reader is iterated once; a missing file throws its own error', async () => {
  const stream = createReadStream(fixture('openbgpd_bgp'), { highWaterMark: 64 })
  const reader = new MrtReader(stream)
  for await (const entry of reader) {
    assert.ok(entry)
    break
  }
  await new Promise((resolve) => setImmediate(resolve))
  assert.ok(stream.destroyed)
  assert.throws(() => reader[Symbol.asyncIterator](), /only once/)
  await assert.rejects(read(fixture('no-such-file')), (error: NodeJS.ErrnoException) => error.code === 'ENOENT')
  const failing = new Readable({
    read() {
      this.destroy(new Error('disk on fire'))
    },
  })
  await assert.rejects(read(failing), /disk on fire/)
})

test('random bytes never throw, and every byte is either framed or skipped', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), async (data) => {
      const { reader } = await read(chunks(Buffer.from(data), 17))
      const { bytes: framed, skippedBytes, truncated } = reader.stats
      assert.ok(framed + skippedBytes <= data.length)
      if (truncated === 0) assert.equal(framed + skippedBytes, data.length)
    }),
    { numRuns: 300 },
  )
})

test('real dumps with random bytes overwritten or cut short never throw, and keep most routes', async () => {
  const originals = REAL.map((name) => readFileSync(fixture(name)))
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: originals.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      fc.option(fc.nat(), { nil: undefined }),
      async (which, flips, cut) => {
        const data = Buffer.from(originals[which]!)
        for (const [at, value] of flips) data[at % data.length] = value
        const input = cut === undefined ? data : data.subarray(0, cut % data.length)
        const { entries, reader } = await read(input.length === 0 ? chunks(input, 1) : chunks(input, 64))
        for (const e of entries) assert.ok(e.route.length <= (e.route.family === 'ipv4' ? 32 : 128))
        assert.ok(reader.stats.records >= 0)
      },
    ),
    { numRuns: 300 },
  )
})

