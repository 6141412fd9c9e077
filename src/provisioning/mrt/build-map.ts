/**
 * @module provisioning/mrt/build-map
 * MRT files in, an RFC 7285 network map out: every route read (RIB entries and announcements, with
 * withdrawals applied in order) goes through the rules (rules.ts), the resulting prefixes are
 * aggregated per PID, and the map is validated and tagged by {@link NetworkMap.fromData}. This is
 * what `alto build-map` runs.
 */
import { parseAddress } from '../../netmap/address.ts'
import { NetworkMap } from '../../netmap/network-map.ts'
import { MapBuilder, ORIGIN_AS_RULES, type BuildSummary, type RuleSet } from '../rules.ts'
import { MrtReader, zeroCounts, type MrtSource, type MrtStats, type MrtWarning } from './reader.ts'

export interface BuildMapOptions {
  /** @default {@link ORIGIN_AS_RULES}: one PID `as<N>` per origin AS, the rest in `default` */
  rules?: RuleSet
  /**
   * Resource id of the map; defaults to the rules' `network-map`, then to `network-map`.
   * @example 'isp-network-map'
   */
  resourceId?: string
  /** Version tag; default: a digest of the content (NetworkMap.fromData). */
  vtag?: string
  /**
   * Only routes from these peers (addresses, as in the dump's peer table or BGP4MP header): a
   * collector's dump holds many peers' views, and a map is usually built from one router's.
   * @example ['192.0.2.1', '2001:db8::1']
   */
  peers?: readonly string[]
  /** Each problem found in the input; reading carries on. */
  onWarning?: (source: MrtSource, warning: MrtWarning) => void
  /** Called every few thousand routes and at the end of each source. */
  onProgress?: (progress: BuildProgress) => void
}

export interface BuildProgress {
  /** Index of the source being read. */
  source: number
  /** Bytes read from that source so far (compressed bytes for compressed input). */
  inputBytes: number
  /** Routes read from all sources so far. */
  entries: number
}

export interface BuildMapResult {
  map: NetworkMap
  summary: BuildSummary
  /** Reader counts, per source in order, and their sum. */
  input: { sources: MrtStats[]; total: MrtTotals }
}

/** Reader counts summed over several sources. */
export type MrtTotals = Omit<MrtStats, 'compression'>

const PROGRESS_EVERY = 4096

/**
 * Read every source in order and build the network map.
 * @throws the source's own error (a file that cannot be read), or NetworkMapError when no route
 * got a PID (an empty map) or the resource id is invalid
 */
export async function buildNetworkMapFromMrt(sources: readonly MrtSource[], options: BuildMapOptions = {}): Promise<BuildMapResult> {
  const rules = options.rules ?? ORIGIN_AS_RULES
  const builder = new MapBuilder(rules)
  const stats: MrtStats[] = []
  const peers = options.peers ? new Set(options.peers.map(canonicalAddress)) : undefined
  let entries = 0
  for (let i = 0; i < sources.length; i++) {
    const source = sources[i]!
    const onWarning = options.onWarning
    const reader = new MrtReader(source, onWarning ? { onWarning: (w) => onWarning(source, w) } : {})
    for await (const entry of reader) {
      if (peers && !peers.has(entry.peerAddress ?? '')) continue
      if (entry.kind === 'withdraw') builder.withdraw(entry.route)
      else builder.add(entry.route)
      if (++entries % PROGRESS_EVERY === 0) options.onProgress?.({ source: i, inputBytes: reader.stats.inputBytes, entries })
    }
    options.onProgress?.({ source: i, inputBytes: reader.stats.inputBytes, entries })
    stats.push({ ...reader.stats })
  }
  const { data, summary } = builder.build()
  const map = NetworkMap.fromData(options.resourceId ?? rules.networkMap ?? 'network-map', data, options.vtag)
  return { map, summary, input: { sources: stats, total: sumStats(stats) } }
}

/** Canonical text of an address (RFC 5952 for IPv6), to compare with the reader's; as given if invalid. */
function canonicalAddress(text: string): string {
  return parseAddress(text.includes(':') ? 'ipv6' : 'ipv4', text)?.text ?? text
}

function sumStats(list: readonly MrtStats[]): MrtTotals {
  const total: MrtTotals = zeroCounts()
  for (const s of list) {
    for (const key of Object.keys(total) as (keyof MrtTotals)[]) total[key] += s[key]
  }
  return total
}
