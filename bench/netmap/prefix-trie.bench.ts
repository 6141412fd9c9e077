/**
 * @module bench/netmap/prefix-trie
 * Build time, memory and lookup rate of {@link PrefixTrie} on Internet-size tables, and the cost of
 * building a {@link NetworkMap} of that size from RFC 7285 JSON. A plain script:
 *
 *   node --import tsx bench/netmap/prefix-trie.bench.ts [--quick]
 *
 * Tables are random but shaped: "internet-v4" follows the length mix of a BGP table (mostly /24,
 * then /22-/23, /16-/21, few shorter), "uniform-v4" takes lengths 8-32 uniformly (the worst case
 * for tries that expand prefixes), "internet-v6" is /19-/48 inside 2000::/3.
 */
import { performance } from 'node:perf_hooks'
import { NetworkMap } from '../../src/netmap/network-map.ts'
import { PrefixTrie } from '../../src/netmap/prefix-trie.ts'
import type { NetworkMapData } from '../../src/protocol/types.ts'
import { seededRng } from '../../src/cost/rank.ts'
import { figure, writeReport, type Figure } from '../lib/report.ts'

const figures: Figure[] = []

const quick = process.argv.includes('--quick')
const scale = quick ? 0.1 : 1


const rng = seededRng(42)
const u32 = () => Math.floor(rng() * 2 ** 32) >>> 0

/** Prefix lengths of a BGP table, roughly: [length, share]. */
const INTERNET_V4_LENGTHS: [number, number][] = [
  [8, 0.0002], [12, 0.001], [14, 0.003], [16, 0.013], [17, 0.008], [18, 0.014], [19, 0.025],
  [20, 0.04], [21, 0.045], [22, 0.11], [23, 0.1], [24, 0.6], [25, 0.01], [28, 0.005], [32, 0.0258],
]

function pickLength(table: [number, number][]): number {
  let r = rng()
  for (const [length, share] of table) {
    if ((r -= share) <= 0) return length
  }
  return table[table.length - 1]![0]
}

interface Table {
  name: string
  bits: 32 | 128
  bytes: Uint8Array[]
  lengths: number[]
}

function v4Table(name: string, count: number, length: () => number): Table {
  const bytes: Uint8Array[] = []
  const lengths: number[] = []
  for (let i = 0; i < count; i++) {
    const len = length()
    // unicast space 1.0.0.0-223.255.255.255, host bits cleared
    const address = (((1 + Math.floor(rng() * 223)) << 24) | (u32() & 0xffffff)) >>> 0
    const prefix = len === 0 ? 0 : (address & ((0xffffffff << (32 - len)) >>> 0)) >>> 0
    bytes.push(Uint8Array.of(prefix >>> 24, prefix >>> 16, prefix >>> 8, prefix))
    lengths.push(len)
  }
  return { name, bits: 32, bytes, lengths }
}

function v6Table(name: string, count: number): Table {
  const bytes: Uint8Array[] = []
  const lengths: number[] = []
  for (let i = 0; i < count; i++) {
    const r = rng()
    const len = r < 0.45 ? 48 : r < 0.6 ? 32 : r < 0.8 ? 40 + Math.floor(rng() * 8) : 19 + Math.floor(rng() * 29)
    const b = new Uint8Array(16)
    for (let j = 0; j < 6; j++) b[j] = Math.floor(rng() * 256)
    b[0] = 0x20 | (b[0]! & 0x1f) // 2000::/3
    for (let bit = len; bit < 128; bit++) b[bit >>> 3] = b[bit >>> 3]! & ~(0x80 >>> (bit & 7))
    bytes.push(b)
    lengths.push(len)
  }
  return { name, bits: 128, bytes, lengths }
}

function megabytes(n: number): string {
  return `${(n / 2 ** 20).toFixed(0)} MB`
}

function rate(count: number, ms: number): string {
  return `${((count / ms) * 1000 / 1e6).toFixed(2)} M/s`
}

function collect(): void {
  // twice: array buffers are released by the second pass
  global.gc?.()
  global.gc?.()
}

function benchTable(table: Table): void {
  collect()
  const before = process.memoryUsage()
  const start = performance.now()
  const trie = new PrefixTrie(table.bits)
  for (let i = 0; i < table.bytes.length; i++) trie.insert(table.bytes[i]!, table.lengths[i]!, i % 50_000)
  const inserted = performance.now()
  trie.compile()
  const compiled = performance.now()
  collect()
  const after = process.memoryUsage()

  const lookups = Math.round(4_000_000 * scale)
  const results: string[] = []
  if (table.bits === 32) {
    const random = Uint32Array.from({ length: lookups }, u32)
    // addresses inside stored prefixes: what a server mostly sees
    const hits = Uint32Array.from({ length: lookups }, () => {
      const i = Math.floor(rng() * table.bytes.length)
      const b = table.bytes[i]!
      const host = table.lengths[i]! === 32 ? 0 : u32() >>> table.lengths[i]!
      return ((((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) | host) >>> 0
    })
    for (const [label, addresses] of [['random', random], ['hits', hits]] as const) {
      let sink = 0
      for (let i = 0; i < 200_000; i++) sink += trie.lookupV4(addresses[i]!) // warm up
      const t0 = performance.now()
      for (let i = 0; i < addresses.length; i++) sink += trie.lookupV4(addresses[i]!)
      const t1 = performance.now()
      results.push(`lookupV4 ${label} ${rate(addresses.length, t1 - t0)}`)
      if (label === 'hits') figures.push(figure(`trie.${table.name}.lookups`, `Trie ${table.name} (${trie.size} prefixes): lookups/s, addresses in stored prefixes`, 'M/s', [addresses.length / (t1 - t0) / 1000]))
      if (sink === 0.5) console.log(sink) // keep the loop alive
    }
    const asBytes = Array.from({ length: Math.min(lookups, 1_000_000) }, (_, i) => {
      const a = random[i]!
      return Uint8Array.of(a >>> 24, a >>> 16, a >>> 8, a)
    })
    let sink = 0
    let t0 = performance.now()
    for (const address of asBytes) sink += trie.lookup(address)
    results.push(`lookup(bytes, 1M arrays) ${rate(asBytes.length, performance.now() - t0)}`)
    // One buffer refilled per lookup: an address just parsed is in cache, unlike a million arrays.
    const buffer = new Uint8Array(4)
    t0 = performance.now()
    for (let i = 0; i < random.length; i++) {
      const a = random[i]!
      buffer[0] = a >>> 24
      buffer[1] = a >>> 16
      buffer[2] = a >>> 8
      buffer[3] = a
      sink += trie.lookup(buffer)
    }
    results.push(`lookup(bytes, reused buffer) ${rate(random.length, performance.now() - t0)}`)
    if (sink === 0.5) console.log(sink)
  } else {
    const addresses = Array.from({ length: Math.min(lookups, 1_000_000) }, (_, i) => {
      const b = new Uint8Array(16)
      if (i % 2 === 0) {
        // inside a stored prefix
        const p = Math.floor(rng() * table.bytes.length)
        b.set(table.bytes[p]!)
        for (let j = 8; j < 16; j++) b[j] = Math.floor(rng() * 256)
      } else {
        for (let j = 0; j < 16; j++) b[j] = Math.floor(rng() * 256)
        b[0] = 0x20 | (b[0]! & 0x1f)
      }
      return b
    })
    let sink = 0
    for (let i = 0; i < 100_000; i++) sink += trie.lookup(addresses[i]!)
    const t0 = performance.now()
    for (const address of addresses) sink += trie.lookup(address)
    const elapsed = performance.now() - t0
    results.push(`lookup(bytes) ${rate(addresses.length, elapsed)}`)
    figures.push(figure(`trie.${table.name}.lookups`, `Trie ${table.name} (${trie.size} prefixes): lookups/s, half in stored prefixes`, 'M/s', [addresses.length / elapsed / 1000]))
    if (sink === 0.5) console.log(sink)
  }
  figures.push(figure(`trie.${table.name}.build`, `Trie ${table.name}: insert + compile ${trie.size} prefixes`, 'ms', [compiled - start]))
  console.log(
    `${table.name}: ${trie.size} prefixes; insert ${(inserted - start).toFixed(0)} ms + compile ${(compiled - inserted).toFixed(0)} ms;` +
      ` typed arrays ${megabytes(after.arrayBuffers - before.arrayBuffers)}, heap ${megabytes(after.heapUsed - before.heapUsed)}; ` +
      results.join(', '),
  )
}

function benchNetworkMap(prefixCount: number, pidCount: number): void {
  const data: NetworkMapData = {}
  const seen = new Set<string>()
  const v4 = v4Table('map', prefixCount, () => pickLength(INTERNET_V4_LENGTHS))
  for (let i = 0; i < prefixCount; i++) {
    const b = v4.bytes[i]!
    const text = `${b[0]}.${b[1]}.${b[2]}.${b[3]}/${v4.lengths[i]}`
    if (seen.has(text)) continue // a prefix may be in one PID only
    seen.add(text)
    const group = (data[`pid${i % pidCount}`] ??= { ipv4: [] })
    group.ipv4!.push(text)
  }
  global.gc?.()
  const t0 = performance.now()
  const map = NetworkMap.fromData('bench-map', data)
  const t1 = performance.now()
  const body = JSON.stringify(map.toBody())
  const t2 = performance.now()
  console.log(
    `NetworkMap.fromData: ${seen.size} IPv4 prefixes in ${pidCount} PIDs in ${(t1 - t0).toFixed(0)} ms; ` +
      `toBody + JSON.stringify ${(t2 - t1).toFixed(0)} ms (${megabytes(body.length)})`,
  )
}

console.log(`node ${process.version}${quick ? ' (quick)' : ''}${global.gc ? '' : ' (run with --expose-gc for steadier memory numbers)'}`)
benchTable(v4Table('internet-v4', Math.round(1_300_000 * scale), () => pickLength(INTERNET_V4_LENGTHS)))
benchTable(v4Table('uniform-v4', Math.round(1_000_000 * scale), () => 8 + Math.floor(rng() * 25)))
benchTable(v6Table('internet-v6', Math.round(300_000 * scale)))
benchNetworkMap(Math.round(1_000_000 * scale), 10_000)
writeReport({
  bench: 'trie',
  method: 'PrefixTrie alone on seeded synthetic tables shaped like BGP tables (one run each)',
  figures,
})
