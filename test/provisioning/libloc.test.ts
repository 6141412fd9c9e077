import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createReadStream, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { formatAddress, parseAddress } from '../../src/netmap/address.ts'
import { NetworkMap } from '../../src/netmap/network-map.ts'
import { countryText, LibLocDatabase, LibLocError, LibLocFlag } from '../../src/provisioning/libloc.ts'
import { libLocPrefixes } from '../../src/provisioning/libloc-map.ts'
import type { AddressType } from '../../src/protocol/types.ts'
import { REAL_DB, realDatabase, writeLibLoc, type TestDatabase } from './libloc-build.ts'


interface Seen {
  family: AddressType
  prefix: string
  asn: number
  country: string
  flags: number
}

function networksOf(db: LibLocDatabase): Seen[] {
  const out: Seen[] = []
  db.forEachNetwork((family, bytes, length, network) => {
    const { asn, country, flags } = db.network(network)
    out.push({ family, prefix: `${formatAddress(family, bytes)}/${length}`, asn, country, flags })
  })
  return out
}

function libLocError(bytes: Uint8Array, walk = false): LibLocError {
  try {
    const db = LibLocDatabase.fromBytes(bytes)
    if (walk) db.forEachNetwork(() => {})
  } catch (error) {
    assert.ok(error instanceof LibLocError, `expected a LibLocError, got ${String(error)}`)
    return error
  }
  assert.fail('the database was accepted')
}

const SMALL: TestDatabase = {
  networks: [
    { prefix: '10.0.0.0/8', asn: 64500, country: 'DE' },
    { prefix: '10.1.0.0/16', asn: 64501, country: 'DE', flags: LibLocFlag.anycast },
    { prefix: '10.1.2.0/24', country: 'FR' }, // no AS
    { prefix: '192.0.2.0/24', asn: 64500 }, // no country
    { prefix: '0.0.0.0/1', asn: 64502, country: 'US' },
    { prefix: '2001:db8::/32', asn: 64500, country: 'DE' },
    { prefix: '2001:db8:1::/48', asn: 64503, country: 'NL', flags: LibLocFlag.drop | LibLocFlag.satelliteProvider },
    { prefix: '::/0', country: 'EU' },
    { prefix: '10.1.2.3/32', asn: 64504, country: 'FR' },
  ],
  ases: [
    [64501, 'SECOND'],
    [64500, 'FIRST'],
  ],
  countries: [
    ['DE', 'EU', 'Germany'],
    ['FR', 'EU', 'France'],
  ],
  vendor: 'Test Vendor',
  createdAt: 1_600_000_000,
}

describe('libloc reader on hand-made databases', () => {
  const { bytes } = writeLibLoc(SMALL)
  const db = LibLocDatabase.fromBytes(bytes)

  test('the header: version, creation time, strings, counts', () => {
    assert.equal(db.version, 1)
    assert.equal(db.createdAt.toISOString(), '2020-09-13T12:26:40.000Z')
    assert.equal(db.vendor, 'Test Vendor')
    assert.equal(db.license, 'CC0')
    assert.equal(db.networkCount, SMALL.networks.length)
    assert.equal(db.asCount, 2)
    assert.equal(db.countryCount, 2)
  })

  test('every network once, in address order, IPv4 from under ::ffff:0:0/96', () => {
    assert.deepEqual(networksOf(db), [
      { family: 'ipv6', prefix: '::/0', asn: 0, country: 'EU', flags: 0 },
      { family: 'ipv4', prefix: '0.0.0.0/1', asn: 64502, country: 'US', flags: 0 },
      { family: 'ipv4', prefix: '10.0.0.0/8', asn: 64500, country: 'DE', flags: 0 },
      { family: 'ipv4', prefix: '10.1.0.0/16', asn: 64501, country: 'DE', flags: LibLocFlag.anycast },
      { family: 'ipv4', prefix: '10.1.2.0/24', asn: 0, country: 'FR', flags: 0 },
      { family: 'ipv4', prefix: '10.1.2.3/32', asn: 64504, country: 'FR', flags: 0 },
      { family: 'ipv4', prefix: '192.0.2.0/24', asn: 64500, country: '', flags: 0 },
      { family: 'ipv6', prefix: '2001:db8::/32', asn: 64500, country: 'DE', flags: 0 },
      { family: 'ipv6', prefix: '2001:db8:1::/48', asn: 64503, country: 'NL', flags: LibLocFlag.drop | LibLocFlag.satelliteProvider },
    ])
  })

  test('lookup finds the most specific network', () => {
    const asnAt = (text: string) => {
      const address = parseAddress(text.includes(':') ? 'ipv6' : 'ipv4', text)!
      const network = db.lookup(address.bytes)
      return network === -1 ? undefined : db.asnOf(network)
    }
    assert.equal(asnAt('10.9.9.9'), 64500)
    assert.equal(asnAt('10.1.9.9'), 64501)
    assert.equal(asnAt('10.1.2.4'), 0)
    assert.equal(asnAt('10.1.2.3'), 64504)
    assert.equal(asnAt('1.2.3.4'), 64502)
    assert.equal(asnAt('200.1.1.1'), 0) // only ::/0 holds it, as ::ffff:200.1.1.1
    assert.equal(asnAt('2001:db8:1::5'), 64503)
    assert.equal(asnAt('2001:db9::1'), 0)
  })

  test('AS names and countries', () => {
    assert.equal(db.asName(64500), 'FIRST')
    assert.equal(db.asName(64501), 'SECOND')
    assert.equal(db.asName(64502), undefined)
    assert.deepEqual(db.countries(), [
      { code: 'DE', continent: 'EU', name: 'Germany' },
      { code: 'FR', continent: 'EU', name: 'France' },
    ])
    assert.equal(countryText(0), '')
    assert.equal(countryText((0x44 << 8) | 0x45), 'DE')
  })

  test('a database with the root only has no networks', () => {
    const empty = LibLocDatabase.fromBytes(writeLibLoc({ networks: [] }).bytes)
    assert.equal(empty.forEachNetwork(() => assert.fail('no network expected')), 0)
  })
})

describe('libloc reader refuses damaged files with a clear error', () => {
  const made = () => writeLibLoc({ networks: [{ prefix: '10.0.0.0/8', asn: 1 }, { prefix: '2001:db8::/32', asn: 2 }], extraNodes: 1 })

  test('bad magic, unknown version', () => {
    const { bytes } = made()
    assert.match(libLocError(Buffer.from('not a database at all')).message, /not a libloc database: the file does not start with "LOCDBXX"/)
    bytes[7] = 2
    assert.match(libLocError(bytes).message, /format version 2 is not supported/)
    assert.match(libLocError(new Uint8Array(0)).message, /not a libloc database/)
  })

  test('a file cut short', () => {
    const { bytes } = made()
    assert.match(libLocError(bytes.subarray(0, 40)).message, /truncated: 40 bytes, shorter than the 72-byte header/)
    const cut = libLocError(bytes.subarray(0, bytes.length - 10))
    assert.match(cut.message, /the string pool section .* lies outside the file's \d+ bytes \(truncated\?\)/)
  })

  test('section offsets and lengths out of range', () => {
    const { bytes, layout } = made()
    const view = new DataView(bytes.buffer)
    view.setUint32(layout.header.tree, 0xfffffff0)
    assert.match(libLocError(bytes).message, /the network tree section .* lies outside the file/)
    const second = made()
    new DataView(second.bytes.buffer).setUint32(second.layout.header.tree + 4, 13)
    assert.match(libLocError(second.bytes).message, /the network tree section is 13 bytes, not a whole number of 12-byte records/)
    const third = made()
    new DataView(third.bytes.buffer).setUint32(third.layout.header.networks, 3)
    assert.match(libLocError(third.bytes).message, /network data section .* lies outside the file/)
  })

  test('strings outside the pool or without their NUL', () => {
    const { bytes, layout } = made()
    new DataView(bytes.buffer).setUint32(16, 1_000_000)
    assert.match(libLocError(bytes).message, /string offset 1000000 is past the end of the string pool/)
    const second = made()
    second.bytes[second.layout.pool + second.layout.poolLength - 1] = 0x41 // the license string's NUL
    assert.match(libLocError(second.bytes).message, /has no terminating NUL inside the pool/)
    assert.equal(layout.poolLength > 0, true)
  })

  test('a cycle in the tree is found, not followed forever', () => {
    const { bytes, layout } = made()
    const leaf = layout.nodeOf[0]! // 10.0.0.0/8, depth 104
    new DataView(bytes.buffer).setUint32(layout.tree + 12 * leaf, 1) // its zero-child: node 1, an ancestor
    const error = libLocError(bytes, true)
    assert.match(error.message, /node 1 is reached twice \(from node \d+\): the network tree has a cycle or a shared node/)
    assert.equal(error.offset, layout.tree + 12 * leaf)
    // A lookup walks at most 128 bits, whatever the tree.
    const db = LibLocDatabase.fromBytes(bytes)
    assert.equal(db.asnOf(db.lookup(Uint8Array.of(10, 0, 0, 1))), 1)
  })

  test('a node shared by two parents, a child or network past the end, a tree deeper than 128 bits', () => {
    const shared = made()
    const view = new DataView(shared.bytes.buffer)
    view.setUint32(shared.layout.tree + 12 * shared.layout.nodeOf[0]!, shared.layout.nodeOf[1]!)
    assert.match(libLocError(shared.bytes, true).message, /reached twice/)

    const past = made()
    new DataView(past.bytes.buffer).setUint32(past.layout.tree + 12 * past.layout.nodeOf[0]! + 4, 999)
    assert.match(libLocError(past.bytes, true).message, new RegExp(`points to node 999, past the end of the tree \\(${past.layout.nodeCount} nodes\\)`))

    const badNetwork = made()
    new DataView(badNetwork.bytes.buffer).setUint32(badNetwork.layout.tree + 12 * badNetwork.layout.nodeOf[1]! + 8, 7)
    assert.match(libLocError(badNetwork.bytes, true).message, /names network 7, past the end of the network data \(2 networks\)/)

    const deep = writeLibLoc({ networks: [{ prefix: '2001:db8::1/128', asn: 1 }], extraNodes: 1 })
    new DataView(deep.bytes.buffer).setUint32(deep.layout.tree + 12 * deep.layout.nodeOf[0]!, deep.layout.nodeCount - 1)
    assert.match(libLocError(deep.bytes, true).message, /deeper than 128 bits/)
  })

  test('an empty tree', () => {
    const { bytes, layout } = made()
    new DataView(bytes.buffer).setUint32(layout.header.tree + 4, 0)
    assert.match(libLocError(bytes).message, /the network tree is empty/)
  })
})

describe('libloc reader on the real database (libloc-database)', () => {
  test('every network is reached once by walking the tree, IPv4 and IPv6', () => {
    const db = realDatabase()
    assert.ok(db.networkCount > 1_000_000, `only ${db.networkCount} networks`)
    const refs = new Uint8Array(db.networkCount)
    const families = { ipv4: 0, ipv6: 0 }
    const visited = db.forEachNetwork((family, _bytes, _length, network) => {
      refs[network]!++
      families[family]++
    })
    assert.equal(visited, db.networkCount)
    assert.ok(refs.every((r) => r === 1), 'a network is referenced more than once or not at all')
    assert.ok(families.ipv4 > 500_000 && families.ipv6 > 100_000, JSON.stringify(families))
    assert.equal(db.vendor, 'IPFire Project')
  })

  test('known addresses: Cloudflare, Google, Quad9', () => {
    const db = realDatabase()
    const at = (text: string) => db.network(db.lookup(parseAddress(text.includes(':') ? 'ipv6' : 'ipv4', text)!.bytes))
    assert.equal(at('1.1.1.1').asn, 13335)
    assert.equal(db.asName(13335), 'CLOUDFLARENET')
    assert.deepEqual(at('8.8.8.8'), { asn: 15169, country: 'US', flags: LibLocFlag.anycast })
    assert.equal(at('2a00:1450::1').asn, 15169)
    assert.equal(at('9.9.9.9').asn, 19281)
  })

  test('`location dump` (libloc\'s own tool) lists the same networks, in the same order, and the same AS names', async (t) => {
    const db = realDatabase()
    requireLocationTool()
    // Ours, compactly: the dump is compared line by line as it streams.
    const mine: string[] = []
    db.forEachNetwork((family, bytes, length, network) => {
      const { asn, country, flags } = db.network(network)
      mine.push(`${formatAddress(family, bytes)}/${length} ${country} ${asn || ''} ${flags}`)
    })
    // Into a file: written to a pipe, the dump takes several times longer.
    const dir = mkdtempSync(join(tmpdir(), 'alto-libloc-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'dump.txt')
    const dump = spawnSync('location', ['--database', REAL_DB, 'dump', file], { encoding: 'utf8' })
    assert.equal(dump.status, 0, dump.stderr)
    let networks = 0
    let ases = 0
    let mismatches = 0
    let block: Record<string, string> = {}
    const flagKeys: [string, number][] = [['is-anonymous-proxy', 1], ['is-satellite-provider', 2], ['is-anycast', 4], ['drop', 8]]
    const flush = () => {
      if (block.net !== undefined) {
        const flags = flagKeys.reduce((sum, [key, bit]) => sum + (block[key] === 'yes' ? bit : 0), 0)
        const theirs = `${block.net} ${block.country ?? ''} ${block['aut-num'] ?? ''} ${flags}`
        if (theirs !== mine[networks] && mismatches++ < 5) assert.equal(mine[networks], theirs, `network ${networks}`)
        networks++
      } else if (block['aut-num']?.startsWith('AS')) {
        const asn = Number(block['aut-num'].slice(2))
        assert.equal(db.asName(asn) ?? '', block.name ?? '', `the name of AS${asn}`)
        ases++
      }
      block = {}
    }
    // Lines parsed chunk by chunk (a readline loop over its 5 million lines takes far longer).
    let rest = ''
    const parse = (text: string) => {
      const lines = (rest + text).split('\n')
      rest = lines.pop()!
      for (const line of lines) {
        if (line === '') flush()
        else if (line[0] !== '#') {
          const colon = line.indexOf(':')
          block[line.slice(0, colon)] = line.slice(colon + 1).trim()
        }
      }
    }
    for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) parse(chunk as string)
    parse('\n')
    flush()
    assert.equal(mismatches, 0)
    assert.equal(networks, db.networkCount)
    assert.equal(ases, db.asCount)
  })

  test('lookups agree with libloc\'s Python module, and so does a network map of PIDs per AS', () => {
    const db = realDatabase()
    requireLocationTool()
    const { set } = libLocPrefixes(db, { pid: 'asn', defaultPid: 'unknown', catchAll: true })
    const map = NetworkMap.fromPrefixes('world', set)
    let seed = 12345
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8
    const addresses: string[] = []
    const columns = [set.ipv4!, set.ipv6!]
    for (let i = 0; i < 3000; i++) {
      const family = i % 4 === 3 ? 1 : 0
      const { bytes, lengths } = columns[family]!
      const width = family === 0 ? 4 : 16
      const j = random() % lengths.length
      const address = bytes.slice(width * j, width * j + width)
      if (i % 5 === 0) for (let b = 0; b < width; b++) address[b] = random() & 0xff // anywhere
      else for (let bit = lengths[j]!; bit < 8 * width; bit++) if (random() & 1) address[bit >>> 3]! |= 0x80 >>> (bit & 7)
      if (family === 1 && i % 5 === 0) address[0] = 0x20 | (address[0]! & 0x1f) // 2000::/3
      addresses.push(formatAddress(family === 0 ? 'ipv4' : 'ipv6', address))
    }
    const oracle = pythonLookups(addresses)
    for (const [i, text] of addresses.entries()) {
      const address = parseAddress(text.includes(':') ? 'ipv6' : 'ipv4', text)!
      const expected = oracle[i]!
      const network = db.lookup(address.bytes)
      const mine = network === -1 ? { asn: 0, country: '' } : db.network(network)
      assert.deepEqual({ address: text, asn: mine.asn, country: mine.country }, { address: text, asn: expected.asn, country: expected.country })
      assert.equal(map.lookup(address), expected.asn === 0 ? 'unknown' : `as${expected.asn}`, text)
    }
  })
})

function requireLocationTool(): void {
  const probe = spawnSync('location', ['--version'], { encoding: 'utf8' })
  if (probe.error || probe.status !== 0) assert.fail('the libloc tools are missing: apt-get install location (libloc\'s command line tool and python3-location, the oracle of these tests)')
}

/** libloc's own lookup, through its Python module (python3-location), for each address. */
function pythonLookups(addresses: readonly string[]): { asn: number; country: string }[] {
  const script = [
    'import location, sys',
    `db = location.Database(${JSON.stringify(REAL_DB)})`,
    'for line in sys.stdin:',
    '    a = line.strip()',
    '    try:',
    '        n = db.lookup(a)',
    '    except OSError:',
    '        n = None', // libloc answers "not found" with ENOENT for some addresses
    '    print((n.asn or 0) if n else 0, (n.country_code or "-") if n else "-")',
  ].join('\n')
  const run = spawnSync('/usr/bin/python3', ['-c', script], { input: `${addresses.join('\n')}\n`, encoding: 'utf8', maxBuffer: 1 << 24 })
  assert.equal(run.status, 0, run.stderr)
  const lines = run.stdout.trim().split('\n')
  assert.equal(lines.length, addresses.length)
  return lines.map((line) => {
    const [asn = '0', country = '-'] = line.split(' ')
    return { asn: Number(asn), country: country === '-' ? '' : country }
  })
}
