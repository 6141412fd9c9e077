import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseAddress, parsePrefix, parseTypedAddress } from '../../src/netmap/address.ts'
import { NetworkMap, NetworkMapError, type PrefixSet } from '../../src/netmap/network-map.ts'
import type { NetworkMapData } from '../../src/protocol/types.ts'

/** RFC 7285 §11.2.1.7, the example network map. */
const RFC_EXAMPLE: NetworkMapData = {
  PID1: { ipv4: ['192.0.2.0/24', '198.51.100.0/25'] },
  PID2: { ipv4: ['198.51.100.128/25'] },
  PID3: { ipv4: ['0.0.0.0/0'], ipv6: ['::/0'] },
}

function pidOf(map: NetworkMap, typed: string): string | undefined {
  const address = parseTypedAddress(typed)
  assert.ok(address, typed)
  return map.lookup(address)
}

/** Run fromData and return the NetworkMapError it throws. */
function refusal(data: unknown, tag?: string): NetworkMapError {
  try {
    NetworkMap.fromData('net', data as NetworkMapData, tag)
  } catch (error) {
    assert.ok(error instanceof NetworkMapError, `expected a NetworkMapError, got ${String(error)}`)
    return error
  }
  assert.fail('fromData accepted the map')
}

describe('NetworkMap: the RFC 7285 §11.2.1.7 example', () => {
  const map = NetworkMap.fromData('my-default-network-map', RFC_EXAMPLE)

  test('endpoints resolve to their PIDs by longest prefix', () => {
    assert.equal(pidOf(map, 'ipv4:192.0.2.100'), 'PID1')
    assert.equal(pidOf(map, 'ipv4:198.51.100.2'), 'PID1')
    assert.equal(pidOf(map, 'ipv4:198.51.100.254'), 'PID2')
    assert.equal(pidOf(map, 'ipv4:203.0.113.1'), 'PID3')
    assert.equal(pidOf(map, 'ipv6:2001:db8::1'), 'PID3')
  })

  test('prefix edges', () => {
    assert.equal(pidOf(map, 'ipv4:192.0.1.255'), 'PID3')
    assert.equal(pidOf(map, 'ipv4:192.0.2.0'), 'PID1')
    assert.equal(pidOf(map, 'ipv4:192.0.2.255'), 'PID1')
    assert.equal(pidOf(map, 'ipv4:192.0.3.0'), 'PID3')
    assert.equal(pidOf(map, 'ipv4:198.51.100.127'), 'PID1')
    assert.equal(pidOf(map, 'ipv4:198.51.100.128'), 'PID2')
    assert.equal(pidOf(map, 'ipv4:198.51.101.0'), 'PID3')
    assert.equal(pidOf(map, 'ipv4:0.0.0.0'), 'PID3')
    assert.equal(pidOf(map, 'ipv4:255.255.255.255'), 'PID3')
  })

  test('PIDs are sorted and indexed', () => {
    assert.deepEqual(map.pids, ['PID1', 'PID2', 'PID3'])
    assert.equal(map.pidIndex('PID1'), 0)
    assert.equal(map.pidIndex('PID3'), 2)
    assert.equal(map.pidIndex('PID4'), -1)
    assert.equal(map.pidIndex('toString'), -1)
    const address = parseAddress('ipv4', '198.51.100.254')!
    assert.equal(map.lookupIndex('ipv4', address.bytes), 1)
  })

  test('toBody is the RFC body, with the vtag', () => {
    assert.deepEqual(map.toBody(), {
      meta: { vtag: { 'resource-id': 'my-default-network-map', tag: map.vtag } },
      'network-map': RFC_EXAMPLE,
    })
    assert.match(map.vtag, /^[0-9a-f]{64}$/)
    assert.equal(map.resourceId, 'my-default-network-map')
  })

  test('toBody returns a fresh object each time', () => {
    const body = map.toBody()
    body['network-map'].PID1!.ipv4!.push('10.0.0.0/8')
    assert.deepEqual(map.toBody()['network-map'].PID1, RFC_EXAMPLE.PID1)
    assert.deepEqual(map.prefixesOf('PID1'), RFC_EXAMPLE.PID1)
  })

  test('prefixesOf lists present families only', () => {
    assert.deepEqual(map.prefixesOf('PID2'), { ipv4: ['198.51.100.128/25'] })
    assert.deepEqual(map.prefixesOf('PID3'), { ipv4: ['0.0.0.0/0'], ipv6: ['::/0'] })
    assert.deepEqual(map.prefixesOf('nope'), {})
  })

  test('covers everything thanks to PID3', () => {
    assert.equal(map.coversEverything, true)
  })
})

describe('NetworkMap lookups without a default route', () => {
  const map = NetworkMap.fromData('net', {
    mid: { ipv4: ['10.1.0.0/16'], ipv6: ['2001:db8:1::/48'] },
    big: { ipv4: ['10.0.0.0/8'], ipv6: ['2001:db8::/32'] },
    host: { ipv4: ['10.1.2.3'], ipv6: ['2001:db8:1::1'] },
  })

  test('the most specific prefix wins, across PIDs', () => {
    assert.equal(pidOf(map, 'ipv4:10.200.0.1'), 'big')
    assert.equal(pidOf(map, 'ipv4:10.1.2.4'), 'mid')
    assert.equal(pidOf(map, 'ipv4:10.1.2.3'), 'host')
    assert.equal(pidOf(map, 'ipv6:2001:db8:2::1'), 'big')
    assert.equal(pidOf(map, 'ipv6:2001:db8:1::2'), 'mid')
    assert.equal(pidOf(map, 'ipv6:2001:db8:1::1'), 'host')
  })

  test('an uncovered address has no PID', () => {
    assert.equal(pidOf(map, 'ipv4:192.0.2.1'), undefined)
    assert.equal(pidOf(map, 'ipv6:2001:db9::1'), undefined)
    assert.equal(map.lookupIndex('ipv4', Uint8Array.of(11, 0, 0, 0)), -1)
  })

  test('bare addresses are stored as full-length prefixes', () => {
    assert.deepEqual(map.prefixesOf('host'), { ipv4: ['10.1.2.3/32'], ipv6: ['2001:db8:1::1/128'] })
  })

  test('does not cover everything', () => {
    assert.equal(map.coversEverything, false)
  })

  test('covering everything needs both families, with or without a /0', () => {
    const halves = { ipv4: ['0.0.0.0/1', '128.0.0.0/1'] }
    assert.equal(NetworkMap.fromData('net', { a: halves }).coversEverything, false)
    assert.equal(NetworkMap.fromData('net', { a: halves, b: { ipv6: ['::/0'] } }).coversEverything, true)
    assert.equal(NetworkMap.fromData('net', { a: { ipv4: ['0.0.0.0/0'], ipv6: ['::/1'] } }).coversEverything, false)
  })
})

describe('NetworkMap.fromData canonicalizes', () => {
  test('prefixes are canonical and in address order, duplicates within a PID kept once', () => {
    const map = NetworkMap.fromData('net', {
      a: {
        ipv6: ['2001:DB8:0:0:1::/80', '2001:0db8::/32', '2001:db8::/32'],
        ipv4: ['198.51.100.0/24', '192.0.2.0/24', '10.0.0.0/8', '10.0.0.0/16', '192.0.2.0/24'],
      },
    })
    assert.deepEqual(map.prefixesOf('a'), {
      ipv4: ['10.0.0.0/8', '10.0.0.0/16', '192.0.2.0/24', '198.51.100.0/24'],
      ipv6: ['2001:db8::/32', '2001:db8:0:0:1::/80'],
    })
  })

  test('empty prefix lists are dropped; a PID may have no prefixes', () => {
    const map = NetworkMap.fromData('net', { a: { ipv4: [] }, b: {}, c: { ipv6: ['::/0'] } })
    assert.deepEqual(map.toBody()['network-map'], { a: {}, b: {}, c: { ipv6: ['::/0'] } })
    assert.deepEqual(map.pids, ['a', 'b', 'c'])
  })

  test('PIDs are sorted by plain string order', () => {
    const map = NetworkMap.fromData('net', { b: {}, B: {}, a: {}, '10': {}, '9': {}, 'a-1': {} })
    assert.deepEqual(map.pids, ['10', '9', 'B', 'a', 'a-1', 'b'])
  })

  test('the input is not modified', () => {
    const data = { a: { ipv4: ['192.0.2.0/24', '10.0.0.0/8'] } }
    NetworkMap.fromData('net', data)
    assert.deepEqual(data, { a: { ipv4: ['192.0.2.0/24', '10.0.0.0/8'] } })
  })
})

describe('NetworkMap version tags', () => {
  const tagOf = (data: NetworkMapData) => NetworkMap.fromData('net', data).vtag

  test('equal content gives the same tag, whatever the order and spelling', () => {
    const a = tagOf({ x: { ipv4: ['10.0.0.0/8', '192.0.2.0/24'], ipv6: ['2001:db8::/32'] }, y: { ipv4: ['0.0.0.0/0'] } })
    const b = tagOf({ y: { ipv4: ['0.0.0.0/0'] }, x: { ipv6: ['2001:0DB8::/32'], ipv4: ['192.0.2.0/24', '10.0.0.0/8', '10.0.0.0/8'] } })
    assert.equal(a, b)
    assert.equal(tagOf(RFC_EXAMPLE), tagOf(structuredClone(RFC_EXAMPLE)))
  })

  test('any change gives a new tag', () => {
    const base = tagOf(RFC_EXAMPLE)
    const variants: NetworkMapData[] = [
      { ...RFC_EXAMPLE, PID4: {} }, // a new empty PID
      { ...RFC_EXAMPLE, PID2: { ipv4: ['198.51.100.128/26'] } }, // a prefix length
      { ...RFC_EXAMPLE, PID2: { ipv4: ['198.51.100.128/25', '203.0.113.0/24'] } }, // a prefix added
      { PID1: RFC_EXAMPLE.PID1!, PIDX: RFC_EXAMPLE.PID2!, PID3: RFC_EXAMPLE.PID3! }, // a PID renamed
      { PID1: { ipv4: ['192.0.2.0/24'] }, PID2: { ipv4: ['198.51.100.0/24'] }, PID3: RFC_EXAMPLE.PID3! }, // a prefix moved
      { ...RFC_EXAMPLE, PID3: { ipv4: ['0.0.0.0/0'] } }, // a family removed
    ]
    const tags = new Set([base, ...variants.map(tagOf)])
    assert.equal(tags.size, variants.length + 1)
  })

  test('the tag does not depend on the resource id', () => {
    assert.equal(NetworkMap.fromData('a', RFC_EXAMPLE).vtag, NetworkMap.fromData('b', RFC_EXAMPLE).vtag)
  })

  test('a given tag is used as is', () => {
    const map = NetworkMap.fromData('net', RFC_EXAMPLE, 'v1:2024-01-01')
    assert.equal(map.vtag, 'v1:2024-01-01')
    assert.deepEqual(map.toBody().meta, { vtag: { 'resource-id': 'net', tag: 'v1:2024-01-01' } })
  })

  test('an invalid given tag is refused', () => {
    for (const tag of ['', 'has space', 'x'.repeat(65), 'é']) {
      const error = refusal(RFC_EXAMPLE, tag)
      assert.match(error.message, /invalid version tag.*§10\.3/)
      assert.equal(error.pid, undefined)
    }
  })
})

describe('NetworkMap.filterBody (RFC 7285 §11.3.1)', () => {
  const map = NetworkMap.fromData('my-default-network-map', RFC_EXAMPLE)

  test('only the asked PIDs, in sorted order, each once, unknown ones ignored', () => {
    const body = map.filterBody(['PID3', 'PID1', 'PID3', 'nope'])
    assert.deepEqual(body, {
      meta: { vtag: { 'resource-id': 'my-default-network-map', tag: map.vtag } },
      'network-map': { PID1: RFC_EXAMPLE.PID1, PID3: RFC_EXAMPLE.PID3 },
    })
    assert.deepEqual(Object.keys(body['network-map']), ['PID1', 'PID3'])
  })

  test('an empty PID list means every PID', () => {
    assert.deepEqual(map.filterBody([]), map.toBody())
    assert.deepEqual(map.filterBody([], []), map.toBody())
  })

  test('only unknown PIDs gives an empty map', () => {
    assert.deepEqual(map.filterBody(['nope'])['network-map'], {})
  })

  test('address types restrict the families; PIDs left without prefixes stay, empty', () => {
    assert.deepEqual(map.filterBody([], ['ipv6'])['network-map'], { PID1: {}, PID2: {}, PID3: { ipv6: ['::/0'] } })
    assert.deepEqual(map.filterBody(['PID2', 'PID3'], ['ipv4'])['network-map'], {
      PID2: { ipv4: ['198.51.100.128/25'] },
      PID3: { ipv4: ['0.0.0.0/0'] },
    })
    assert.deepEqual(map.filterBody(['PID3'], ['ipv4', 'ipv6'])['network-map'], { PID3: RFC_EXAMPLE.PID3 })
  })
})

describe('NetworkMap.fromData refuses bad maps', () => {
  test('no PIDs', () => {
    const error = refusal({})
    assert.match(error.message, /no PIDs/)
    assert.equal(error.pid, undefined)
  })

  test('not an object', () => {
    for (const data of [null, [], 'PID1', 42]) assert.match(refusal(data).message, /must be an object/)
  })

  test('an invalid resource id', () => {
    assert.throws(() => NetworkMap.fromData('bad id', RFC_EXAMPLE), NetworkMapError)
    assert.throws(() => NetworkMap.fromData('', RFC_EXAMPLE), /invalid resource id/)
  })

  test('invalid PID names, with the rule', () => {
    for (const pid of ['', 'has.dot', 'has space', 'x'.repeat(65), 'ünï']) {
      const error = refusal({ ok: {}, [pid]: { ipv4: ['192.0.2.0/24'] } })
      assert.equal(error.pid, pid)
      assert.match(error.message, /invalid PID name/)
      assert.match(error.message, /1-64 characters of A-Za-z0-9-:@_/)
    }
    assert.doesNotThrow(() => NetworkMap.fromData('net', { ['x'.repeat(64)]: {}, 'a-b:c@d_e': {} }))
  })

  test('an address group that is not an object', () => {
    for (const group of [null, ['192.0.2.0/24'], '192.0.2.0/24']) {
      const error = refusal({ PID1: group })
      assert.equal(error.pid, 'PID1')
      assert.match(error.message, /address group must be an object/)
    }
  })

  test('an unknown address type', () => {
    const error = refusal({ PID1: { ipv4: ['192.0.2.0/24'], ipv5: ['1.2.3.4.5/8'] } })
    assert.equal(error.pid, 'PID1')
    assert.equal(error.family, undefined)
    assert.match(error.message, /unknown address type "ipv5" \(expected ipv4 or ipv6\)/)
    assert.match(refusal({ PID1: { IPv4: [] } }).message, /unknown address type "IPv4"/)
  })

  test('a prefix list that is not an array of strings', () => {
    const notArray = refusal({ PID1: { ipv6: '2001:db8::/32' } })
    assert.equal(notArray.pid, 'PID1')
    assert.equal(notArray.family, 'ipv6')
    assert.equal(notArray.index, undefined)
    assert.match(notArray.message, /array of strings/)

    const notString = refusal({ PID1: { ipv4: ['192.0.2.0/24', 42] } })
    assert.equal(notString.pid, 'PID1')
    assert.equal(notString.family, 'ipv4')
    assert.equal(notString.index, 1)
    assert.match(notString.message, /array of strings, found number 42/)
  })

  test('an invalid prefix carries the parser message and its place', () => {
    const error = refusal({ PID1: { ipv4: ['192.0.2.0/24'] }, PID2: { ipv4: ['10.0.0.0/8', '192.0.2.1/24'] } })
    assert.equal(error.pid, 'PID2')
    assert.equal(error.family, 'ipv4')
    assert.equal(error.index, 1)
    assert.equal(error.message, 'PID "PID2" ipv4[1]: 192.0.2.1/24 has host bits set; did you mean 192.0.2.0/24?')

    assert.match(refusal({ PID1: { ipv4: ['2001:db8::/32'] } }).message, /not a valid IPv4 prefix \(it looks like IPv6\)/)
    assert.match(refusal({ PID1: { ipv6: ['::/129'] } }).message, /from 0 to 128/)
  })

  test('the same prefix in two PIDs', () => {
    const error = refusal({ PID1: { ipv4: ['192.0.2.0/24'] }, PID2: { ipv4: ['10.0.0.0/8', '192.0.2.0/24'] } })
    assert.match(error.message, /prefix 192\.0\.2\.0\/24 is in both PID1 and PID2/)
    assert.equal(error.pid, 'PID2')
    assert.equal(error.family, 'ipv4')
    assert.equal(error.index, 1)
  })

  test('the same prefix in two PIDs, spelled differently', () => {
    const error = refusal({ b: { ipv6: ['2001:DB8::/32'] }, a: { ipv6: ['2001:0db8:0::/32'] } })
    assert.match(error.message, /prefix 2001:db8::\/32 is in both a and b/)
  })

  test('nested prefixes in different PIDs are fine', () => {
    assert.doesNotThrow(() => NetworkMap.fromData('net', { a: { ipv4: ['10.0.0.0/8'] }, b: { ipv4: ['10.0.0.0/9'] } }))
  })

  test('NetworkMapError is an Error with a name', () => {
    const error = refusal({})
    assert.ok(error instanceof Error)
    assert.equal(error.name, 'NetworkMapError')
  })
})

describe('NetworkMap at scale', () => {
  test('ten thousand PIDs of /24s resolve correctly', () => {
    const data: NetworkMapData = {}
    for (let i = 0; i < 10_000; i++) data[`p${i}`] = { ipv4: [`10.${i >>> 8}.${i & 255}.0/24`] }
    const map = NetworkMap.fromData('net', data)
    for (const i of [0, 1, 255, 256, 4242, 9999]) {
      assert.equal(pidOf(map, `ipv4:10.${i >>> 8}.${i & 255}.77`), `p${i}`)
    }
    assert.equal(pidOf(map, 'ipv4:10.39.16.1'), undefined) // 10000 = 39 * 256 + 16
    assert.equal(map.pids.length, 10_000)
  })
})

/** The binary form of a NetworkMapData: what a libloc database or a routing table gives. */
function prefixSetOf(data: NetworkMapData, order: 'as-given' | 'reversed' = 'as-given'): PrefixSet {
  const pids = Object.keys(data)
  if (order === 'reversed') pids.reverse()
  const columns = { ipv4: { bytes: [] as number[], lengths: [] as number[], pids: [] as number[] }, ipv6: { bytes: [] as number[], lengths: [] as number[], pids: [] as number[] } }
  pids.forEach((pid, index) => {
    for (const family of ['ipv4', 'ipv6'] as const) {
      for (const text of data[pid]![family] ?? []) {
        const prefix = parsePrefix(family, text)
        assert.ok(!('error' in prefix), text)
        columns[family].bytes.push(...prefix.bytes)
        columns[family].lengths.push(prefix.length)
        columns[family].pids.push(index)
      }
    }
  })
  const typed = (c: { bytes: number[]; lengths: number[]; pids: number[] }) => ({ bytes: Uint8Array.from(c.bytes), lengths: Uint8Array.from(c.lengths), pids: Uint32Array.from(c.pids) })
  return { pids, ipv4: typed(columns.ipv4), ipv6: typed(columns.ipv6) }
}

describe('NetworkMap.fromPrefixes: the binary fast path', () => {
  const NESTED: NetworkMapData = {
    outer: { ipv4: ['10.0.0.0/8', '192.0.2.0/24'], ipv6: ['2001:db8::/32'] },
    inner: { ipv4: ['10.1.0.0/16', '10.1.2.3/32'], ipv6: ['2001:db8:1::/48'] },
    '10': { ipv4: ['10.1.2.0/24'] },
    '9': {},
    rest: { ipv4: ['0.0.0.0/0'], ipv6: ['::/0'] },
  }

  test('the same map as fromData: PIDs, lookups, prefixes, body and version tag', () => {
    for (const data of [RFC_EXAMPLE, NESTED]) {
      const text = NetworkMap.fromData('net', data)
      for (const order of ['as-given', 'reversed'] as const) {
        const binary = NetworkMap.fromPrefixes('net', prefixSetOf(data, order))
        assert.deepEqual(binary.pids, text.pids)
        assert.equal(binary.vtag, text.vtag)
        assert.deepEqual(binary.toBody(), text.toBody())
        assert.deepEqual(binary.filterBody(['inner', 'PID2'], ['ipv6']), text.filterBody(['inner', 'PID2'], ['ipv6']))
        assert.deepEqual(binary.prefixCounts, text.prefixCounts)
        for (const address of ['ipv4:10.1.2.3', 'ipv4:10.1.2.4', 'ipv4:10.1.3.1', 'ipv4:10.200.0.1', 'ipv4:192.0.2.9', 'ipv4:198.51.100.200', 'ipv6:2001:db8:1::9', 'ipv6:2001:db8:2::1', 'ipv6:fe80::1']) {
          assert.equal(pidOf(binary, address), pidOf(text, address), address)
        }
        assert.equal(binary.coversEverything, text.coversEverything)
      }
    }
  })

  test('a prefix given twice in one PID is kept once; host bits are ignored', () => {
    const set = prefixSetOf({ a: { ipv4: ['10.0.0.0/8', '10.0.0.0/8'] } })
    const withHostBits: PrefixSet = { pids: ['a'], ipv4: { bytes: Uint8Array.of(10, 1, 2, 3), lengths: Uint8Array.of(8), pids: Uint32Array.of(0) } }
    assert.deepEqual(NetworkMap.fromPrefixes('net', set).prefixesOf('a'), { ipv4: ['10.0.0.0/8'] })
    assert.deepEqual(NetworkMap.fromPrefixes('net', withHostBits).prefixesOf('a'), { ipv4: ['10.0.0.0/8'] })
    assert.equal(NetworkMap.fromPrefixes('net', set).vtag, NetworkMap.fromPrefixes('net', withHostBits).vtag)
  })

  test('refuses what fromData refuses, and columns that disagree', () => {
    const refused = (set: PrefixSet, tag?: string): NetworkMapError => {
      try {
        NetworkMap.fromPrefixes('net', set, tag)
      } catch (error) {
        assert.ok(error instanceof NetworkMapError, String(error))
        return error
      }
      assert.fail('accepted')
    }
    const twice = refused(prefixSetOf({ a: { ipv4: ['10.0.0.0/8'] }, b: { ipv4: ['10.1.0.0/16', '10.0.0.0/8'] } }))
    assert.match(twice.message, /PID "b" ipv4\[2\]: prefix 10\.0\.0\.0\/8 is in both a and b/)
    assert.deepEqual([twice.pid, twice.family, twice.index], ['b', 'ipv4', 2])
    assert.match(refused({ pids: [] }).message, /no PIDs/)
    assert.match(refused({ pids: ['a.b'] }).message, /invalid PID name "a\.b"/)
    assert.match(refused({ pids: ['a', 'a'] }).message, /PID "a": the PID is named twice/)
    assert.match(refused({ pids: ['a'] }, 'has space').message, /invalid version tag/)
    const one = (bytes: number[], length: number, pid: number): PrefixSet => ({ pids: ['a'], ipv4: { bytes: Uint8Array.from(bytes), lengths: Uint8Array.of(length), pids: Uint32Array.of(pid) } })
    assert.match(refused(one([10, 0, 0], 8, 0)).message, /ipv4 columns disagree: 1 lengths, 1 PIDs and 3 bytes/)
    assert.match(refused(one([10, 0, 0, 0], 8, 1)).message, /ipv4 prefix 0 names PID 1, but there are 1 PIDs/)
    assert.match(refused(one([10, 0, 0, 0], 33, 0)).message, /ipv4 prefix 0 has length 33, more than 32/)
  })

  test('toBodyParts is the text of toBody, PIDs named by digits first', () => {
    for (const data of [RFC_EXAMPLE, NESTED, { lone: {} }, { '0': { ipv6: ['::/0'] }, '007': {}, '4294967295': {}, '4294967294': {} }]) {
      for (const map of [NetworkMap.fromData('net', data), NetworkMap.fromPrefixes('net', prefixSetOf(data), 'v1')]) {
        assert.equal([...map.toBodyParts()].join(''), JSON.stringify(map.toBody()))
      }
    }
  })
})
