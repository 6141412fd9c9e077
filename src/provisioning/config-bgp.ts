/**
 * @module provisioning/config-bgp
 * The `bgp:` section of a config file (docs/bgp.md): where the BGP speaker listens, its AS and
 * router id, the routers it accepts, and the rules file that turns routes into PIDs.
 */
import { isAbsolute, join } from 'node:path'
import type { BgpSourceSpec, NetworkMapSpec } from './spec.ts'
import { anyString, integer, list, mapping, need, resourceId, text, type Ctx } from './config-source.ts'
import { loadRulesFile } from './rules.ts'

const KEYS = ['listen', 'local-as', 'router-id', 'neighbors', 'hold-time', 'debounce-ms', 'network-map', 'rules']
const asNumber = integer(1, 4294967295)
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/

export function bgpSection(value: unknown, ctx: Ctx, maps: readonly NetworkMapSpec[]): BgpSourceSpec {
  const at = ['bgp']
  const o = mapping(value, at, ctx, KEYS)
  const listen = mapping(need(o, 'listen', at, ctx), [...at, 'listen'], ctx, ['host', 'port'])
  const routerId = text(need(o, 'router-id', at, ctx), [...at, 'router-id'], ctx)
  if (!IPV4.test(routerId)) ctx.src.fail([...at, 'router-id'], 'must be an IPv4 address (the BGP identifier, RFC 4271 §4.2)')
  const neighbors = list(need(o, 'neighbors', at, ctx), [...at, 'neighbors'], ctx).map((item, i) => {
    const p = [...at, 'neighbors', i]
    const n = mapping(item, p, ctx, ['address', 'peer-as', 'passive', 'port'])
    const neighbor: BgpSourceSpec['neighbors'][number] = {
      address: text(need(n, 'address', p, ctx), [...p, 'address'], ctx),
      peerAs: asNumber(need(n, 'peer-as', p, ctx), [...p, 'peer-as'], ctx),
    }
    if (n.passive !== undefined) neighbor.passive = n.passive === true
    if (n.port !== undefined) neighbor.port = integer(1, 65535)(n.port, [...p, 'port'], ctx)
    return neighbor
  })
  if (neighbors.length === 0) ctx.src.fail([...at, 'neighbors'], 'must list at least one router')
  const networkMap = resourceId(need(o, 'network-map', at, ctx), [...at, 'network-map'], ctx)
  if (!maps.some((m) => m.id === networkMap)) {
    ctx.src.fail([...at, 'network-map'], `names no network map of network-maps (${maps.map((m) => m.id).join(', ')}): give it there, with the PIDs that serve until routes arrive`)
  }
  const rulesName = anyString(need(o, 'rules', at, ctx), [...at, 'rules'], ctx)
  const rulesFile = isAbsolute(rulesName) ? rulesName : join(ctx.baseDir, rulesName)
  ctx.read?.push(rulesFile)
  const spec: BgpSourceSpec = {
    listen: { host: listen.host === undefined ? '127.0.0.1' : text(listen.host, [...at, 'listen', 'host'], ctx), port: integer(0, 65535)(need(listen, 'port', [...at, 'listen'], ctx), [...at, 'listen', 'port'], ctx) },
    localAs: asNumber(need(o, 'local-as', at, ctx), [...at, 'local-as'], ctx),
    routerId,
    neighbors,
    networkMap,
    rules: loadRulesFile(rulesFile),
  }
  if (o['hold-time'] !== undefined) {
    const hold = integer(0, 65535)(o['hold-time'], [...at, 'hold-time'], ctx)
    if (hold > 0 && hold < 3) ctx.src.fail([...at, 'hold-time'], 'must be 0 or at least 3 seconds (RFC 4271 §4.2)')
    spec.holdTimeS = hold
  }
  if (o['debounce-ms'] !== undefined) spec.debounceMs = integer(0, 600_000)(o['debounce-ms'], [...at, 'debounce-ms'], ctx)
  return spec
}
