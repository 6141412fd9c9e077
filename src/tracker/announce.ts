/**
 * @module tracker/announce
 * The one shape every transport's announce and scrape are parsed into, so that HTTP (BEP 3) and
 * UDP (BEP 15) share a single handler.
 */
import type { AddressType } from '../protocol/types.ts'

export type AnnounceEvent = 'started' | 'completed' | 'stopped' | 'update'

export interface AnnounceParams {
  transport: 'http' | 'udp'
  /** 40 lowercase hex digits. */
  infoHash: string
  /** 20 bytes. */
  peerId: Buffer
  /** The requester's address as the socket saw it (never a claimed `ip` parameter). */
  family: AddressType
  ip: string
  bytes: Uint8Array
  port: number
  /** Bytes left to download; NaN when the client did not say (treated as a leecher). */
  left: number
  event: AnnounceEvent
  /** Peers wanted; undefined = the tracker's default. */
  numwant: number | undefined
  compact: boolean
  noPeerId: boolean
}

export interface ScrapeParams {
  /** 40-hex info hashes; empty = all (HTTP only). */
  infoHashes: string[]
}

/** A request the tracker refuses; the message is sent as the `failure reason` (BEP 3). */
export class AnnounceError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'AnnounceError'
  }
}
