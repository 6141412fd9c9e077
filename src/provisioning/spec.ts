/**
 * @module provisioning/spec
 * The description of what a server serves, independent of where it came from (YAML config, RFC
 * 7285 JSON files, the embedded default network). `buildSnapshot` turns it into a served snapshot.
 * Errors found while building carry a `path` into this structure, so that the config loader can
 * name the file and line the offending value came from.
 */
import type { CostMapData, NetworkMapData } from '../protocol/types.ts'
import type { PrefixSet } from '../netmap/network-map.ts'
import type { RuleSet } from './rules.ts'

/** A location in a spec, e.g. `['network-maps', 0, 'pids', 'PID1', 'ipv4', 2]`. */
export type SpecPath = readonly (string | number)[]

/** An error in a spec, located by path. */
export class SpecError extends Error {
  readonly path: SpecPath
  constructor(path: SpecPath, message: string) {
    super(message)
    this.name = 'SpecError'
    this.path = path
  }
}

export interface NetworkMapSpec {
  /** Resource id of the network map (RFC 7285 §10.2). */
  id: string
  /** Version tag; when absent, a digest of the content is used. */
  vtag?: string
  /**
   * PID -> address type -> prefixes, as in the RFC's `network-map` member. With `prefixes`, every
   * PID of the map with no prefixes here (`{}`): the names, for cost maps and properties to check.
   */
  pids: NetworkMapData
  /**
   * The prefixes in binary form (a libloc database, docs/libloc.md): when given, the map is built
   * from these alone (`NetworkMap.fromPrefixes`), without text to parse or format.
   */
  prefixes?: PrefixSet
  /** Where `pids` starts in the spec, for error paths (default `['network-maps', i, 'pids']`). */
  path?: SpecPath
}

export interface CostMapSpec {
  /** Resource id of the network map the costs are between. */
  networkMap: string
  /** RFC 7285 §6.1.1 cost metric, e.g. `routingcost`. */
  metric: string
  /** IRD cost type name of the numerical variant (default `num-<metric>`). */
  name?: string
  /** Also publish an ordinal variant ranked from the numbers (default true). */
  ordinal?: boolean
  /** IRD cost type name of the ordinal variant (default `ord-<metric>`). */
  ordinalName?: string
  description?: string
  /** Cost of a PID to itself when `costs` does not give it. */
  intraPid?: number
  /** Cost of every pair `costs` does not give. */
  default?: number
  /** src PID -> dst PID -> cost. Empty when the costs come from a `source`. */
  costs: CostMapData
  /** Costs computed from operator data instead of given (seed 000 §4.2.1 resource pools). */
  source?: MetricSource
  /** Where `costs` starts in the spec, for error paths (default `['cost-maps', i, 'costs']`). */
  path?: SpecPath
}

/**
 * Operator data a cost map is computed from:
 * - `distance`: great-circle km between PID coordinates ([latitude, longitude]);
 * - `link-class`: monetary cost by the class of link traffic leaves by (internal, peering, transit);
 * - `combine`: a weighted sum of other numerical cost maps of the same network map (the seed's
 *   "ALTO rating"), each normalized, times `scale`.
 */
export type MetricSource =
  | { kind: 'distance'; coordinates: Record<string, [number, number]> }
  | { kind: 'link-class'; classes: Record<string, 'internal' | 'peering' | 'transit'>; defaultClass: 'internal' | 'peering' | 'transit'; prices: Record<'internal' | 'peering' | 'transit', number> }
  | { kind: 'combine'; inputs: { metric: string; weight: number; normalize: 'none' | 'max' | 'minmax' }[]; scale: number }

export interface PropertySpec {
  /** Property name, e.g. `priv:region` (RFC 7285 §10.8). */
  name: string
  /** Prefix (`192.0.2.0/24`, `2001:db8::/32`) -> value; longest match wins. */
  prefixes?: Record<string, string>
  /** Values by PID of a network map, used when no prefix above matches. */
  pids?: { networkMap: string; values: Record<string, string> }
  path?: SpecPath
}

export interface NetworkSpec {
  networkMaps: NetworkMapSpec[]
  costMaps: CostMapSpec[]
  properties: PropertySpec[]
}

/** The `server:` section of a config file, camel-cased. Every field optional; the server fills defaults. */
export interface ServerConfig {
  host?: string
  port?: number
  publicUrl?: string
  /** PEM contents (not paths: the loader reads the files). */
  tls?: { cert: string; key: string }
  auth?: { realm?: string; users: { name: string; passwordHash: string }[] }
  access?: { allow: string[] }
  limits?: {
    bodyBytes?: number
    headerTimeoutMs?: number
    requestTimeoutMs?: number
    rateLimit?: { max: number; windowMs: number }
    overload?: { maxEventLoopDelayMs?: number; maxInFlight?: number; retryAfterS?: number }
  }
  admin?: { host?: string; port: number }
  /** Attestations for redistribution (docs/redistribution.md): key file contents, read by the loader. */
  signing?: { key: string; previousKeys?: string[]; lifetimeS?: number }
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** Processes serving the port (node:cluster); `auto` = one per available core. @default 1 */
  workers?: number | 'auto'
  /** Bytes of POST answers kept for repeated requests, per process (server/answer-cache.ts); 0 = none. @default 16 MiB */
  answerCacheBytes?: number
}

/** A whole config file: how to listen and what to serve. */
export interface AltoConfig {
  server: ServerConfig
  network: NetworkSpec
  /** A live BGP feed for one of the network maps. */
  bgp?: BgpSourceSpec
}

/**
 * A live BGP feed (docs/bgp.md): the speaker's routes, turned into PIDs by `rules`, replace the
 * prefixes of network map `networkMap` on every (debounced) change.
 */
export interface BgpSourceSpec {
  listen: { host: string; port: number }
  localAs: number
  routerId: string
  neighbors: { address: string; peerAs: number; passive?: boolean; port?: number }[]
  holdTimeS?: number
  debounceMs?: number
  /** Resource id of the network map the routes feed; its configured PIDs serve until routes arrive. */
  networkMap: string
  rules: RuleSet
}
