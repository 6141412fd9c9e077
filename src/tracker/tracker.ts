/**
 * @module tracker/tracker
 * The ALTO-guided BitTorrent tracker: HTTP (BEP 3, 23, 7) and UDP (BEP 15) announce and scrape,
 * parsed into one shape and answered by one {@link AltoTracker.announce}. Peer selection uses
 * third-party ALTO guidance (seed 002) from a {@link GuidanceSource}; without guidance it is random.
 * Locality (the share of returned peers in the requester's own PID) is counted, logged and served
 * at `/stats`.
 */
import { EventEmitter } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import type { AddressInfo } from 'node:net'
import bencode from 'bencode'
import { pino, type Logger } from 'pino'
import type { Rng } from '../cost/rank.ts'
import { parseAddress, unmapIPv4 } from '../netmap/address.ts'
import { AnnounceError, type AnnounceParams } from './announce.ts'
import type { GuidanceSource } from './guidance-source.ts'
import { parseHttpAnnounce, parseHttpScrape } from './parse-http.ts'
import { announceResponse, ConnectionIds, connectResponse, errorResponse, parseUdpRequest, scrapeResponse, UdpProtocolError } from './parse-udp.ts'
import { selectPeers } from './selection.ts'
import { Swarm, type SwarmPeer } from './swarm.ts'

export interface TrackerOptions {
  /** Listen address. @default '127.0.0.1' */
  host?: string
  /** HTTP port; 0 = any free port. @default 8000 */
  port?: number
  /** UDP port; 0 = any free port, false = no UDP. @default the HTTP port's number */
  udpPort?: number | false
  /** Where ALTO guidance comes from; without it, selection is random. */
  guidance?: GuidanceSource
  /** Share of each peer list drawn at random from the swarm. @default 0.2 */
  randomFraction?: number
  /** Peers returned when the client does not say, and the most it may ask for. @default 50 */
  numwant?: number
  /** Seconds between announces (`interval`); `min interval` is half of it. @default 1800 */
  interval?: number
  rng?: Rng
  now?: () => number
  logger?: Logger
}

export interface AnnounceOutcome {
  peers: SwarmPeer[]
  complete: number
  incomplete: number
  guided: boolean
  samePid: number
  random: number
  /** The requester's PID and each returned peer's, by name (only while an `announce` listener is attached). */
  requesterPid?: string | undefined
  peerPids?: (string | undefined)[]
}

export interface LocalityStats {
  announces: number
  guidedAnnounces: number
  peersReturned: number
  samePidReturned: number
  /** samePidReturned / peersReturned over guided announces. */
  locality: number
  swarms: number
  peers: number
}

export class AltoTracker extends EventEmitter {
  readonly #options: TrackerOptions
  readonly #now: () => number
  readonly #rng: Rng
  readonly logger: Logger
  readonly swarms = new Map<string, Swarm>()
  readonly #ids: ConnectionIds
  readonly #stats = { announces: 0, guidedAnnounces: 0, peersReturned: 0, samePidReturned: 0 }
  #http: Server | undefined
  #udp: Socket | undefined
  #sweep: NodeJS.Timeout | undefined
  #summary: NodeJS.Timeout | undefined
  #lastLogged = 0

  constructor(options: TrackerOptions = {}) {
    super()
    this.#options = options
    this.#now = options.now ?? Date.now
    this.#rng = options.rng ?? Math.random
    this.logger = options.logger ?? pino({ level: 'info' }, pino.destination(2))
    this.#ids = new ConnectionIds(this.#now)
  }

  get interval(): number {
    return this.#options.interval ?? 1800
  }

  get stats(): LocalityStats {
    const s = this.#stats
    let peers = 0
    for (const swarm of this.swarms.values()) peers += swarm.peers.size
    return { ...s, locality: s.peersReturned === 0 ? 0 : s.samePidReturned / s.peersReturned, swarms: this.swarms.size, peers }
  }

  /** Handle one announce from any transport. Throws AnnounceError for requests to refuse. */
  announce(params: AnnounceParams): AnnounceOutcome {
    let swarm = this.swarms.get(params.infoHash)
    if (!swarm) {
      if (params.event === 'stopped') return { peers: [], complete: 0, incomplete: 0, guided: false, samePid: 0, random: 0 }
      swarm = new Swarm()
      this.swarms.set(params.infoHash, swarm)
    }
    const key = params.peerId.toString('hex')
    if (params.event === 'stopped') {
      swarm.remove(key)
      return { peers: [], complete: swarm.seederCount, incomplete: swarm.leecherCount, guided: false, samePid: 0, random: 0 }
    }
    const wasLeecher = swarm.peers.get(key)?.seeder === false
    const requester = swarm.upsert({
      key,
      family: params.family,
      ip: params.ip,
      port: params.port,
      bytes: params.bytes,
      compact: compactOf(params.bytes, params.port),
      seeder: params.left === 0,
      lastSeen: this.#now(),
    })
    if (params.event === 'completed' && wasLeecher) swarm.completed++

    const provider = this.#options.guidance?.providerFor(params.family, params.bytes)
    const current = provider?.current()
    const bucketing = current && provider ? swarm.bucketing(provider, current) : undefined
    const numwant = Math.min(params.numwant ?? this.#options.numwant ?? 50, this.#options.numwant ?? 50)
    const selection = selectPeers({
      swarm,
      requester,
      numwant,
      randomFraction: this.#options.randomFraction ?? 0.2,
      rng: this.#rng,
      guidance: current && bucketing ? { bucketing, groupsFrom: (pid) => current.groupsFrom(pid) } : undefined,
    })
    const s = this.#stats
    s.announces++
    if (selection.guided) {
      s.guidedAnnounces++
      s.peersReturned += selection.peers.length
      s.samePidReturned += selection.samePid
    }
    const outcome: AnnounceOutcome = {
      peers: selection.peers,
      complete: swarm.seederCount,
      incomplete: swarm.leecherCount,
      guided: selection.guided,
      samePid: selection.samePid,
      random: selection.random,
    }
    if (this.listenerCount('announce') > 0) {
      if (current && bucketing) {
        outcome.requesterPid = current.pidName(bucketing.pidOf(requester))
        outcome.peerPids = selection.peers.map((p) => current.pidName(bucketing.pidOf(p)))
      }
      this.emit('announce', params, outcome)
    }
    return outcome
  }

  scrape(infoHashes: readonly string[]): { infoHash: string; complete: number; downloaded: number; incomplete: number }[] {
    const hashes = infoHashes.length > 0 ? infoHashes : [...this.swarms.keys()]
    return hashes.map((infoHash) => {
      const swarm = this.swarms.get(infoHash)
      return { infoHash, complete: swarm?.seederCount ?? 0, downloaded: swarm?.completed ?? 0, incomplete: swarm?.leecherCount ?? 0 }
    })
  }

  /** Start HTTP and UDP; resolves with their URLs (real ports). */
  async listen(): Promise<{ http: string; udp: string | undefined }> {
    const host = this.#options.host ?? '127.0.0.1'
    await this.#options.guidance?.start()
    this.#http = createServer((request, response) => this.#onHttp(request, response))
    this.#http.keepAliveTimeout = 5000
    await new Promise<void>((resolve, reject) => {
      this.#http!.once('error', reject)
      this.#http!.listen(this.#options.port ?? 8000, host, () => resolve())
    })
    const httpPort = (this.#http.address() as AddressInfo).port
    let udp: string | undefined
    const udpPort = this.#options.udpPort
    if (udpPort !== false) {
      this.#udp = createSocket(host.includes(':') ? 'udp6' : 'udp4')
      this.#udp.on('message', (packet, rinfo) => this.#onUdp(packet, rinfo))
      this.#udp.on('error', (error) => this.logger.warn({ error: error.message }, 'udp socket error'))
      await new Promise<void>((resolve, reject) => {
        this.#udp!.once('error', reject)
        this.#udp!.bind(udpPort ?? httpPort, host, () => resolve())
      })
      udp = `udp://${formatHost(host)}:${this.#udp.address().port}`
    }
    // Peers that stopped announcing leave after two intervals.
    this.#sweep = setInterval(() => this.#expire(), Math.max(1000, (this.interval * 1000) / 2))
    this.#sweep.unref()
    this.#summary = setInterval(() => this.#logSummary(), 60_000)
    this.#summary.unref()
    return { http: `http://${formatHost(host)}:${httpPort}/announce`, udp }
  }

  async close(): Promise<void> {
    if (this.#sweep) clearInterval(this.#sweep)
    if (this.#summary) clearInterval(this.#summary)
    this.#options.guidance?.stop()
    this.#udp?.close()
    this.#udp = undefined
    if (this.#http) {
      this.#http.closeAllConnections()
      await new Promise<void>((resolve) => this.#http!.close(() => resolve()))
      this.#http = undefined
    }
    this.#logSummary()
  }

  #expire(): void {
    const before = this.#now() - this.interval * 2000
    for (const [hash, swarm] of this.swarms) {
      swarm.expire(before)
      if (swarm.peers.size === 0) this.swarms.delete(hash)
    }
  }

  #logSummary(): void {
    const stats = this.stats
    if (stats.announces === this.#lastLogged) return
    this.#lastLogged = stats.announces
    this.logger.info({ ...stats, locality: Number(stats.locality.toFixed(3)) }, 'tracker summary')
  }

  #onHttp(request: IncomingMessage, response: ServerResponse): void {
    const url = request.url ?? '/'
    const q = url.indexOf('?')
    const path = q < 0 ? url : url.slice(0, q)
    const query = q < 0 ? '' : url.slice(q + 1)
    try {
      if (request.method !== 'GET') return plain(response, 405, 'GET only\n')
      if (path === '/announce') return bencoded(response, this.#httpAnnounce(query, request))
      if (path === '/scrape') {
        const files: Record<string, unknown> = {}
        for (const entry of this.scrape(parseHttpScrape(query).infoHashes)) {
          files[Buffer.from(entry.infoHash, 'hex').toString('latin1')] = { complete: entry.complete, downloaded: entry.downloaded, incomplete: entry.incomplete }
        }
        return bencoded(response, { files: binaryKeys(files) })
      }
      if (path === '/stats') {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...this.stats, guidance: this.#options.guidance?.status() }))
        return
      }
      plain(response, 404, 'not found: use /announce, /scrape or /stats\n')
    } catch (error) {
      if (error instanceof AnnounceError) {
        // A bad request is a warning for the tracker, not an error (the tracker is fine).
        this.emit('warning', error)
        return bencoded(response, { 'failure reason': error.message })
      }
      this.logger.error({ err: error }, 'announce failed')
      bencoded(response, { 'failure reason': 'internal error' })
    }
  }

  #httpAnnounce(query: string, request: IncomingMessage): Record<string, unknown> {
    const remote = unmapIPv4(request.socket.remoteAddress ?? '')
    const params = parseHttpAnnounce(query, remote)
    const outcome = this.announce(params)
    const body: Record<string, unknown> = {
      interval: this.interval,
      'min interval': Math.floor(this.interval / 2),
      complete: outcome.complete,
      incomplete: outcome.incomplete,
    }
    if (params.compact) {
      const v4 = outcome.peers.filter((p) => p.family === 'ipv4').map((p) => p.compact)
      const v6 = outcome.peers.filter((p) => p.family === 'ipv6').map((p) => p.compact)
      body.peers = Buffer.concat(v4)
      if (v6.length > 0) body.peers6 = Buffer.concat(v6)
    } else {
      body.peers = outcome.peers.map((p) => (params.noPeerId ? { ip: p.ip, port: p.port } : { 'peer id': Buffer.from(p.key, 'hex'), ip: p.ip, port: p.port }))
    }
    return body
  }

  #onUdp(packet: Buffer, rinfo: RemoteInfo): void {
    const udp = this.#udp
    if (!udp) return
    const reply = (data: Buffer) => udp.send(data, rinfo.port, rinfo.address)
    try {
      const request = parseUdpRequest(packet)
      if (!request) return // junk without a transaction id: dropped
      const remote = unmapIPv4(rinfo.address)
      if (request.action === 'connect') return reply(connectResponse(request.transactionId, this.#ids.issue(remote, rinfo.port)))
      if (!this.#ids.valid(request.connectionId, remote, rinfo.port)) throw new UdpProtocolError(request.transactionId, 'unknown or expired connection id')
      if (request.action === 'scrape') {
        const entries = this.scrape(request.infoHashes).map((e) => ({ seeders: e.complete, completed: e.downloaded, leechers: e.incomplete }))
        return reply(scrapeResponse(request.transactionId, entries))
      }
      const family = remote.includes(':') ? 'ipv6' : 'ipv4'
      const address = parseAddress(family, remote)
      if (!address) throw new UdpProtocolError(request.transactionId, 'unusable client address')
      const outcome = this.announce({ ...request.params, family, ip: address.text, bytes: address.bytes })
      // BEP 15: an IPv4 request gets 6-byte peers, an IPv6 one 18-byte peers.
      const peers = outcome.peers.filter((p) => p.family === family).map((p) => p.compact)
      reply(announceResponse(request.transactionId, this.interval, outcome.incomplete, outcome.complete, peers))
    } catch (error) {
      if (error instanceof UdpProtocolError) {
        this.emit('warning', error)
        return reply(errorResponse(error.transactionId, error.message))
      }
      if (error instanceof AnnounceError) return this.emit('warning', error) as unknown as void
      this.logger.error({ err: error }, 'udp request failed')
    }
  }
}

function compactOf(bytes: Uint8Array, port: number): Buffer {
  const out = Buffer.alloc(bytes.length + 2)
  out.set(bytes, 0)
  out.writeUInt16BE(port, bytes.length)
  return out
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

function plain(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'content-type': 'text/plain' }).end(text)
}

function bencoded(response: ServerResponse, body: Record<string, unknown>): void {
  response.writeHead(200, { 'content-type': 'text/plain' }).end(Buffer.from(bencode.encode(body)))
}

/** bencode keys are byte strings: keep 20-byte info hashes as latin1 so each char is one byte. */
function binaryKeys(files: Record<string, unknown>): Map<Buffer, unknown> {
  return new Map(Object.entries(files).map(([k, v]) => [Buffer.from(k, 'latin1'), v]))
}
