/**
 * @module provisioning/live
 * A network fed live from BGP (seed 000 §4.4.1: prefixes tagged by community with their area,
 * from a router): the speaker's routes, through the rules, become the prefixes of one network map;
 * every debounced change builds a complete new snapshot. A snapshot that fails to build (say a
 * cost map naming a PID the routes no longer give) is reported and the previous one keeps serving.
 */
import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import type { NetworkMapData } from '../protocol/types.ts'
import { BgpSpeaker } from './bgp/speaker.ts'
import type { Route } from './route.ts'
import { buildNetworkMapData } from './rules.ts'
import { buildSnapshot, type Snapshot } from './snapshot.ts'
import type { AltoConfig, BgpSourceSpec, NetworkSpec } from './spec.ts'

export interface LiveNetworkEvents {
  /** A new snapshot built from the current routes. */
  snapshot: [Snapshot, { routes: number; prefixes: number }]
  /** The routes changed but no valid snapshot could be built; the previous one still serves. */
  rejected: [Error]
}

export class LiveNetwork extends EventEmitter<LiveNetworkEvents> {
  readonly speaker: BgpSpeaker
  #config: AltoConfig
  #routes: Route[] = []

  constructor(config: AltoConfig & { bgp: BgpSourceSpec }, logger?: Logger) {
    super()
    this.#config = config
    const bgp = config.bgp
    this.speaker = new BgpSpeaker({
      listen: bgp.listen,
      localAs: bgp.localAs,
      routerId: bgp.routerId,
      neighbors: bgp.neighbors,
      ...(bgp.holdTimeS !== undefined ? { holdTimeS: bgp.holdTimeS } : {}),
      ...(bgp.debounceMs !== undefined ? { debounceMs: bgp.debounceMs } : {}),
      ...(logger ? { logger } : {}),
    })
    this.speaker.on('change', (routes) => {
      this.#routes = routes
      this.#rebuild()
    })
  }

  /** Start listening for the routers; resolves with the address the speaker listens on. */
  listen(): Promise<{ host: string; port: number }> {
    return this.speaker.listen()
  }

  /** The snapshot of the current config with the current routes. Throws when it does not build. */
  snapshot(): Snapshot {
    return buildSnapshot(networkWithRoutes(this.#config, this.#routes))
  }

  /** A reloaded config (SIGHUP, file change): same routes, new everything else. */
  setConfig(config: AltoConfig): void {
    if (config.bgp) this.#config = config
    this.#rebuild()
  }

  close(): Promise<void> {
    return this.speaker.close()
  }

  #rebuild(): void {
    try {
      const snapshot = this.snapshot()
      const map = snapshot.networkMaps.get(this.#config.bgp!.networkMap)!
      let prefixes = 0
      for (const pid of map.pids) for (const list of Object.values(map.prefixesOf(pid))) prefixes += list?.length ?? 0
      this.emit('snapshot', snapshot, { routes: this.#routes.length, prefixes })
    } catch (error) {
      this.emit('rejected', error instanceof Error ? error : new Error(String(error)))
    }
  }
}

/**
 * The config's network with the BGP-fed map's prefixes taken from the routes. Before any route
 * arrives the configured PIDs serve. Every PID the rules can give is listed (maybe without
 * prefixes), so cost maps naming them stay valid while routes come and go.
 */
export function networkWithRoutes(config: AltoConfig, routes: readonly Route[]): NetworkSpec {
  const bgp = config.bgp
  if (!bgp || routes.length === 0) return config.network
  const { data } = buildNetworkMapData(routes, bgp.rules)
  const pids: NetworkMapData = {}
  for (const rule of bgp.rules.rules) pids[rule.pid] = {}
  if (bgp.rules.defaultPid !== undefined) pids[bgp.rules.defaultPid] = {}
  Object.assign(pids, data)
  return {
    ...config.network,
    networkMaps: config.network.networkMaps.map((m) => (m.id === bgp.networkMap ? { id: m.id, pids, path: m.path ?? ['bgp', 'network-map'] } : m)),
  }
}
