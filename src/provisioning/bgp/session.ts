/**
 * @module provisioning/bgp/session
 * One BGP connection over a connected TCP socket, from OpenSent to Established and down again
 * (RFC 4271 §8.2.2, simplified to a speaker that only receives routes): it sends our OPEN, checks
 * the peer's, exchanges KEEPALIVEs, runs the hold and keepalive timers, decodes UPDATEs and reports
 * them, and ends with a NOTIFICATION on any error. It holds no routes; the neighbor and the
 * Adj-RIB-In do (neighbor.ts, adj-rib-in.ts).
 */
import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import type { AddressType } from '../../protocol/types.ts'
import { decodeUpdate, isBgpUpdateError } from '../mrt/bgp-update.ts'
import type { Route } from '../route.ts'
import type { Withdrawal } from './adj-rib-in.ts'
import { Timer, type BgpClock } from './clock.ts'
import { BgpError, CeaseSubcode, describeNotification, ErrorCode, FsmSubcode } from './errors.ts'
import {
  decodeNotification,
  decodeOpen,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  MessageReader,
  MessageType,
  shutdownCommunication,
  type BgpMessage,
} from './message.ts'
import { AFI, buildOpen, negotiate, SAFI_UNICAST, type LocalSettings, type Negotiated } from './open.ts'

/** RFC 4271 §8: the session states. A session object lives from OpenSent on; the others are the neighbor's. */
export type SessionState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established'

/** RFC 4271 §8.2.2: "a large value" for the hold timer until the OPENs are exchanged (4 minutes suggested). */
export const OPEN_HOLD_TIME_S = 240
/** How long to wait for the peer to close after our NOTIFICATION before dropping the connection. */
const CLOSE_GRACE_MS = 2000

export interface SessionOptions {
  socket: Socket
  /** Who opened the TCP connection (collision resolution, RFC 4271 §6.8). */
  direction: 'inbound' | 'outbound'
  /** The neighbor's address, canonical text; set as `Route.peer`. */
  peer: string
  peerAs: number
  local: LocalSettings
  clock: BgpClock
}

/** One UPDATE, as the session reports it. */
export interface SessionUpdate {
  announced: Route[]
  withdrawn: Withdrawal[]
  /** RFC 4724 End-of-RIB: the peer has sent its whole table for this family. */
  endOfRib?: AddressType
}

/** Why a session ended. */
export interface SessionDown {
  /** The NOTIFICATION we sent or received, when there was one. */
  error?: BgpError
  reason: string
  wasEstablished: boolean
}

export interface SessionEvents {
  state: [state: SessionState, previous: SessionState]
  /** The peer's OPEN passed our checks; a listener may still close the session (collisions). */
  open: [negotiated: Negotiated]
  established: [negotiated: Negotiated]
  update: [update: SessionUpdate]
  down: [down: SessionDown]
  /** Something the peer sent that we ignored (e.g. a family it did not negotiate). */
  warning: [error: Error]
}

export class BgpSession extends EventEmitter<SessionEvents> {
  readonly direction: 'inbound' | 'outbound'
  readonly peer: string
  #state: SessionState = 'Idle'
  #negotiated: Negotiated | undefined
  #establishedAt: number | undefined
  #updates = 0
  readonly #options: SessionOptions
  readonly #reader = new MessageReader()
  readonly #holdTimer: Timer
  readonly #keepaliveTimer: Timer
  readonly #onData = (chunk: Buffer): void => this.#receive(chunk)

  constructor(options: SessionOptions) {
    super()
    this.#options = options
    this.direction = options.direction
    this.peer = options.peer
    this.#holdTimer = new Timer(options.clock, () =>
      this.#fail(new BgpError(ErrorCode.HOLD_TIMER_EXPIRED, 0, `no message from ${this.peer} within the hold time`)),
    )
    this.#keepaliveTimer = new Timer(options.clock, () => this.#sendKeepalive())
  }

  get state(): SessionState {
    return this.#state
  }

  /** What the OPENs agreed on, from OpenConfirm on. */
  get negotiated(): Negotiated | undefined {
    return this.#negotiated
  }

  /** When the session reached Established (clock milliseconds). */
  get establishedAt(): number | undefined {
    return this.#establishedAt
  }

  /** UPDATE messages received. */
  get updates(): number {
    return this.#updates
  }

  /** Send our OPEN and wait for the peer's (OpenSent). */
  start(): void {
    const { socket } = this.#options
    socket.on('data', this.#onData)
    socket.on('error', (error) => this.#down({ reason: `connection error: ${error.message}` }))
    socket.on('end', () => this.#down({ reason: 'connection closed by the peer' }))
    socket.on('close', () => this.#down({ reason: 'connection closed' }))
    this.#setState('OpenSent')
    this.#holdTimer.start(OPEN_HOLD_TIME_S * 1000)
    this.#write(encodeOpen(buildOpen(this.#options.local)))
  }

  /** End the session with a Cease NOTIFICATION (RFC 4486), by default Administrative Shutdown. */
  close(subcode: number = CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, reason = 'shutting down'): void {
    let data: Uint8Array | undefined
    if (subcode === CeaseSubcode.ADMINISTRATIVE_SHUTDOWN || subcode === CeaseSubcode.ADMINISTRATIVE_RESET) {
      // RFC 9003 §2: a short UTF-8 Shutdown Communication.
      const text = Buffer.from(reason, 'utf8').subarray(0, 255)
      data = Buffer.concat([Buffer.from([text.length]), text])
    }
    this.#fail(new BgpError(ErrorCode.CEASE, subcode, reason, data ? { data } : {}))
  }

  /** Resolves once the socket is closed (at most the close grace after {@link close}). */
  closed(): Promise<void> {
    const { socket } = this.#options
    if (socket.destroyed) return Promise.resolve()
    return new Promise((resolve) => socket.once('close', () => resolve()))
  }

  #receive(chunk: Buffer): void {
    try {
      for (const message of this.#reader.push(chunk)) {
        if (this.#state === 'Idle') return
        this.#handle(message)
      }
    } catch (error) {
      this.#fail(
        error instanceof BgpError
          ? error
          : new BgpError(ErrorCode.CEASE, CeaseSubcode.UNSPECIFIC, `internal error handling a message from ${this.peer}: ${String(error)}`, { cause: error }),
      )
    }
  }

  #handle(message: BgpMessage): void {
    if (message.type === MessageType.NOTIFICATION) return this.#notified(message)
    // RFC 4271 §4.4: KEEPALIVE and UPDATE restart the hold timer; any valid message shows the peer is alive.
    if (this.#negotiated) this.#restartHoldTimer()
    switch (this.#state) {
      case 'OpenSent':
        if (message.type !== MessageType.OPEN) throw this.#unexpected(message, FsmSubcode.UNEXPECTED_IN_OPENSENT)
        return this.#opened(message)
      case 'OpenConfirm':
        if (message.type !== MessageType.KEEPALIVE) throw this.#unexpected(message, FsmSubcode.UNEXPECTED_IN_OPENCONFIRM)
        this.#establishedAt = this.#options.clock.now()
        this.#setState('Established')
        this.emit('established', this.#negotiated!)
        return
      case 'Established':
        if (message.type === MessageType.UPDATE) return this.#updated(message)
        if (message.type === MessageType.KEEPALIVE) return
        // We announce nothing, so a ROUTE-REFRESH (RFC 2918) needs no answer.
        if (message.type === MessageType.ROUTE_REFRESH) return
        throw this.#unexpected(message, FsmSubcode.UNEXPECTED_IN_ESTABLISHED)
      default:
        return
    }
  }

  #opened(message: BgpMessage): void {
    const negotiated = negotiate(decodeOpen(message.body), this.#options.local, this.#options.peerAs)
    this.#negotiated = negotiated
    this.emit('open', negotiated)
    if (this.#state !== 'OpenSent') return // a listener closed us (collision)
    this.#write(encodeKeepalive())
    this.#restartHoldTimer()
    this.#keepaliveTimer.stop()
    if (negotiated.holdTimeS > 0) this.#keepaliveTimer.start(keepaliveMs(negotiated.holdTimeS))
    this.#setState('OpenConfirm')
  }

  #updated(message: BgpMessage): void {
    this.#updates++
    const negotiated = this.#negotiated!
    let decoded
    try {
      decoded = decodeUpdate(message.body, { as4: negotiated.as4 })
    } catch (error) {
      if (isBgpUpdateError(error)) throw new BgpError(ErrorCode.UPDATE, error.errorSubcode, error.message, { data: error.data, cause: error })
      throw error
    }
    const accepted = new Set(negotiated.families)
    const update: SessionUpdate = { announced: [], withdrawn: [] }
    let ignored = 0
    for (const route of decoded.announced) {
      if (!accepted.has(route.family)) ignored++
      else {
        route.peer = this.peer
        update.announced.push(route)
      }
    }
    for (const route of decoded.withdrawn) {
      if (accepted.has(route.family)) update.withdrawn.push(route.pathId === undefined ? { prefix: route.prefix } : { prefix: route.prefix, pathId: route.pathId })
    }
    // RFC 4760 §6: routes of a family that was not negotiated are ignored, not an error.
    if (ignored > 0) this.emit('warning', new Error(`${this.peer} announced ${ignored} routes of a family that was not negotiated; ignored`))
    for (const skipped of decoded.skippedFamilies) {
      this.emit('warning', new Error(`${this.peer} sent routes of AFI ${skipped.afi} SAFI ${skipped.safi}; only IPv4 and IPv6 unicast are kept`))
    }
    const eor = decoded.endOfRib
    if (eor && eor.safi === SAFI_UNICAST) {
      const family = (Object.keys(AFI) as AddressType[]).find((f) => AFI[f] === eor.afi)
      if (family) update.endOfRib = family
    }
    this.emit('update', update)
  }

  #notified(message: BgpMessage): void {
    const n = decodeNotification(message.body)
    const text = shutdownCommunication(n)
    const error = new BgpError(n.code, n.subcode, `sent by ${this.peer}${text ? `: "${text}"` : ''}`, { data: n.data, received: true })
    this.#down({ error, reason: `${this.peer} sent NOTIFICATION ${describeNotification(n.code, n.subcode)}` })
  }

  #unexpected(message: BgpMessage, subcode: number): BgpError {
    // RFC 6608 §3: the data is the type of the unexpected message.
    return new BgpError(ErrorCode.FSM, subcode, `message type ${message.type} in state ${this.#state}`, { data: Uint8Array.of(message.type) })
  }

  /** Send a NOTIFICATION for `error` and close. */
  #fail(error: BgpError): void {
    if (this.#state === 'Idle') return
    const { socket } = this.#options
    socket.off('data', this.#onData)
    if (socket.writable) socket.end(encodeNotification({ code: error.errorCode, subcode: error.subcode, data: error.data }))
    // Real time, not the injected clock: this only bounds how long a socket lingers.
    const grace = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref()
    socket.once('close', () => clearTimeout(grace))
    this.#down({ error, reason: `sent NOTIFICATION ${error.message}` })
  }

  #down(down: Omit<SessionDown, 'wasEstablished'>): void {
    if (this.#state === 'Idle') return
    const wasEstablished = this.#state === 'Established'
    this.#holdTimer.stop()
    this.#keepaliveTimer.stop()
    const { socket } = this.#options
    socket.off('data', this.#onData)
    if (!down.error || down.error.received) socket.destroy()
    this.#setState('Idle')
    this.emit('down', { ...down, wasEstablished })
  }

  #restartHoldTimer(): void {
    const hold = this.#negotiated?.holdTimeS ?? OPEN_HOLD_TIME_S
    if (hold === 0) this.#holdTimer.stop()
    else this.#holdTimer.start(hold * 1000)
  }

  #sendKeepalive(): void {
    if (this.#state !== 'OpenConfirm' && this.#state !== 'Established') return
    this.#write(encodeKeepalive())
    this.#keepaliveTimer.start(keepaliveMs(this.#negotiated!.holdTimeS))
  }

  #write(bytes: Buffer): void {
    const { socket } = this.#options
    if (socket.writable) socket.write(bytes)
  }

  #setState(state: SessionState): void {
    const previous = this.#state
    if (previous === state) return
    this.#state = state
    this.emit('state', state, previous)
  }
}

/** RFC 4271 §10: a third of the hold time is the suggested keepalive interval. */
export function keepaliveMs(holdTimeS: number): number {
  return Math.floor((holdTimeS * 1000) / 3)
}
