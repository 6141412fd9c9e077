import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadConfigText } from '../../src/provisioning/config.ts'
import { DEFAULT_NETWORK_MAP_ID, defaultNetworkSpec, defaultNetworkYaml } from '../../src/provisioning/default-network.ts'
import type { CostMapSpec } from '../../src/provisioning/spec.ts'

const REGIONS = [
  'warszawa', 'krakow', 'gdansk', 'wroclaw', 'poznan', 'lodz', 'katowice',
  'szczecin', 'lublin', 'bialystok', 'bydgoszcz', 'rzeszow', 'olsztyn', 'kielce',
].map((city) => `region-${city}`)
const PIDS = [...REGIONS, 'peering', 'transit', 'default']

function costMap(metric: string): CostMapSpec {
  const map = defaultNetworkSpec().costMaps.find((c) => c.metric === metric)
  assert.ok(map, `a ${metric} cost map`)
  return map
}

function cost(map: CostMapSpec, src: string, dst: string): number {
  const value = map.costs[src]?.[dst]
  assert.equal(typeof value, 'number', `${map.metric} ${src} -> ${dst}`)
  return value as number
}

function ipv4ToInt(address: string): number {
  return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0)
}

function ipv4Contains(outer: string, inner: string): boolean {
  const [outerAddress = '', outerLength = '0'] = outer.split('/')
  const [innerAddress = '', innerLength = '0'] = inner.split('/')
  if (Number(innerLength) < Number(outerLength)) return false
  const size = 2 ** (32 - Number(outerLength))
  return Math.floor(ipv4ToInt(innerAddress) / size) === Math.floor(ipv4ToInt(outerAddress) / size)
}

test('the default network map has the 14 regions, peering, transit and default', () => {
  const { networkMaps } = defaultNetworkSpec()
  assert.equal(networkMaps.length, 1)
  const [map] = networkMaps
  assert.equal(map?.id, DEFAULT_NETWORK_MAP_ID)
  assert.equal(map?.id, 'default-network-map')
  assert.deepEqual(Object.keys(map?.pids ?? {}), PIDS)
  for (const pid of REGIONS) {
    const entry = map?.pids[pid]
    assert.ok((entry?.ipv4?.length ?? 0) >= 3, `${pid} has several IPv4 prefixes`)
    assert.ok((entry?.ipv6?.length ?? 0) >= 1, `${pid} has an IPv6 prefix`)
    for (const prefix of entry?.ipv4 ?? []) assert.ok(ipv4Contains('10.0.0.0/8', prefix) || ipv4Contains('100.64.0.0/10', prefix), `${pid} ${prefix}`)
    for (const prefix of entry?.ipv6 ?? []) assert.match(prefix, /^2001:db8:[0-9a-f]{1,4}::\/4[0-8]$/, `${pid} ${prefix}`)
  }
  assert.deepEqual(map?.pids.peering, { ipv4: ['192.0.2.0/24'], ipv6: ['2001:db8:ff00::/40'] })
  assert.deepEqual(map?.pids.transit, { ipv4: ['198.51.100.0/24', '203.0.113.0/24'], ipv6: ['2001:db8:fe00::/40'] })
  assert.deepEqual(map?.pids.default, { ipv4: ['0.0.0.0/0'], ipv6: ['::/0'] })
})

test('no prefix is in two PIDs, and some more-specific prefixes make longest match matter', () => {
  const pids = defaultNetworkSpec().networkMaps[0]?.pids ?? {}
  const owner = new Map<string, string>()
  for (const [pid, entry] of Object.entries(pids)) {
    for (const prefix of [...(entry.ipv4 ?? []), ...(entry.ipv6 ?? [])]) {
      assert.equal(owner.get(prefix), undefined, `${prefix} in ${pid} and ${owner.get(prefix)}`)
      owner.set(prefix, pid)
    }
  }
  const regional = [...owner].filter(([prefix, pid]) => pid.startsWith('region-') && !prefix.includes(':'))
  const nested = regional.filter(([inner, innerPid]) => regional.some(([outer, outerPid]) => outerPid !== innerPid && outer !== inner && ipv4Contains(outer, inner)))
  assert.ok(nested.length >= 3, `more-specifics inside another region's block: ${nested.map(([p]) => p).join(', ')}`)
  assert.equal(owner.get('10.16.128.0/20'), 'region-lodz')
  assert.equal(owner.get('10.16.0.0/12'), 'region-warszawa')
})

test('both cost maps have numerical and ordinal names and a cost for every PID pair', () => {
  const { costMaps } = defaultNetworkSpec()
  assert.deepEqual(
    costMaps.map((c) => [c.metric, c.name, c.ordinal, c.ordinalName, c.networkMap]),
    [
      ['routingcost', 'num-routingcost', true, 'ord-routingcost', DEFAULT_NETWORK_MAP_ID],
      ['hopcount', 'num-hopcount', true, 'ord-hopcount', DEFAULT_NETWORK_MAP_ID],
    ],
  )
  for (const map of costMaps) {
    assert.deepEqual(Object.keys(map.costs), PIDS)
    for (const src of PIDS) {
      assert.deepEqual(Object.keys(map.costs[src] ?? {}), PIDS)
      for (const dst of PIDS) {
        const value = cost(map, src, dst)
        assert.ok(Number.isFinite(value) && value >= 0, `${map.metric} ${src} -> ${dst} = ${value}`)
        assert.equal(value, cost(map, dst, src), `${map.metric} is symmetric for ${src}, ${dst}`)
      }
    }
  }
})

test('routingcost is the RTT derived from the distance between the cities', () => {
  const rtt = costMap('routingcost')
  assert.equal(cost(rtt, 'region-warszawa', 'region-warszawa'), 0.5)
  // Warszawa-Kraków is about 252 km: 2 * 252 * 1.4 / 200 + 1 = 4.5 ms.
  assert.equal(cost(rtt, 'region-warszawa', 'region-krakow'), 4.5)
  assert.ok(cost(rtt, 'region-warszawa', 'region-lodz') < cost(rtt, 'region-warszawa', 'region-szczecin'))
  assert.ok(cost(rtt, 'region-krakow', 'region-katowice') < cost(rtt, 'region-krakow', 'region-gdansk'))
  // Szczecin-Rzeszów is the longest domestic path.
  const domestic = REGIONS.flatMap((a) => REGIONS.map((b) => cost(rtt, a, b)))
  assert.equal(Math.max(...domestic), cost(rtt, 'region-szczecin', 'region-rzeszow'))
  for (const region of REGIONS) {
    const toWarsaw = cost(rtt, region, 'region-warszawa')
    assert.equal(cost(rtt, region, 'peering'), Math.round((toWarsaw + 1) * 10) / 10)
    assert.equal(cost(rtt, region, 'transit'), Math.round((toWarsaw + 15) * 10) / 10)
    assert.equal(cost(rtt, region, 'default'), Math.round((toWarsaw + 40) * 10) / 10)
  }
  // Every value is a multiple of 0.1.
  for (const src of PIDS) for (const dst of PIDS) assert.equal(Math.round(cost(rtt, src, dst) * 10) / 10, cost(rtt, src, dst))
})

test('hopcount follows the two-level core topology', () => {
  const hops = costMap('hopcount')
  assert.equal(cost(hops, 'region-lodz', 'region-lodz'), 1)
  assert.equal(cost(hops, 'region-warszawa', 'region-lodz'), 2) // Łódź hangs off Warszawa
  assert.equal(cost(hops, 'region-krakow', 'region-katowice'), 2) // Katowice hangs off Kraków
  assert.equal(cost(hops, 'region-warszawa', 'region-krakow'), 3) // across the core mesh
  assert.equal(cost(hops, 'region-szczecin', 'region-rzeszow'), 3)
  assert.equal(cost(hops, 'region-warszawa', 'peering'), 2)
  assert.equal(cost(hops, 'region-gdansk', 'transit'), 4)
  for (const src of PIDS) for (const dst of PIDS) assert.ok([1, 2, 3, 4].includes(cost(hops, src, dst)), `${src} -> ${dst}`)
})

test('the default network as YAML loads back to the same spec', () => {
  const yaml = defaultNetworkYaml()
  assert.match(yaml, /^# /, 'starts with a comment')
  const config = loadConfigText(yaml, { file: 'alto.yaml', baseDir: '.' })
  assert.deepEqual(config.network, defaultNetworkSpec())
  assert.deepEqual(config.server, { host: '127.0.0.1', port: 8181, logLevel: 'info' })
})

test('defaultNetworkSpec returns a fresh copy each time', () => {
  const a = defaultNetworkSpec()
  const region = a.networkMaps[0]?.pids['region-warszawa']
  region?.ipv4?.push('10.255.0.0/16')
  assert.equal(defaultNetworkSpec().networkMaps[0]?.pids['region-warszawa']?.ipv4?.includes('10.255.0.0/16'), false)
})
