/**
 * @module provisioning/bgp/neighbor
 * One configured neighbor: its place in the RFC 4271 §8 state machine (Idle, Connect, Active, then
 * the states of its sessions), the connections it accepts or opens, connection collisions (§6.8),
 * and the retry timer of an active neighbor. Routes go out as `'update'` events; the speaker puts
 * them in the Adj-RIB-In.
 */
import { EventEmitter } from 'node:events'
import { connect as netConnect, type Socket } from 'node:net'
import { Timer, type BgpClock } from './clock.ts'
import { BgpError, CeaseSubcode, ErrorCode } from './errors.ts'
import { encodeNotification } from './message.ts'
import { parseId, type LocalSettings, type Negotiated } from './open.ts'
import { BgpSession, type SessionDown, type SessionState, type SessionUpdate } from './session.ts'

export interface NeighborConfig {
  /** Canonical address text. */
  address: string
  peerAs: number
  /** Only accept connections; never open one. */
  passive: boolean
  /** The peer's BGP port, for active connections. */
  port: number
  /** Source address of active connections. */
  localAddress?: string
  local: LocalSettings
}

export interface NeighborContext {
  clock: BgpClock
  connectRetryS: number
  /** Opens a TCP connection (tests may replace it). */
  connect?: (options: { host: string; port: number; localAddress?: string }) => Socket
}

/** A neighbor's state and counters, as `BgpSpeaker.sessions()` reports them. */
export interface NeighborStatus {
  peer: string
  peerAs: number
  state: SessionState
  /** Seconds since the session reached Established; 0 when it is not. */
  uptimeS: number
  /** UPDATE messages received on the current session. */
  updates: number
  /** Families the current session negotiated. */
  families: Negotiated['families']
  /** Families whose End-of-RIB marker has arrived on the current session (RFC 4724). */
  endOfRib: Negotiated['families']
  /** The peer's BGP Identifier, once its OPEN has been accepted. */
  peerId?: string
  /** Why the last session ended. */
  lastError?: string
}

export interface NeighborEvents {
  state: [state: SessionState, previous: SessionState, down?: SessionDown]
  established: [negotiated: Negotiated]
  update: [update: SessionUpdate]
  /** The Established session ended: its routes are gone. */
  down: [down: SessionDown]
  /** Any connection's session ended (Established or not). */
  ended: [down: SessionDown]
  warning: [error: Error]
}

/** Later states win when a neighbor has two connections (a collision in progress). */
const RANK: Record<SessionState, number> = { Idle: 0, Active: 1, Connect: 2, OpenSent: 3, OpenConfirm: 4, Established: 5 }

export class BgpNeighbor extends EventEmitter<NeighborEvents> {
  readonly config: NeighborConfig
  readonly #context: NeighborContext
  readonly #sessions = new Set<BgpSession>()
  readonly #retryTimer: Timer
  #connecting: Socket | undefined
  #running = false
  #state: SessionState = 'Idle'
  #endOfRib = new Set<Negotiated['families'][number]>()
  #lastError: string | undefined

  constructor(config: NeighborConfig, context: NeighborContext) {
    super()
    this.config = config
    this.#context = context
    this.#retryTimer = new Timer(context.clock, () => this.#connect())
  }

  get state(): SessionState {
    return this.#state
  }

  /** Leave Idle: wait for the peer (Active), and, unless passive, connect to it (Connect). */
  start(): void {
    if (this.#running) return
    this.#running = true
    if (this.config.passive) this.#update()
    else this.#connect()
  }

  /** Close every connection with Cease (Administrative Shutdown by default) and go Idle. */
  async stop(subcode: number = CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, reason = 'ALTOkit BGP speaker shutting down'): Promise<void> {
    this.#running = false
    this.#retryTimer.stop()
    this.#connecting?.destroy()
    this.#connecting = undefined
    const sessions = [...this.#sessions]
    for (const session of sessions) session.close(subcode, reason)
    await Promise.all(sessions.map((s) => s.closed()))
    this.#update()
  }

  /** A connection from this neighbor's address arrived. */
  accept(socket: Socket): void {
    if (!this.#running) {
      refuse(socket)
      return
    }
    // A second connection the peer opened supersedes one it opened earlier that is still
    // negotiating (the peer restarted); an Established one is kept until its hold timer says otherwise.
    for (const s of this.#sessions) if (s.direction === 'inbound' && s.state !== 'Established') s.close(CeaseSubcode.CONNECTION_COLLISION_RESOLUTION, 'superseded by a newer connection')
    this.#open(socket, 'inbound')
  }

  status(): NeighborStatus {
    const session = this.#best()
    const established = session?.state === 'Established' ? session : undefined
    const status: NeighborStatus = {
      peer: this.config.address,
      peerAs: this.config.peerAs,
      state: this.#state,
      uptimeS: established?.establishedAt === undefined ? 0 : Math.floor((this.#context.clock.now() - established.establishedAt) / 1000),
      updates: established?.updates ?? 0,
      families: established?.negotiated?.families ?? [],
      endOfRib: established ? [...this.#endOfRib] : [],
    }
    if (session?.negotiated) status.peerId = session.negotiated.peerId
    if (this.#lastError !== undefined) status.lastError = this.#lastError
    return status
  }

  #open(socket: Socket, direction: 'inbound' | 'outbound'): void {
    const session = new BgpSession({ socket, direction, peer: this.config.address, peerAs: this.config.peerAs, local: this.config.local, clock: this.#context.clock })
    this.#sessions.add(session)
    // Going Idle is reported by 'down' below, with its reason.
    session.on('state', (state) => state !== 'Idle' && this.#update())
    session.on('open', (negotiated) => this.#resolveCollision(session, negotiated))
    session.on('established', (negotiated) => {
      this.#endOfRib = new Set()
      this.emit('established', negotiated)
    })
    session.on('update', (update) => {
      if (update.endOfRib) this.#endOfRib.add(update.endOfRib)
      this.emit('update', update)
    })
    session.on('warning', (error) => this.emit('warning', error))
    session.on('down', (down) => {
      this.#sessions.delete(session)
      this.#lastError = down.reason
      this.emit('ended', down)
      if (down.wasEstablished) this.emit('down', down)
      this.#update(down)
      if (this.#running && !this.config.passive && this.#sessions.size === 0 && !this.#connecting) {
        this.#retryTimer.start(this.#context.connectRetryS * 1000)
      }
    })
    session.start()
  }

  /**
   * RFC 4271 §6.8: with two connections to one peer, an Established one wins; otherwise the one
   * opened by the side with the higher BGP Identifier survives.
   */
  #resolveCollision(session: BgpSession, negotiated: Negotiated): void {
    const { local } = this.config
    for (const other of this.#sessions) {
      if (other === session || other.state === 'Idle') continue
      let loser: BgpSession
      if (other.state === 'Established') loser = session
      else if (other.direction === session.direction) loser = other
      else {
        // RFC 6286 §2.3: equal identifiers (possible between ASes) are settled by the AS numbers.
        const peerId = parseId(negotiated.peerId)!
        const localWins = local.routerId !== peerId ? local.routerId > peerId : local.localAs > negotiated.peerAs
        const keep = localWins ? 'outbound' : 'inbound'
        loser = session.direction === keep ? other : session
      }
      loser.close(CeaseSubcode.CONNECTION_COLLISION_RESOLUTION, 'connection collision')
      if (loser === session) return
    }
  }

  #connect(): void {
    if (!this.#running || this.config.passive || this.#connecting) return
    const { address: host, port, localAddress } = this.config
    const options: { host: string; port: number; localAddress?: string } = { host, port }
    if (localAddress !== undefined) options.localAddress = localAddress
    const socket = (this.#context.connect ?? netConnect)(options)
    this.#connecting = socket
    this.#update()
    // The retry timer doubles as the connect timeout (RFC 4271 §8.2.2, Connect state).
    this.#retryTimer.start(this.#context.connectRetryS * 1000)
    const failed = (error?: Error): void => {
      if (this.#connecting !== socket) return
      this.#connecting = undefined
      socket.destroy()
      if (error) this.#lastError = `cannot connect to ${host} port ${port}: ${error.message}`
      this.#update()
      if (this.#running && !this.#retryTimer.running) this.#retryTimer.start(this.#context.connectRetryS * 1000)
    }
    socket.once('error', failed)
    socket.once('close', () => failed())
    socket.once('connect', () => {
      if (this.#connecting !== socket) return
      this.#connecting = undefined
      this.#retryTimer.stop()
      socket.removeAllListeners('error')
      socket.removeAllListeners('close')
      this.#open(socket, 'outbound')
    })
  }

  #best(): BgpSession | undefined {
    let best: BgpSession | undefined
    for (const s of this.#sessions) if (!best || RANK[s.state] > RANK[best.state]) best = s
    return best
  }

  #update(down?: SessionDown): void {
    const best = this.#best()
    let state: SessionState
    if (best && best.state !== 'Idle') state = best.state
    else if (!this.#running) state = 'Idle'
    else if (this.#connecting) state = 'Connect'
    else state = 'Active'
    const previous = this.#state
    if (state === previous) return
    this.#state = state
    this.emit('state', state, previous, down)
  }
}

/** Turn a connection away: Cease/Connection Rejected (RFC 4486 §4). */
export function refuse(socket: Socket, reason = 'connection rejected'): BgpError {
  const error = new BgpError(ErrorCode.CEASE, CeaseSubcode.CONNECTION_REJECTED, reason)
  socket.on('error', () => {})
  socket.end(encodeNotificationFor(error))
  setTimeout(() => socket.destroy(), 2000).unref()
  return error
}

function encodeNotificationFor(error: BgpError): Buffer {
  return encodeNotification({ code: error.errorCode, subcode: error.subcode, data: error.data })
}
