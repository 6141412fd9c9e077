/**
 * @module redistribution/dht-node
 * A BitTorrent DHT node (BEP 5, `bittorrent-dht`) made safe to run: bound to one IPv4 address,
 * bootstrapped only from configured nodes (never the public routers k-rpc falls back to, REFERENCE
 * Part C §3), with announce and lookup as bounded promises and lookup results deduplicated.
 */
import { EventEmitter } from 'node:events'
import { isIPv4 } from 'node:net'
import DHT, { type DhtPeer } from 'bittorrent-dht'
import { createAltoError } from '../protocol/errors.ts'

export interface DhtNodeOptions {
  /** IPv4 address to bind; BEP 5 peer records are IPv4. @default '127.0.0.1' */
  host?: string
  /** UDP port, 0 for any. @default 0 */
  port?: number
  /** Nodes to join through, as `host:port`; empty for the first node of a network. Required: there is no default. */
  bootstrap: readonly string[]
  /** Per-query timeout of the DHT's RPCs. @default 2000 */
  queryTimeoutMs?: number
  /** Longest wait for joining through the bootstrap nodes. @default 5000 */
  readyTimeoutMs?: number
}

export type { DhtPeer }

/** Parse `HOST:PORT,HOST:PORT` (IPv4 hosts); throws ALTO_ERR_USAGE naming the bad entry. */
export function parseBootstrap(text: string): string[] {
  const out: string[] = []
  for (const raw of text.split(',')) {
    const entry = raw.trim()
    if (entry === '') continue
    const match = /^([^:]+):(\d{1,5})$/.exec(entry)
    if (!match || !isIPv4(match[1]!) || Number(match[2]) < 1 || Number(match[2]) > 65535) {
      throw createAltoError('ALTO_ERR_USAGE', [`DHT bootstrap node ${JSON.stringify(entry)} is not IPV4:PORT`])
    }
    out.push(entry)
  }
  return out
}

/** Emits `warning` (Error) for DHT trouble that does not stop it. */
export class DhtNode extends EventEmitter {
  readonly #dht: DHT
  readonly host: string
  readonly port: number

  private constructor(dht: DHT, host: string, port: number) {
    super()
    this.#dht = dht
    this.host = host
    this.port = port
    dht.on('warning', (error: Error) => this.emit('warning', error))
    dht.on('error', (error: Error) => this.emit('warning', error))
  }

  static start(options: DhtNodeOptions): Promise<DhtNode> {
    const host = options.host ?? '127.0.0.1'
    if (!isIPv4(host)) return Promise.reject(createAltoError('ALTO_ERR_USAGE', [`the DHT binds an IPv4 address (BEP 5 peer records are IPv4), not ${host}`]))
    const bootstrap = options.bootstrap.map((b) => parseBootstrap(b)[0]!)
    // `false`, never undefined: undefined makes k-rpc contact router.bittorrent.com and friends.
    // `host` makes the node record its own announcements too, so that a holder stays findable
    // through itself while the DHT is still small (e.g. a first node that announced alone).
    const dht = new DHT({ bootstrap: bootstrap.length > 0 ? bootstrap : false, host, timeout: options.queryTimeoutMs ?? 2000 })
    return new Promise((resolve, reject) => {
      const failed = (error: Error) => {
        dht.destroy()
        reject(createAltoError('ALTO_ERR_UNREACHABLE', [`udp://${host}:${options.port ?? 0}`, `cannot bind the DHT socket: ${error.message}`], error))
      }
      dht.once('error', failed)
      // Bind before the bootstrap queries leave (they go out on the next tick), so that no
      // packet is sent from an implicitly bound 0.0.0.0 socket.
      dht.listen(options.port ?? 0, host, () => {
        dht.off('error', failed)
        const node = new DhtNode(dht, host, dht.address().port)
        if (dht.ready) return resolve(node)
        const timer = setTimeout(() => resolve(node), options.readyTimeoutMs ?? 5000)
        timer.unref()
        dht.once('ready', () => {
          clearTimeout(timer)
          resolve(node)
        })
      })
    })
  }

  /** Nodes in the routing table. */
  get nodeCount(): number {
    return this.#dht.toJSON().nodes.length
  }

  /** Add a node to the routing table (e.g. a node learned from configuration later). */
  addNode(hostPort: string): void {
    const [entry] = parseBootstrap(hostPort)
    const [nodeHost, nodePort] = entry!.split(':')
    this.#dht.addNode({ host: nodeHost!, port: Number(nodePort) })
  }

  /**
   * Tell the DHT this node holds `key`, reachable at this node's address and `port` (the DHT
   * stores the announcer's UDP source address, so the holder must serve on the DHT's address).
   */
  announce(key: Buffer, port: number, timeoutMs = 10_000): Promise<void> {
    return bounded(timeoutMs, `DHT announce of ${key.toString('hex')}`, (done) => this.#dht.announce(key, port, (error) => done(error ?? undefined)))
  }

  /**
   * Holders of `key`, deduplicated (each node storing a holder reports it), `exclude` aside,
   * gathered until the lookup ends or for at most `timeoutMs`. The whole lookup is awaited rather
   * than the first answers: after a version change the first holders heard of may all be stale.
   */
  lookup(key: Buffer, options: { timeoutMs?: number; exclude?: string } = {}): Promise<DhtPeer[]> {
    const found = new Map<string, DhtPeer>()
    const onPeer = (peer: DhtPeer, infoHash: Buffer) => {
      const id = `${peer.host}:${peer.port}`
      if (infoHash.equals(key) && id !== options.exclude) found.set(id, { host: peer.host, port: peer.port })
    }
    this.#dht.on('peer', onPeer)
    return new Promise((resolve) => {
      let abort: () => void = () => {}
      let finished = false
      const finish = () => {
        if (finished) return
        finished = true
        clearTimeout(timer)
        abort()
        this.#dht.off('peer', onPeer)
        resolve([...found.values()])
      }
      const timer = setTimeout(finish, options.timeoutMs ?? 2000)
      abort = this.#dht.lookup(key, finish)
    })
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#dht.destroy(() => resolve()))
  }
}

function bounded(timeoutMs: number, what: string, run: (done: (error?: Error) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} took longer than ${timeoutMs} ms`)), timeoutMs)
    run((error) => {
      clearTimeout(timer)
      if (error) reject(error)
      else resolve()
    })
  })
}
