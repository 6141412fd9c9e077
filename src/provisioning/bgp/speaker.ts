/**
 * @module provisioning/bgp/speaker
 * A receive-only BGP-4 speaker for feeding network maps from a router: it accepts sessions from
 * configured neighbors (and opens them to non-passive ones), keeps what each announces in an
 * Adj-RIB-In, drops a neighbor's routes when its session ends, and emits a debounced `'change'`
 * with the full route set. It announces nothing. Operator guide: docs/bgp.md.
 *
 * @example
 * const speaker = new BgpSpeaker({
 *   listen: { host: '0.0.0.0', port: 179 },
 *   localAs: 4200000001,
 *   routerId: '192.0.2.100',
 *   neighbors: [{ address: '192.0.2.1', peerAs: 64500 }],
 * })
 * speaker.on('change', (routes) => rebuildNetworkMap(routes))
 * await speaker.listen()
 */
import { EventEmitter } from 'node:events'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { pino, type Logger } from 'pino'
import type { Route } from '../route.ts'
import { AdjRibIn } from './adj-rib-in.ts'
import { systemClock, type BgpClock } from './clock.ts'
import { BgpError, CeaseSubcode, ErrorCode } from './errors.ts'
import { BgpNeighbor, refuse, type NeighborStatus } from './neighbor.ts'
import { formatId } from './open.ts'
import { canonicalAddress, resolveOptions, type BgpSpeakerOptions, type ResolvedOptions } from './options.ts'
import type { SessionState } from './session.ts'

export type { BgpNeighborOptions, BgpSpeakerOptions } from './options.ts'
export type { NeighborStatus } from './neighbor.ts'
export type { SessionState } from './session.ts'

/** A neighbor changed state. */
export interface SessionEvent {
  peer: string
  state: SessionState
  previous: SessionState
  /** Why the session ended, when it did. */
  reason?: string
  /** The NOTIFICATION sent (`error.received` false) or received (true), when there was one. */
  error?: BgpError
}

/** A neighbor as {@link BgpSpeaker.sessions} reports it: state, counters, and its routes in the table. */
export interface SessionInfo extends NeighborStatus {
  /** Routes of this neighbor in the Adj-RIB-In. */
  routes: number
}

export interface BgpSpeakerEvents {
  /** The full set of routes after a debounced change (see `debounceMs`). */
  change: [routes: Route[]]
  session: [event: SessionEvent]
  /** Bad input from a peer or an unknown connection: the speaker carries on. */
  warning: [error: Error]
}

const OWN_CEASES = new Set<number>([CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, CeaseSubcode.CONNECTION_COLLISION_RESOLUTION])

export class BgpSpeaker extends EventEmitter<BgpSpeakerEvents> {
  readonly logger: Logger
  readonly #options: Readonly<ResolvedOptions>
  readonly #clock: BgpClock
  readonly #rib: AdjRibIn
  readonly #neighbors = new Map<string, BgpNeighbor>()
  #server: Server | undefined

  /** @throws AltoConfigError when an option is invalid */
  constructor(options: BgpSpeakerOptions) {
    super()
    this.#options = resolveOptions(options)
    this.#clock = options.clock ?? systemClock
    this.logger = options.logger ?? pino({ level: 'info' }, pino.destination(2))
    this.#rib = new AdjRibIn({ debounceMs: this.#options.debounceMs, maxDelayMs: this.#options.maxDelayMs, clock: this.#clock })
    this.#rib.on('change', (routes) => {
      this.logger.info({ routes: routes.length }, 'bgp routes changed')
      this.emit('change', routes)
    })
    for (const n of this.#options.neighbors) {
      const neighbor = new BgpNeighbor(
        {
          address: n.address,
          peerAs: n.peerAs,
          passive: n.passive,
          port: n.port,
          ...(n.localAddress === undefined ? {} : { localAddress: n.localAddress }),
          local: { localAs: n.localAs, routerId: this.#options.routerId, holdTimeS: this.#options.holdTimeS, families: this.#options.families },
        },
        { clock: this.#clock, connectRetryS: this.#options.connectRetryS },
      )
      this.#wire(neighbor)
      this.#neighbors.set(n.address, neighbor)
    }
  }

  /** Start accepting connections (and connecting to non-passive neighbors). @returns the bound address */
  async listen(): Promise<{ host: string; port: number }> {
    if (this.#server) throw new Error('BgpSpeaker.listen() was already called')
    const server = createServer((socket) => this.#accept(socket))
    this.#server = server
    server.on('error', (error) => this.emit('warning', error))
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(this.#options.listen.port, this.#options.listen.host, () => {
          server.off('error', reject)
          resolve()
        })
      })
    } catch (error) {
      this.#server = undefined
      throw error
    }
    const address = server.address() as AddressInfo
    for (const neighbor of this.#neighbors.values()) neighbor.start()
    this.logger.info(
      { host: address.address, port: address.port, localAs: this.#options.localAs, routerId: formatId(this.#options.routerId), neighbors: this.#neighbors.size },
      'bgp speaker listening',
    )
    return { host: address.address, port: address.port }
  }

  /** Send Cease/Administrative Shutdown on every session, stop listening, drop pending changes. */
  async close(): Promise<void> {
    const server = this.#server
    await Promise.all([...this.#neighbors.values()].map((n) => n.stop()))
    this.#rib.cancel()
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
    this.#server = undefined
  }

  /** Every route every neighbor currently announces (see {@link AdjRibIn.routes}). */
  routes(): Route[] {
    return this.#rib.routes()
  }

  /** Each configured neighbor's state and counters. */
  sessions(): SessionInfo[] {
    return [...this.#neighbors.values()].map((n) => ({ ...n.status(), routes: this.#rib.count(n.config.address) }))
  }

  /** Emit a pending `'change'` now rather than after the debounce. */
  flush(): void {
    this.#rib.flush()
  }

  #accept(socket: Socket): void {
    socket.setNoDelay(true)
    const remote = canonicalAddress(socket.remoteAddress)
    const neighbor = remote && this.#neighbors.get(remote.text)
    if (!neighbor) {
      // RFC 4486 §4: Connection Rejected for a peer we are not configured for.
      const error = refuse(socket, `connection from ${socket.remoteAddress ?? 'an unknown address'}, which is not a configured neighbor`)
      this.logger.warn({ peer: socket.remoteAddress, port: socket.remotePort }, 'bgp connection from an unknown peer refused')
      this.emit('warning', error)
      return
    }
    neighbor.accept(socket)
  }

  #wire(neighbor: BgpNeighbor): void {
    const peer = neighbor.config.address
    neighbor.on('state', (state, previous, down) => {
      const event: SessionEvent = { peer, state, previous }
      if (down) {
        event.reason = down.reason
        if (down.error) event.error = down.error
      }
      this.emit('session', event)
    })
    neighbor.on('established', (negotiated) => {
      this.logger.info({ peer, peerAs: negotiated.peerAs, peerId: negotiated.peerId, holdTimeS: negotiated.holdTimeS, families: negotiated.families }, 'bgp session established')
    })
    neighbor.on('update', (update) => {
      this.#rib.apply(peer, update.announced, update.withdrawn)
      if (update.endOfRib) this.logger.info({ peer, family: update.endOfRib, routes: this.#rib.count(peer) }, 'bgp end of RIB')
    })
    neighbor.on('down', (down) => {
      const removed = this.#rib.dropPeer(peer)
      this.logger.warn({ peer, reason: down.reason, removed }, 'bgp session down')
    })
    neighbor.on('warning', (error) => {
      this.logger.warn({ peer, err: error.message }, 'bgp warning')
      this.emit('warning', error)
    })
    neighbor.on('ended', (down) => {
      const error = down.error
      if (!error) return
      if (error.received) this.logger.warn({ peer, reason: down.reason }, 'bgp notification received')
      // What the peer got wrong is a warning; our own shutdowns and collision choices are not.
      else if (!(error.errorCode === ErrorCode.CEASE && OWN_CEASES.has(error.subcode))) this.emit('warning', error)
    })
  }
}
