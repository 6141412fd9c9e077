/**
 * @module bench/server/synthetic-network
 * A large synthetic network written as files the real server loads: a YAML config with `pids`
 * PIDs (three IPv4 /24s and one IPv6 /48 each) and an RFC 7285 numerical `routingcost` cost map
 * file with a cost for every ordered pair, drawn from a seeded RNG so that every run serves the
 * same bytes. Costs are RTT-like milliseconds with one decimal (0.5 for a PID to itself).
 */
import { closeSync, mkdtempSync, openSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { seededRng } from '../../src/cost/rank.ts'

export interface SyntheticNetwork {
  dir: string
  config: string
  pids: string[]
  /** Bytes of the cost map file. */
  costFileBytes: number
}

export const NETWORK_MAP_ID = 'bench-network-map'

export function pidName(i: number): string {
  return `pid-${String(i).padStart(4, '0')}`
}

/** Write the network into a new temporary folder (the caller removes it). */
export function writeSyntheticNetwork(pidCount: number, seed = 1): SyntheticNetwork {
  if (pidCount > 20_000) throw new RangeError('at most 20,000 PIDs (three /24s each must fit in 10.0.0.0/8)')
  const dir = mkdtempSync(join(tmpdir(), 'alto-costmap-bench-'))
  const pids = Array.from({ length: pidCount }, (_, i) => pidName(i))

  const lines = [
    'server:',
    '  host: 127.0.0.1',
    // Per-request access logs would measure stderr, and the default rate limit (1000/s per
    // address) would answer most of a loopback benchmark with 429.
    '  log-level: warn',
    '  limits:',
    '    rate-limit: { max: 0, window-ms: 1000 }',
    'network-maps:',
    `  - id: ${NETWORK_MAP_ID}`,
    '    pids:',
  ]
  pids.forEach((pid, i) => {
    const v4 = [0, 1, 2].map((k) => {
      const j = i * 3 + k
      return `10.${j >> 8}.${j & 255}.0/24`
    })
    lines.push(`      ${pid}:`, `        ipv4: [${v4.join(', ')}]`, `        ipv6: ["2001:db8:${i.toString(16)}::/48"]`)
  })
  lines.push('cost-maps:', '  - file: routingcost.json', '')
  const config = join(dir, 'alto.yaml')
  writeFileSync(config, lines.join('\n'))

  // The cost map file row by row: at 2,000 PIDs it is ~70 MB.
  const rng = seededRng(seed)
  const fd = openSync(join(dir, 'routingcost.json'), 'w')
  let bytes = 0
  const write = (text: string) => {
    bytes += writeSync(fd, text)
  }
  try {
    write(`{"meta":{"dependent-vtags":[{"resource-id":"${NETWORK_MAP_ID}","tag":"unused"}],"cost-type":{"cost-mode":"numerical","cost-metric":"routingcost"}},"cost-map":{`)
    pids.forEach((src, s) => {
      const row = pids.map((dst, d) => `"${dst}":${s === d ? 0.5 : Math.round(1 + rng() * 3000) / 10}`)
      write(`${s === 0 ? '' : ','}"${src}":{${row.join(',')}}`)
    })
    write('}}\n')
  } finally {
    closeSync(fd)
  }
  return { dir, config, pids, costFileBytes: bytes }
}
