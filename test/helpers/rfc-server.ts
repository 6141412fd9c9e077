/**
 * Test helpers: the RFC 7285 §11 example network as a snapshot, and a server on it.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { buildSnapshot, type Snapshot } from '../../src/provisioning/snapshot.ts'
import type { NetworkSpec } from '../../src/provisioning/spec.ts'
import { createAltoServer, type AltoServer, type AltoServerOptions } from '../../src/server/app.ts'
import type { ServerOptions } from '../../src/server/options.ts'

export function fixture<T = any>(name: string): T {
  return JSON.parse(readFileSync(fixturePath(name), 'utf8')) as T
}

export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))
}

/** The RFC's example maps, plus the priv:ietf-example-prop property of its EPS example. */
export function rfcSpec(): NetworkSpec {
  const networkMap = fixture('rfc7285/network-map.json')
  const costMap = fixture('rfc7285/cost-map.json')
  return {
    networkMaps: [{ id: networkMap.meta.vtag['resource-id'], vtag: networkMap.meta.vtag.tag, pids: networkMap['network-map'] }],
    costMaps: [{ networkMap: 'my-default-network-map', metric: 'routingcost', costs: costMap['cost-map'] }],
    properties: [{ name: 'priv:ietf-example-prop', prefixes: { '192.0.2.34/32': '1' } }],
  }
}

export function rfcSnapshot(): Snapshot {
  return buildSnapshot(rfcSpec())
}

/** A server on the RFC network (not listening: use `.app.inject`), logging nothing. */
export function rfcServer(options: AltoServerOptions = {}, snapshot: Snapshot = rfcSnapshot()): AltoServer {
  return createAltoServer(snapshot, { logger: pino({ level: 'silent' }), ...options })
}

export { MediaType as MT } from '../../src/protocol/media-types.ts'
