/** The part of the untyped `bittorrent-tracker/server` (v11) the benchmark baseline uses. */
declare module 'bittorrent-tracker/server' {
  import { EventEmitter } from 'node:events'
  import type { Server as HttpServer } from 'node:http'
  import type { Socket } from 'node:dgram'

  export interface ServerOptions {
    interval?: number
    trustProxy?: boolean
    http?: boolean | object
    udp?: boolean | object
    ws?: boolean | object
    stats?: boolean
    peersCacheLength?: number
    peersCacheTtl?: number
  }

  export default class Server extends EventEmitter {
    constructor(options?: ServerOptions)
    http: HttpServer | null
    udp4: Socket | null
    udp6: Socket | null
    listen(port: number | { http?: number; udp?: number }, hostname?: string | { http?: string; udp?: string; udp6?: string }, onListening?: () => void): void
    close(callback?: () => void): void
  }
}
