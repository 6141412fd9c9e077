/**
 * @module provisioning/bgp/options
 * The options of the BGP speaker, their defaults, and the one check at the boundary: validated,
 * defaults filled from {@link DEFAULTS}, then frozen. Past this point the speaker reads them and
 * never re-checks.
 */
import type { Logger } from 'pino'
import { parseAddress, unmapIPv4 } from '../../netmap/address.ts'
import { AltoConfigError } from '../../protocol/errors.ts'
import type { AddressType } from '../../protocol/types.ts'
import type { BgpClock } from './clock.ts'
import { parseId } from './open.ts'

/** A router allowed to peer with us. */
export interface BgpNeighborOptions {
  /**
   * The router's address. Connections from any other address are refused.
   * @example '192.0.2.1'
   */
  address: string
  /**
   * The router's AS number (1 to 4294967295). An OPEN with another AS is refused (Bad Peer AS).
   * @example 64500
   */
  peerAs: number
  /** Our AS number toward this neighbor. @default the speaker's `localAs` */
  localAs?: number
  /**
   * Only wait for the router to connect. With `false` we also connect to it (port `port`) and
   * settle collisions as RFC 4271 §6.8 says.
   * @default true
   */
  passive?: boolean
  /** The router's BGP port, for connections we open. @default 179 */
  port?: number
  /** Source address for connections we open. @default chosen by the system */
  localAddress?: string
}

export interface BgpSpeakerOptions {
  /**
   * Where to accept BGP connections. Port 0 picks a free port; 179 needs privileges.
   * @example { host: '0.0.0.0', port: 179 }
   */
  listen: { host: string; port: number }
  /**
   * Our AS number (1 to 4294967295). 4-byte numbers go out as AS_TRANS with the 4-octet AS capability (RFC 6793).
   * @example 4200000001
   */
  localAs: number
  /**
   * Our BGP Identifier, a non-zero dotted quad (RFC 6286).
   * @example '192.0.2.100'
   */
  routerId: string
  /** The routers allowed to peer with us; everyone else is refused with Cease/Connection Rejected. */
  neighbors: BgpNeighborOptions[]
  /**
   * Hold time we offer, in seconds: 0 (no keepalives, no hold timer) or 3 to 65535. The session
   * uses the smaller of ours and the peer's, and sends KEEPALIVEs every third of it.
   * @default 90
   */
  holdTimeS?: number
  /** Seconds between attempts to connect to a non-passive neighbor. @default 120 */
  connectRetryS?: number
  /** Unicast address families we offer (multiprotocol capability, RFC 4760). @default ['ipv4', 'ipv6'] */
  families?: AddressType[]
  /** Quiet time before a `'change'` event, in milliseconds. @default 500 */
  debounceMs?: number
  /** Longest a change waits for quiet, in milliseconds. @default max(1000, 10 × debounceMs) */
  maxDelayMs?: number
  /** @default pino at level `info`, to stderr */
  logger?: Logger
  /** Time for timers (tests pass a virtual clock). @default the system clock, timers unref'd */
  clock?: BgpClock
}

export const DEFAULTS = {
  holdTimeS: 90,
  connectRetryS: 120,
  families: ['ipv4', 'ipv6'] as AddressType[],
  debounceMs: 500,
  passive: true,
  port: 179,
} as const

export interface ResolvedNeighbor {
  address: string
  family: AddressType
  peerAs: number
  localAs: number
  passive: boolean
  port: number
  localAddress?: string
}

export interface ResolvedOptions {
  listen: { host: string; port: number }
  localAs: number
  routerId: number
  holdTimeS: number
  connectRetryS: number
  families: AddressType[]
  debounceMs: number
  maxDelayMs: number
  neighbors: ResolvedNeighbor[]
}

/** Check `options`, fill defaults and freeze. @throws AltoConfigError naming the field at fault */
export function resolveOptions(options: BgpSpeakerOptions): Readonly<ResolvedOptions> {
  const fail = (field: string, message: string): never => {
    throw new AltoConfigError(message, { field: `bgp.${field}` })
  }
  if (typeof options !== 'object' || options === null) fail('', 'options must be an object')
  const listen = options.listen
  if (typeof listen !== 'object' || listen === null) fail('listen', 'must be { host, port }')
  if (typeof listen.host !== 'string' || listen.host === '') fail('listen.host', 'must be an address or host name')
  checkInteger(listen.port, 0, 65535, 'listen.port', fail)
  const localAs = checkAs(options.localAs, 'localAs', fail)
  const routerId = typeof options.routerId === 'string' ? parseId(options.routerId) : undefined
  if (routerId === undefined || routerId === 0) fail('routerId', `must be a non-zero dotted quad, not ${JSON.stringify(options.routerId)}`)
  const holdTimeS = options.holdTimeS ?? DEFAULTS.holdTimeS
  checkInteger(holdTimeS, 0, 65535, 'holdTimeS', fail)
  // RFC 4271 §4.2: the hold time is zero or at least three seconds.
  if (holdTimeS === 1 || holdTimeS === 2) fail('holdTimeS', 'must be 0 or at least 3 seconds')
  const connectRetryS = options.connectRetryS ?? DEFAULTS.connectRetryS
  if (typeof connectRetryS !== 'number' || !(connectRetryS > 0)) fail('connectRetryS', 'must be a positive number of seconds')
  const families = options.families ?? DEFAULTS.families
  if (!Array.isArray(families) || families.length === 0 || families.some((f) => f !== 'ipv4' && f !== 'ipv6')) {
    fail('families', "must list 'ipv4' and/or 'ipv6'")
  }
  const debounceMs = options.debounceMs ?? DEFAULTS.debounceMs
  if (typeof debounceMs !== 'number' || !(debounceMs >= 0)) fail('debounceMs', 'must be a number of milliseconds, 0 or more')
  const maxDelayMs = options.maxDelayMs ?? Math.max(1000, 10 * debounceMs)
  if (typeof maxDelayMs !== 'number' || !(maxDelayMs >= debounceMs)) fail('maxDelayMs', 'must be at least debounceMs')
  if (!Array.isArray(options.neighbors)) fail('neighbors', 'must be a list')

  const seen = new Set<string>()
  const neighbors = options.neighbors.map((n, i): ResolvedNeighbor => {
    const at = `neighbors[${i}]`
    if (typeof n !== 'object' || n === null) fail(at, 'must be { address, peerAs }')
    const address = canonicalAddress(n.address)
    if (!address) fail(`${at}.address`, `must be an IPv4 or IPv6 address, not ${JSON.stringify(n.address)}`)
    if (seen.has(address!.text)) fail(`${at}.address`, `${address!.text} is listed twice`)
    seen.add(address!.text)
    const resolved: ResolvedNeighbor = {
      address: address!.text,
      family: address!.family,
      peerAs: checkAs(n.peerAs, `${at}.peerAs`, fail),
      localAs: n.localAs === undefined ? localAs : checkAs(n.localAs, `${at}.localAs`, fail),
      passive: n.passive ?? DEFAULTS.passive,
      port: n.port ?? DEFAULTS.port,
    }
    if (typeof resolved.passive !== 'boolean') fail(`${at}.passive`, 'must be true or false')
    checkInteger(resolved.port, 1, 65535, `${at}.port`, fail)
    if (n.localAddress !== undefined) {
      const local = canonicalAddress(n.localAddress)
      if (!local) fail(`${at}.localAddress`, `must be an IPv4 or IPv6 address, not ${JSON.stringify(n.localAddress)}`)
      resolved.localAddress = local!.text
    }
    return Object.freeze(resolved)
  })

  return Object.freeze({
    listen: Object.freeze({ host: listen.host, port: listen.port }),
    localAs,
    routerId: routerId!,
    holdTimeS,
    connectRetryS,
    families: Object.freeze([...new Set(families)]) as AddressType[],
    debounceMs,
    maxDelayMs,
    neighbors: Object.freeze(neighbors) as ResolvedNeighbor[],
  })
}

/**
 * An address as the speaker compares it: canonical text, with IPv4-mapped IPv6 (how a dual-stack
 * socket reports an IPv4 peer) turned into plain IPv4.
 */
export function canonicalAddress(text: unknown): { family: AddressType; text: string } | undefined {
  if (typeof text !== 'string') return undefined
  const plain = unmapIPv4(text)
  const parsed = parseAddress('ipv4', plain) ?? parseAddress('ipv6', plain)
  return parsed ? { family: parsed.family, text: parsed.text } : undefined
}

function checkAs(value: unknown, field: string, fail: (field: string, message: string) => never): number {
  checkInteger(value, 1, 0xffffffff, field, fail)
  return value as number
}

function checkInteger(value: unknown, min: number, max: number, field: string, fail: (field: string, message: string) => never): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(field, `must be an integer from ${min} to ${max}, not ${JSON.stringify(value)}`)
  }
}
