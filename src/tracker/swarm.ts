/**
 * @module tracker/swarm
 * The peers of one torrent, kept so that selection never touches the whole swarm: a flat list
 * for random sampling, and per ALTO provider a bucketing of the peers by PID (seeders and leechers
 * apart, so a seeder can be given leechers only). Lists are arrays with swap-remove, so adding,
 * removing and sampling are O(1).
 */
import type { AddressType } from '../protocol/types.ts'

export interface SwarmPeer {
  /** Identity within the swarm: the peer id (hex). */
  readonly key: string
  readonly family: AddressType
  /** Canonical address text. */
  readonly ip: string
  readonly port: number
  /** The address's bytes (4 or 16). */
  readonly bytes: Uint8Array
  /** BEP 23 / BEP 7 compact form: address bytes + port (6 or 18 bytes). */
  readonly compact: Buffer
  seeder: boolean
  lastSeen: number
}

/** Maps a peer to a PID index of some network map, or -1. */
export interface PidClassifier {
  /** Identity of the guidance version: a new object means re-bucket. */
  readonly version: object
  /** Number of PIDs; bucket `pidCount` holds peers in no PID. */
  readonly pidCount: number
  pidOf(family: AddressType, bytes: Uint8Array): number
}

/** An array with O(1) add, remove and uniform pick, remembering each member's slot. */
export class SlotList<T> {
  readonly items: T[] = []
  readonly #slot = new Map<T, number>()

  get size(): number {
    return this.items.length
  }

  add(item: T): void {
    if (this.#slot.has(item)) return
    this.#slot.set(item, this.items.length)
    this.items.push(item)
  }

  remove(item: T): void {
    const slot = this.#slot.get(item)
    if (slot === undefined) return
    const last = this.items.pop()!
    if (last !== item) {
      this.items[slot] = last
      this.#slot.set(last, slot)
    }
    this.#slot.delete(item)
  }

  has(item: T): boolean {
    return this.#slot.has(item)
  }

  /** The item's position in `items`, or -1. */
  indexOf(item: T): number {
    return this.#slot.get(item) ?? -1
  }
}

/** The peers of a swarm by PID of one provider's network map. */
export class Bucketing {
  readonly classifier: PidClassifier
  /** Index = PID index; the last one holds peers in no PID. */
  readonly seeders: SlotList<SwarmPeer>[]
  readonly leechers: SlotList<SwarmPeer>[]
  readonly #pidOf = new Map<SwarmPeer, number>()

  constructor(classifier: PidClassifier, peers: Iterable<SwarmPeer>) {
    this.classifier = classifier
    const buckets = classifier.pidCount + 1
    this.seeders = Array.from({ length: buckets }, () => new SlotList<SwarmPeer>())
    this.leechers = Array.from({ length: buckets }, () => new SlotList<SwarmPeer>())
    for (const peer of peers) this.add(peer)
  }

  /** PID index of a peer in this bucketing (`pidCount` = none). */
  pidOf(peer: SwarmPeer): number {
    return this.#pidOf.get(peer) ?? this.classifier.pidCount
  }

  add(peer: SwarmPeer): void {
    const found = this.classifier.pidOf(peer.family, peer.bytes)
    const pid = found < 0 ? this.classifier.pidCount : found
    this.#pidOf.set(peer, pid)
    ;(peer.seeder ? this.seeders : this.leechers)[pid]!.add(peer)
  }

  remove(peer: SwarmPeer): void {
    const pid = this.#pidOf.get(peer)
    if (pid === undefined) return
    this.seeders[pid]!.remove(peer)
    this.leechers[pid]!.remove(peer)
    this.#pidOf.delete(peer)
  }
}

export class Swarm {
  readonly peers = new Map<string, SwarmPeer>()
  /** All peers, and all leechers, for random sampling. */
  readonly all = new SlotList<SwarmPeer>()
  readonly leechers = new SlotList<SwarmPeer>()
  /** Times a peer announced `completed` (the scrape's `downloaded`). */
  completed = 0
  #seeders = 0
  readonly #bucketings = new Map<object, Bucketing>()

  get seederCount(): number {
    return this.#seeders
  }

  get leecherCount(): number {
    return this.leechers.size
  }

  /** The bucketing for a provider's current guidance, built on first use (O(swarm) once per version). */
  bucketing(provider: object, classifier: PidClassifier): Bucketing {
    const existing = this.#bucketings.get(provider)
    if (existing && existing.classifier.version === classifier.version) return existing
    const built = new Bucketing(classifier, this.peers.values())
    this.#bucketings.set(provider, built)
    return built
  }

  /** Add or refresh a peer. A changed address or port replaces the old entry. */
  upsert(peer: SwarmPeer): SwarmPeer {
    const old = this.peers.get(peer.key)
    if (old && old.ip === peer.ip && old.port === peer.port) {
      old.lastSeen = peer.lastSeen
      if (old.seeder !== peer.seeder) this.#setSeeder(old, peer.seeder)
      return old
    }
    if (old) this.remove(old.key)
    this.peers.set(peer.key, peer)
    this.all.add(peer)
    if (peer.seeder) this.#seeders++
    else this.leechers.add(peer)
    for (const b of this.#bucketings.values()) b.add(peer)
    return peer
  }

  remove(key: string): void {
    const peer = this.peers.get(key)
    if (!peer) return
    this.peers.delete(key)
    this.all.remove(peer)
    if (peer.seeder) this.#seeders--
    else this.leechers.remove(peer)
    for (const b of this.#bucketings.values()) b.remove(peer)
  }

  /** Drop peers not seen since `before`; returns how many. */
  expire(before: number): number {
    let dropped = 0
    for (const peer of [...this.peers.values()]) {
      if (peer.lastSeen < before) {
        this.remove(peer.key)
        dropped++
      }
    }
    return dropped
  }

  #setSeeder(peer: SwarmPeer, seeder: boolean): void {
    for (const b of this.#bucketings.values()) b.remove(peer)
    if (seeder) {
      this.leechers.remove(peer)
      this.#seeders++
    } else {
      this.leechers.add(peer)
      this.#seeders--
    }
    peer.seeder = seeder
    for (const b of this.#bucketings.values()) b.add(peer)
  }
}
