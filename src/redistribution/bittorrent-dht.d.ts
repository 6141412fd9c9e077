/** The part of the untyped `bittorrent-dht` (v11) that redistribution uses (REFERENCE Part C §3). */
declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events'

  export interface DhtOptions {
    /** `false`, or explicit `host:port` nodes. Left undefined, k-rpc contacts public routers: never do that. */
    bootstrap: false | string[] | { host: string; port: number }[]
    /** This node's own address: its announcements are then also recorded in its own peer table. */
    host?: string
    nodeId?: Buffer
    concurrency?: number
    timeBucketOutdated?: number
    maxAge?: number
    /** k-rpc query timeout in ms. @default 2000 */
    timeout?: number
  }

  export interface DhtPeer {
    host: string
    port: number
  }

  export default class DHT extends EventEmitter {
    constructor(options: DhtOptions)
    readonly nodeId: Buffer
    readonly listening: boolean
    readonly destroyed: boolean
    readonly ready: boolean
    listen(port: number, address: string, onListening?: () => void): void
    address(): { address: string; family: string; port: number }
    addNode(node: DhtPeer & { id?: Buffer }): void
    /** Announce that this node holds `infoHash`; peers are told `port` at this node's UDP source address. */
    announce(infoHash: Buffer | string, port: number, callback?: (error: Error | null) => void): void
    /** Look up holders; each is emitted as `peer` (once per node that stores it). Returns an abort function. */
    lookup(infoHash: Buffer | string, callback?: (error: Error | null, nodes?: number) => void): () => void
    toJSON(): { nodes: DhtPeer[] }
    destroy(callback?: () => void): void
    on(event: 'peer', listener: (peer: DhtPeer, infoHash: Buffer, from: DhtPeer | null) => void): this
    on(event: 'ready' | 'listening' | 'close', listener: () => void): this
    on(event: 'warning' | 'error', listener: (error: Error) => void): this
    on(event: string, listener: (...args: any[]) => void): this
  }
}
