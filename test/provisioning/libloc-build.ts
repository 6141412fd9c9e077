/**
 * A tiny writer of libloc version 1 databases for the tests: the cases the real database does not
 * have (a handful of networks, AS 0, no country), and damaged files made by patching the bytes it
 * writes at the offsets it returns. What the real file means is settled against libloc's own tools
 * (the `location` package) in libloc.test.ts, not by this writer.
 */
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { parsePrefix } from '../../src/netmap/address.ts'
import { LibLocDatabase } from '../../src/provisioning/libloc.ts'

/** Debian's libloc-database, which the tests of the real database need. */
export const REAL_DB = '/usr/share/libloc-location/location.db'

let real: LibLocDatabase | undefined

/** The real database, read once per test file; a missing file fails the test saying what to install. */
export function realDatabase(): LibLocDatabase {
  if (!existsSync(REAL_DB)) assert.fail(`${REAL_DB} is missing: apt-get install libloc-database`)
  real ??= LibLocDatabase.fromBytes(readFileSync(REAL_DB))
  return real
}

export interface TestNetwork {
  /** `10.0.0.0/8` or `2001:db8::/32`. */
  prefix: string
  asn?: number
  /** Two letters; absent for none. */
  country?: string
  flags?: number
}

export interface TestDatabase {
  networks: TestNetwork[]
  ases?: [number, string][]
  /** [code, continent, name] */
  countries?: [string, string, string][]
  vendor?: string
  description?: string
  license?: string
  /** Seconds since the epoch. */
  createdAt?: number
  /** Empty nodes appended to the tree, unreferenced: material for patching. */
  extraNodes?: number
}

/** Where things are in a written file, to patch it. */
export interface Layout {
  /** Offsets of the (offset, length) header fields of each section. */
  header: { as: number; networks: number; tree: number; countries: number; pool: number }
  tree: number
  networks: number
  pool: number
  poolLength: number
  /** Tree node index of each network, in the order given. */
  nodeOf: number[]
  nodeCount: number
}

const HEADER_BYTES = 72

export function writeLibLoc(db: TestDatabase): { bytes: Uint8Array; layout: Layout } {
  // The tree: nodes [zero, one, network], root 0.
  const nodes: [number, number, number][] = [[0, 0, 0xffffffff]]
  const nodeOf: number[] = []
  db.networks.forEach((network, index) => {
    const { key, bits } = treeKey(network.prefix)
    let node = 0
    for (let depth = 0; depth < bits; depth++) {
      const bit = (key[depth >>> 3]! >>> (7 - (depth & 7))) & 1
      let child = nodes[node]![bit]!
      if (child === 0) {
        child = nodes.push([0, 0, 0xffffffff]) - 1
        nodes[node]![bit] = child
      }
      node = child
    }
    if (nodes[node]![2] !== 0xffffffff) throw new Error(`${network.prefix} is given twice`)
    nodes[node]![2] = index
    nodeOf.push(node)
  })
  for (let i = 0; i < (db.extraNodes ?? 0); i++) nodes.push([0, 0, 0xffffffff])

  const pool: number[] = []
  const string = (text: string): number => {
    const at = pool.length
    pool.push(...Buffer.from(text, 'utf8'), 0)
    return at
  }
  const vendor = string(db.vendor ?? 'ALTOkit tests')
  const description = string(db.description ?? 'a database written by test/provisioning/libloc-build.ts')
  const license = string(db.license ?? 'CC0')
  const ases = [...(db.ases ?? [])].sort((a, b) => a[0] - b[0]).map(([number, name]) => [...u32(number), ...u32(string(name))])
  const countries = (db.countries ?? []).map(([code, continent, name]) => [...ascii2(code), ...ascii2(continent), ...u32(string(name))])
  const networks = db.networks.map((n) => [...(n.country ? ascii2(n.country) : [0, 0]), 0, 0, ...u32(n.asn ?? 0), ...u16(n.flags ?? 0), 0, 0])

  const sections: number[][] = [ases.flat(), networks.flat(), nodes.flatMap((n) => [...u32(n[0]), ...u32(n[1]), ...u32(n[2])]), countries.flat(), pool]
  const offsets: number[] = []
  let at = HEADER_BYTES
  for (const section of sections) {
    offsets.push(at)
    at += section.length
  }
  const bytes = new Uint8Array(at)
  const view = new DataView(bytes.buffer)
  bytes.set(Buffer.from('LOCDBXX', 'latin1'), 0)
  bytes[7] = 1
  view.setBigUint64(8, BigInt(db.createdAt ?? 1_700_000_000))
  view.setUint32(16, vendor)
  view.setUint32(20, description)
  view.setUint32(24, license)
  sections.forEach((section, i) => {
    view.setUint32(28 + 8 * i, offsets[i]!)
    view.setUint32(32 + 8 * i, section.length)
    bytes.set(section, offsets[i]!)
  })
  // signature lengths (68, 70) stay 0: no signatures
  const layout: Layout = {
    header: { as: 28, networks: 36, tree: 44, countries: 52, pool: 60 },
    networks: offsets[1]!,
    tree: offsets[2]!,
    pool: offsets[4]!,
    poolLength: pool.length,
    nodeOf,
    nodeCount: nodes.length,
  }
  return { bytes, layout }
}

/** The 128-bit tree key of a prefix: IPv4 under ::ffff:0:0/96. */
function treeKey(text: string): { key: Uint8Array; bits: number } {
  const family = text.includes(':') ? 'ipv6' : 'ipv4'
  const prefix = parsePrefix(family, text)
  if ('error' in prefix) throw new Error(prefix.error)
  if (family === 'ipv6') return { key: prefix.bytes, bits: prefix.length }
  const key = new Uint8Array(16)
  key[10] = 0xff
  key[11] = 0xff
  key.set(prefix.bytes, 12)
  return { key, bits: 96 + prefix.length }
}

function u16(v: number): number[] {
  return [(v >>> 8) & 0xff, v & 0xff]
}

function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]
}

function ascii2(code: string): number[] {
  return [code.charCodeAt(0), code.charCodeAt(1)]
}
