/**
 * @module tracker/parse-udp
 * The UDP tracker protocol (BEP 15): connect, announce, scrape and error packets. Connection ids
 * are stateless: an HMAC of the client's address and the current minute, accepted for two
 * minutes, so spoofed sources cannot announce and the tracker keeps no per-client state.
 */
import { createHmac, randomBytes } from 'node:crypto'
import { AnnounceError, type AnnounceEvent, type AnnounceParams } from './announce.ts'

export const PROTOCOL_ID = 0x41727101980n
export const ACTION = { connect: 0, announce: 1, scrape: 2, error: 3 } as const

export type UdpRequest =
  | { action: 'connect'; transactionId: number }
  | { action: 'announce'; transactionId: number; connectionId: Buffer; params: Omit<AnnounceParams, 'family' | 'ip' | 'bytes'> }
  | { action: 'scrape'; transactionId: number; connectionId: Buffer; infoHashes: string[] }

const UDP_EVENTS: readonly AnnounceEvent[] = ['update', 'completed', 'started', 'stopped']

/** Parse a request packet; undefined for junk that deserves no answer (no transaction id to echo). */
export function parseUdpRequest(packet: Buffer): UdpRequest | undefined {
  if (packet.length < 16) return undefined
  const action = packet.readUInt32BE(8)
  const transactionId = packet.readUInt32BE(12)
  if (action === ACTION.connect) {
    return packet.readBigUInt64BE(0) === PROTOCOL_ID ? { action: 'connect', transactionId } : undefined
  }
  const connectionId = packet.subarray(0, 8)
  if (action === ACTION.announce) {
    if (packet.length < 98) throw new UdpProtocolError(transactionId, 'announce packet too short')
    const event = UDP_EVENTS[packet.readUInt32BE(80)]
    if (event === undefined) throw new UdpProtocolError(transactionId, 'invalid event')
    const port = packet.readUInt16BE(96)
    if (port === 0) throw new UdpProtocolError(transactionId, 'invalid port')
    const numwant = packet.readInt32BE(92)
    return {
      action: 'announce',
      transactionId,
      connectionId,
      params: {
        transport: 'udp',
        infoHash: packet.subarray(16, 36).toString('hex'),
        peerId: Buffer.from(packet.subarray(36, 56)),
        left: Number(packet.readBigUInt64BE(64)),
        event,
        numwant: numwant < 0 ? undefined : numwant,
        port,
        compact: true,
        noPeerId: true,
      },
    }
  }
  if (action === ACTION.scrape) {
    const count = Math.floor((packet.length - 16) / 20)
    if (count < 1) throw new UdpProtocolError(transactionId, 'scrape without info_hash')
    const infoHashes = Array.from({ length: Math.min(count, 74) }, (_, i) => packet.subarray(16 + 20 * i, 36 + 20 * i).toString('hex'))
    return { action: 'scrape', transactionId, connectionId, infoHashes }
  }
  throw new UdpProtocolError(transactionId, 'unknown action')
}

/** A request that gets an error packet back. */
export class UdpProtocolError extends AnnounceError {
  readonly transactionId: number
  constructor(transactionId: number, message: string) {
    super(message)
    this.transactionId = transactionId
  }
}

export function connectResponse(transactionId: number, connectionId: Buffer): Buffer {
  const out = Buffer.alloc(16)
  out.writeUInt32BE(ACTION.connect, 0)
  out.writeUInt32BE(transactionId, 4)
  connectionId.copy(out, 8)
  return out
}

export function announceResponse(transactionId: number, interval: number, leechers: number, seeders: number, peers: readonly Buffer[]): Buffer {
  const head = Buffer.alloc(20)
  head.writeUInt32BE(ACTION.announce, 0)
  head.writeUInt32BE(transactionId, 4)
  head.writeUInt32BE(interval, 8)
  head.writeUInt32BE(leechers, 12)
  head.writeUInt32BE(seeders, 16)
  return Buffer.concat([head, ...peers])
}

export function scrapeResponse(transactionId: number, entries: readonly { seeders: number; completed: number; leechers: number }[]): Buffer {
  const out = Buffer.alloc(8 + 12 * entries.length)
  out.writeUInt32BE(ACTION.scrape, 0)
  out.writeUInt32BE(transactionId, 4)
  entries.forEach((e, i) => {
    out.writeUInt32BE(e.seeders, 8 + 12 * i)
    out.writeUInt32BE(e.completed, 12 + 12 * i)
    out.writeUInt32BE(e.leechers, 16 + 12 * i)
  })
  return out
}

export function errorResponse(transactionId: number, message: string): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(ACTION.error, 0)
  head.writeUInt32BE(transactionId, 4)
  return Buffer.concat([head, Buffer.from(message, 'utf8')])
}

/** Stateless connection ids (BEP 15: valid for two minutes after issue). */
export class ConnectionIds {
  readonly #secret: Buffer
  readonly #now: () => number

  constructor(now: () => number = Date.now, secret: Buffer = randomBytes(32)) {
    this.#now = now
    this.#secret = secret
  }

  issue(address: string, port: number): Buffer {
    return this.#id(address, port, Math.floor(this.#now() / 60_000))
  }

  valid(id: Buffer, address: string, port: number): boolean {
    const minute = Math.floor(this.#now() / 60_000)
    for (let age = 0; age <= 2; age++) if (this.#id(address, port, minute - age).equals(id)) return true
    return false
  }

  #id(address: string, port: number, minute: number): Buffer {
    return createHmac('sha256', this.#secret).update(`${address}|${port}|${minute}`).digest().subarray(0, 8)
  }
}
