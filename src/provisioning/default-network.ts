/**
 * @module provisioning/default-network
 * The embedded default network: what `alto serve` serves with no options and what `alto init`
 * writes as an editable config file. It imitates the trial network of seed 000 §4.4.1 (Polish
 * Telecom, AS5617): customer prefixes tagged by BGP community with one of 14 areas of Poland, and a
 * matrix of RTTs between the areas. Every address is from documentation or shared address space
 * (RFC 1918, RFC 6598, RFC 5737, RFC 3849), so nothing real is claimed. Layout and formulas:
 * docs/config.md, "The default network".
 */
import type { CostMapData, NetworkMapData } from '../protocol/types.ts'
import type { CostMapSpec, NetworkMapSpec, NetworkSpec } from './spec.ts'

export const DEFAULT_NETWORK_MAP_ID = 'default-network-map'

interface Region {
  /** PID suffix: the city's name in ASCII. */
  name: string
  /** The city's name as written in Polish. */
  city: string
  lat: number
  lon: number
}

// The 14 areas, one per major city, in allocation order: region n (1-based) owns 10.<16n>.0.0/12,
// 10.<n>.0.0/16, 100.<64+4(n-1)>.0.0/14 and 2001:db8:<n in hex>00::/40. Coordinates are the city
// centres (WGS 84, degrees, rounded to 2 decimals); the costs below are computed from them.
const REGIONS: readonly Region[] = [
  { name: 'warszawa', city: 'Warszawa', lat: 52.23, lon: 21.01 },
  { name: 'krakow', city: 'Kraków', lat: 50.06, lon: 19.94 },
  { name: 'gdansk', city: 'Gdańsk', lat: 54.35, lon: 18.65 },
  { name: 'wroclaw', city: 'Wrocław', lat: 51.11, lon: 17.04 },
  { name: 'poznan', city: 'Poznań', lat: 52.41, lon: 16.93 },
  { name: 'lodz', city: 'Łódź', lat: 51.76, lon: 19.46 },
  { name: 'katowice', city: 'Katowice', lat: 50.26, lon: 19.02 },
  { name: 'szczecin', city: 'Szczecin', lat: 53.43, lon: 14.55 },
  { name: 'lublin', city: 'Lublin', lat: 51.25, lon: 22.57 },
  { name: 'bialystok', city: 'Białystok', lat: 53.13, lon: 23.17 },
  { name: 'bydgoszcz', city: 'Bydgoszcz', lat: 53.12, lon: 18.01 },
  { name: 'rzeszow', city: 'Rzeszów', lat: 50.04, lon: 22.0 },
  { name: 'olsztyn', city: 'Olsztyn', lat: 53.78, lon: 20.48 },
  { name: 'kielce', city: 'Kielce', lat: 50.87, lon: 20.63 },
]

/** Cities of the backbone's core routers, fully meshed; every region hangs off the nearest one. */
const CORE_CITIES: readonly string[] = ['warszawa', 'krakow', 'poznan', 'gdansk']

// More-specific prefixes carved out of another region's block (business customers homed in one
// city but numbered from a neighbour's pool), so that longest-prefix match decides the PID.
const CARVED: readonly { prefix: string; region: string; note: string }[] = [
  { prefix: '10.16.128.0/20', region: 'lodz', note: 'inside region-warszawa 10.16.0.0/12' },
  { prefix: '10.32.64.0/18', region: 'katowice', note: 'inside region-krakow 10.32.0.0/12' },
  { prefix: '10.48.200.0/22', region: 'bydgoszcz', note: 'inside region-gdansk 10.48.0.0/12' },
  { prefix: '10.80.10.0/24', region: 'szczecin', note: 'inside region-poznan 10.80.0.0/12' },
  { prefix: '2001:db8:180::/44', region: 'olsztyn', note: 'inside region-warszawa 2001:db8:100::/40' },
]

/**
 * PIDs outside the regions, all reached through Warsaw: `extraMs` is added to the RTT to Warsaw,
 * `extraHops` to the hop count to Warsaw.
 */
const EXTERNAL: readonly { pid: string; ipv4: string[]; ipv6: string[]; extraMs: number; extraHops: number; note: string }[] = [
  { pid: 'peering', ipv4: ['192.0.2.0/24'], ipv6: ['2001:db8:ff00::/40'], extraMs: 1, extraHops: 1, note: 'IXP in Warsaw' },
  { pid: 'transit', ipv4: ['198.51.100.0/24', '203.0.113.0/24'], ipv6: ['2001:db8:fe00::/40'], extraMs: 15, extraHops: 1, note: 'upstream transit providers' },
  { pid: 'default', ipv4: ['0.0.0.0/0'], ipv6: ['::/0'], extraMs: 40, extraHops: 1, note: 'everything else (the rest of the Internet)' },
]

const HUB = 'warszawa'
const INTRA_PID_RTT_MS = 0.5
const INTRA_PID_HOPS = 1
const EARTH_RADIUS_KM = 6371
const FIBRE_KM_PER_MS = 200
const FIBRE_PATH_STRETCH = 1.4
const EQUIPMENT_MS = 1

function regionPid(name: string): string {
  return `region-${name}`
}

function regionIndex(name: string): number {
  return REGIONS.findIndex((r) => r.name === name) + 1
}

function region(name: string): Region {
  const found = REGIONS.find((r) => r.name === name)
  if (!found) throw new Error(`no region ${name}`)
  return found
}

/** Great-circle distance by the haversine formula. */
function distanceKm(a: Region, b: Region): number {
  const rad = Math.PI / 180
  const dLat = (b.lat - a.lat) * rad
  const dLon = (b.lon - a.lon) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.sqrt(h))
}

function round1(x: number): number {
  return Math.round(x * 10) / 10
}

/** Round trip over fibre that runs 1.4 times the straight line, at 200 km/ms, plus 1 ms of equipment. */
function regionRttMs(a: string, b: string): number {
  if (a === b) return INTRA_PID_RTT_MS
  return round1((2 * distanceKm(region(a), region(b)) * FIBRE_PATH_STRETCH) / FIBRE_KM_PER_MS + EQUIPMENT_MS)
}

function nearestCore(name: string): string {
  let best = CORE_CITIES[0] ?? HUB
  for (const core of CORE_CITIES) {
    if (distanceKm(region(name), region(core)) < distanceKm(region(name), region(best))) best = core
  }
  return best
}

function regionHops(a: string, b: string): number {
  if (a === b) return INTRA_PID_HOPS
  return nearestCore(a) === nearestCore(b) ? 2 : 3
}

/**
 * Every PID as a region plus an extra cost: regions are themselves with nothing extra; external
 * PIDs sit behind Warsaw. The cost between two different PIDs is the cost between their regions
 * plus both extras; the cost of a PID to itself is the intra-region cost.
 */
function costMatrix(regionCost: (a: string, b: string) => number, extra: (e: (typeof EXTERNAL)[number]) => number): CostMapData {
  const nodes = [
    ...REGIONS.map((r) => ({ pid: regionPid(r.name), region: r.name, extra: 0 })),
    ...EXTERNAL.map((e) => ({ pid: e.pid, region: HUB, extra: extra(e) })),
  ]
  const costs: CostMapData = {}
  for (const src of nodes) {
    const row: Record<string, number> = {}
    for (const dst of nodes) {
      const base = regionCost(src.region, dst.region)
      row[dst.pid] = src.pid === dst.pid ? regionCost(src.region, src.region) : round1(base + src.extra + dst.extra)
    }
    costs[src.pid] = row
  }
  return costs
}

function networkMapData(): NetworkMapData {
  const pids: NetworkMapData = {}
  for (const r of REGIONS) {
    const n = regionIndex(r.name)
    const carved = CARVED.filter((c) => c.region === r.name).map((c) => c.prefix)
    pids[regionPid(r.name)] = {
      ipv4: [`10.${16 * n}.0.0/12`, `10.${n}.0.0/16`, `100.${64 + 4 * (n - 1)}.0.0/14`, ...carved.filter((p) => !p.includes(':'))],
      ipv6: [`2001:db8:${n.toString(16)}00::/40`, ...carved.filter((p) => p.includes(':'))],
    }
  }
  for (const e of EXTERNAL) pids[e.pid] = { ipv4: [...e.ipv4], ipv6: [...e.ipv6] }
  return pids
}

const ROUTINGCOST_DESCRIPTION = 'Round-trip time in ms between regions, from great-circle distance'
const HOPCOUNT_DESCRIPTION = 'Router hops over a four-city core (Warszawa, Kraków, Poznań, Gdańsk)'

/** The embedded default network as a spec (the same as loading {@link defaultNetworkYaml}). */
export function defaultNetworkSpec(): NetworkSpec {
  const networkMap: NetworkMapSpec = { id: DEFAULT_NETWORK_MAP_ID, pids: networkMapData(), path: ['network-maps', 0, 'pids'] }
  const routing: CostMapSpec = {
    networkMap: DEFAULT_NETWORK_MAP_ID,
    metric: 'routingcost',
    name: 'num-routingcost',
    ordinal: true,
    ordinalName: 'ord-routingcost',
    description: ROUTINGCOST_DESCRIPTION,
    costs: costMatrix(regionRttMs, (e) => e.extraMs),
    path: ['cost-maps', 0, 'costs'],
  }
  const hops: CostMapSpec = {
    networkMap: DEFAULT_NETWORK_MAP_ID,
    metric: 'hopcount',
    name: 'num-hopcount',
    ordinal: true,
    ordinalName: 'ord-hopcount',
    description: HOPCOUNT_DESCRIPTION,
    costs: costMatrix(regionHops, (e) => e.extraHops),
    path: ['cost-maps', 1, 'costs'],
  }
  return { networkMaps: [networkMap], costMaps: [routing, hops], properties: [] }
}

function quote(s: string): string {
  return JSON.stringify(s)
}

function yamlCostMap(spec: CostMapSpec, intro: readonly string[]): string[] {
  const lines = [
    ...intro.map((l) => `  # ${l}`),
    `  - network-map: ${spec.networkMap}`,
    `    cost-metric: ${spec.metric}`,
    `    name: ${spec.name ?? ''}`,
    `    ordinal: ${String(spec.ordinal ?? true)}`,
    `    ordinal-name: ${spec.ordinalName ?? ''}`,
    `    description: ${quote(spec.description ?? '')}`,
    '    costs:',
  ]
  for (const [src, row] of Object.entries(spec.costs)) {
    lines.push(`      ${src}:`)
    for (const [dst, cost] of Object.entries(row)) lines.push(`        ${dst}: ${cost}`)
  }
  return lines
}

/** The embedded default network as a commented config file (docs/config.md); `alto init` writes it. */
export function defaultNetworkYaml(): string {
  const spec = defaultNetworkSpec()
  const [networkMap] = spec.networkMaps
  const [routing, hops] = spec.costMaps
  if (!networkMap || !routing || !hops) throw new Error('default network spec is incomplete')
  const attached = CORE_CITIES.map((core) => `  ${core}: ${REGIONS.filter((r) => nearestCore(r.name) === core).map((r) => r.name).join(', ')}`)
  const lines = [
    '# ALTOkit config: the embedded default network (docs/config.md describes every key).',
    '# A national ISP after the Polish Telecom ALTO trial: customer prefixes grouped into 14 regions',
    '# (one per BGP-community area of Poland), an IXP, upstream transit and a catch-all PID.',
    '# All addresses are private, shared (CGNAT) or documentation space. Edit freely.',
    '',
    'server:',
    '  host: 127.0.0.1',
    '  port: 8181',
    '  log-level: info',
    '  # public-url: https://alto.example.net/',
    '  # tls: { cert: tls/server.crt, key: tls/server.key }',
    '  # access:',
    '  #   allow: [10.0.0.0/8, 100.64.0.0/10, 2001:db8::/32, 127.0.0.0/8, "::1/128"]',
    '',
    'network-maps:',
    `  - id: ${networkMap.id}`,
    '    pids:',
    '      # region n: customers 10.<16n>.0.0/12, infrastructure 10.<n>.0.0/16,',
    '      # CGNAT pool 100.<64+4(n-1)>.0.0/14, IPv6 2001:db8:<n in hex>00::/40',
  ]
  for (const r of REGIONS) {
    const entry = networkMap.pids[regionPid(r.name)] ?? {}
    const carved = CARVED.filter((c) => c.region === r.name)
    const comment = [`${r.city}, n=${regionIndex(r.name)}`, ...carved.map((c) => `${c.prefix} ${c.note}`)].join('; ')
    lines.push(`      ${regionPid(r.name)}: # ${comment}`)
    lines.push(`        ipv4: [${(entry.ipv4 ?? []).join(', ')}]`)
    lines.push(`        ipv6: [${(entry.ipv6 ?? []).map(quote).join(', ')}]`)
  }
  for (const e of EXTERNAL) {
    lines.push(`      ${e.pid}: # ${e.note}`)
    lines.push(`        ipv4: [${e.ipv4.join(', ')}]`)
    lines.push(`        ipv6: [${e.ipv6.map(quote).join(', ')}]`)
  }
  lines.push('', 'cost-maps:')
  lines.push(
    ...yamlCostMap(routing, [
      'RTT in ms: 2 * great-circle km * 1.4 (fibre path stretch) / 200 (km per ms) + 1 (equipment),',
      'rounded to 0.1; 0.5 within a region. peering, transit and default sit behind Warsaw:',
      'RTT to Warsaw + 1, + 15 and + 40 ms.',
    ]),
  )
  lines.push('')
  lines.push(
    ...yamlCostMap(hops, [
      'Hops: core routers in Warszawa, Kraków, Poznań and Gdańsk are fully meshed; each region hangs',
      'off its nearest core city:',
      ...attached,
      'Within a region 1, same core city 2, across the core 3; peering, transit, default: Warsaw + 1.',
    ]),
  )
  return `${lines.join('\n')}\n`
}
