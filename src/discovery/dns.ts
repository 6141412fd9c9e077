/**
 * @module discovery/dns
 * The one thing discovery needs from DNS, NAPTR lookups, as an injected interface
 * (`NaptrResolver`), with two implementations:
 *
 * - `UdpNaptrResolver` asks named DNS servers itself (dns-packet over node:dgram, one socket per
 *   query, retried over TCP when the answer is truncated). Unlike node:dns it tells NODATA from
 *   NXDOMAIN with their negative TTLs (RFC 2308 §5), gives each record its TTL, and can require
 *   the AD bit of a validating resolver (RFC 4035 §3.2.3, RFC 6840 §5.7) for RFC 8686 §6.1.
 * - `CachingNaptrResolver` wraps any resolver with a TTL cache, so a tracker that discovers per
 *   peer asks each reverse name once per TTL.
 *
 * Every failure that a later retry may cure (timeout, SERVFAIL, REFUSED, a garbled answer) is the
 * answer `{kind: 'temporary'}`, never an exception: RFC 8686 §3.5 moves on to the next name.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { connect, isIP, type Socket as TcpSocket } from 'node:net'
import { getServers } from 'node:dns'
import { randomInt } from 'node:crypto'
import dnsPacket from 'dns-packet'
import { createAltoError } from '../protocol/errors.ts'

export interface NaptrRecord {
  order: number
  preference: number
  flags: string
  services: string
  regexp: string
  /** The next name for a non-terminal record, without the trailing dot; '' for the root. */
  replacement: string
  ttl: number
}

export type NaptrAnswer =
  | { kind: 'records'; records: NaptrRecord[] }
  | { kind: 'nodata'; ttl: number }
  | { kind: 'nxdomain'; ttl: number }
  | { kind: 'temporary'; reason: string }

export interface NaptrResolver {
  naptr(name: string): Promise<NaptrAnswer>
}

export interface UdpResolverOptions {
  /**
   * DNS servers as IP literals: `'host:port'`, `'[v6]:port'`, `'host'` or a bare IPv6 address
   * (port 53), asked in turn.
   * @default the system's, from node:dns `getServers()`
   * @example ['127.0.0.1:5353', '[::1]:5353']
   */
  servers?: readonly string[]
  /** Milliseconds to wait for one answer. @default 2000 */
  timeoutMs?: number
  /** Rounds over the servers; a server that answered SERVFAIL or REFUSED is not asked again. @default 2 */
  tries?: number
  /**
   * Set the DO bit and report answers without AD as temporary. Use it with a validating resolver
   * you trust on a trusted path (a local unbound or knot-resolver), see docs/discovery.md.
   * @default false
   */
  requireAuthenticated?: boolean
}

interface DnsServer {
  host: string
  port: number
  family: 4 | 6
  text: string
}

type Exchange = { packet: dnsPacket.DecodedPacket } | { temporary: string; retryable: boolean }

const DEFAULTS = { timeoutMs: 2000, tries: 2 }
// The EDNS buffer size of DNS Flag Day 2020: no fragmentation on any usual path.
const EDNS_UDP_SIZE = 1232
const RCODE_NAMES: Record<number, string> = { 1: 'FORMERR', 2: 'SERVFAIL', 4: 'NOTIMP', 5: 'REFUSED' }

/**
 * Lower case, no trailing dot; throws ALTO_ERR_BAD_DISCOVERY_INPUT unless it is a host-style DNS
 * name: letters, digits, `-` and `_` (service labels), IDNs as A-labels; RFC 1035 §2.3.4 lengths.
 */
export function normalizeDomainName(name: string): string {
  const text = typeof name === 'string' ? name.trim().toLowerCase().replace(/\.$/, '') : ''
  const valid = text.length > 0 && text.length <= 253 && text.split('.').every((label) => /^[a-z0-9_-]{1,63}$/.test(label))
  if (!valid) throw createAltoError('ALTO_ERR_BAD_DISCOVERY_INPUT', [`not a domain name: ${JSON.stringify(name)}`])
  return text
}

/** Parse `'host:port'`, `'[v6]:port'`, `'host'` or a bare IPv6 address (port 53). */
export function parseDnsServer(text: string): DnsServer {
  let host = text
  let port = 53
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text)
  if (bracketed) {
    host = bracketed[1]!
    if (bracketed[2] !== undefined) port = Number(bracketed[2])
  } else if (isIP(text) === 0 && /^[^:]+:\d+$/.test(text)) {
    const colon = text.lastIndexOf(':')
    host = text.slice(0, colon)
    port = Number(text.slice(colon + 1))
  }
  const family = isIP(host)
  if ((family !== 4 && family !== 6) || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw createAltoError('ALTO_ERR_BAD_DISCOVERY_INPUT', [`not a DNS server address (IP literal with an optional port): ${JSON.stringify(text)}`])
  }
  return { host, port, family, text: family === 6 ? `[${host}]:${port}` : `${host}:${port}` }
}

function checkCount(name: string, value: number | undefined, min: number): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min)) {
    throw createAltoError('ALTO_ERR_BAD_DISCOVERY_INPUT', [`option ${name} must be an integer >= ${min}, got ${String(value)}`])
  }
}

/** NAPTR lookups sent by ALTOkit itself to the named DNS servers (recursive or authoritative). */
export class UdpNaptrResolver implements NaptrResolver {
  readonly #servers: readonly DnsServer[]
  readonly #timeoutMs: number
  readonly #tries: number
  readonly #requireAuthenticated: boolean
  readonly #cancels = new Set<() => void>()
  #closed = false

  constructor(options: UdpResolverOptions = {}) {
    checkCount('timeoutMs', options.timeoutMs, 1)
    checkCount('tries', options.tries, 1)
    this.#servers = Object.freeze((options.servers ?? getServers()).map(parseDnsServer))
    this.#timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs
    this.#tries = options.tries ?? DEFAULTS.tries
    this.#requireAuthenticated = options.requireAuthenticated ?? false
  }

  async naptr(name: string): Promise<NaptrAnswer> {
    const qname = normalizeDomainName(name)
    if (this.#servers.length === 0) return { kind: 'temporary', reason: 'no DNS server configured' }
    const reasons = new Map<string, string>()
    const skip = new Set<DnsServer>()
    for (let attempt = 0; attempt < this.#tries; attempt++) {
      for (const server of this.#servers) {
        if (skip.has(server)) continue
        if (this.#closed) return { kind: 'temporary', reason: 'resolver closed' }
        const answer = await this.#ask(server, qname)
        if (!('temporary' in answer)) {
          const outcome = this.#interpret(answer.packet, qname)
          if (outcome.kind !== 'temporary') return outcome
          reasons.set(server.text, outcome.reason)
          skip.add(server) // it answered: asking it again now would get the same answer
        } else {
          reasons.set(server.text, answer.temporary)
          if (!answer.retryable) skip.add(server)
        }
      }
    }
    return { kind: 'temporary', reason: [...reasons].map(([server, reason]) => `${server}: ${reason}`).join('; ') }
  }

  /** Abort queries in flight (they answer temporary) and refuse new ones. */
  close(): void {
    this.#closed = true
    for (const cancel of this.#cancels) cancel()
  }

  #interpret(packet: dnsPacket.DecodedPacket, qname: string): NaptrAnswer {
    const rcode = (packet.flags ?? 0) & 0xf
    if (rcode !== 0 && rcode !== 3) return { kind: 'temporary', reason: RCODE_NAMES[rcode] ?? `RCODE ${rcode}` }
    if (this.#requireAuthenticated && !packet.flag_ad) return { kind: 'temporary', reason: 'answer not authenticated (no AD bit)' }
    if (rcode === 3) return { kind: 'nxdomain', ttl: negativeTtl(packet) }
    const records = naptrRecords(packet, qname)
    return records.length > 0 ? { kind: 'records', records } : { kind: 'nodata', ttl: negativeTtl(packet) }
  }

  async #ask(server: DnsServer, qname: string): Promise<Exchange> {
    const id = randomInt(0, 0x10000)
    const query: dnsPacket.Packet = {
      type: 'query',
      id,
      // RD for recursive resolvers (authoritative servers ignore it); AD in a query asks for the
      // AD bit in the answer (RFC 6840 §5.7).
      flags: dnsPacket.RECURSION_DESIRED | (this.#requireAuthenticated ? dnsPacket.AUTHENTIC_DATA : 0),
      questions: [{ type: 'NAPTR', class: 'IN', name: qname }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_SIZE, extendedRcode: 0, ednsVersion: 0, flags: this.#requireAuthenticated ? dnsPacket.DNSSEC_OK : 0, flag_do: this.#requireAuthenticated, options: [] }],
    }
    const udp = await this.#exchange(server, query, qname, 'udp')
    // A truncated answer is incomplete: ask again over TCP (RFC 1035 §4.2.1, RFC 7766).
    if ('packet' in udp && udp.packet.flag_tc) return this.#exchange(server, query, qname, 'tcp')
    return udp
  }

  #exchange(server: DnsServer, query: dnsPacket.Packet, qname: string, transport: 'udp' | 'tcp'): Promise<Exchange> {
    return new Promise<Exchange>((resolve) => {
      let socket: UdpSocket | TcpSocket
      let done = false
      const finish = (exchange: Exchange): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        this.#cancels.delete(cancel)
        if (transport === 'udp') (socket as UdpSocket).close()
        else (socket as TcpSocket).destroy()
        resolve(exchange)
      }
      const cancel = (): void => finish({ temporary: 'resolver closed', retryable: false })
      const timer = setTimeout(() => finish({ temporary: `timeout after ${this.#timeoutMs} ms${transport === 'tcp' ? ' (TCP)' : ''}`, retryable: true }), this.#timeoutMs)
      const onError = (error: NodeJS.ErrnoException): void => finish({ temporary: `${transport.toUpperCase()} ${error.code ?? error.message}`, retryable: false })
      // Returns true when `buffer` settled the exchange; answers to other questions are ignored.
      const onAnswer = (buffer: Buffer): boolean => {
        let packet: dnsPacket.DecodedPacket
        try {
          packet = dnsPacket.decode(buffer)
        } catch (error) {
          if (buffer.length >= 2 && buffer.readUInt16BE(0) === query.id) {
            finish({ temporary: `garbled answer: ${(error as Error).message}`, retryable: true })
            return true
          }
          return false
        }
        if (!isAnswerTo(packet, query.id!, qname)) return false
        finish({ packet })
        return true
      }
      if (transport === 'udp') {
        const udp = createSocket(server.family === 6 ? 'udp6' : 'udp4')
        socket = udp
        udp.on('error', onError)
        udp.on('message', (message) => void onAnswer(message))
        // A connected socket only receives from the server, and learns of ICMP port unreachable.
        udp.connect(server.port, server.host, () => {
          if (!done) udp.send(dnsPacket.encode(query))
        })
      } else {
        const tcp = connect({ host: server.host, port: server.port })
        socket = tcp
        let received = Buffer.alloc(0)
        tcp.on('error', onError)
        tcp.on('connect', () => tcp.write(dnsPacket.streamEncode(query)))
        tcp.on('data', (chunk: Buffer) => {
          received = Buffer.concat([received, chunk])
          // RFC 1035 §4.2.2: each message is preceded by its two-byte length.
          while (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
            const length = received.readUInt16BE(0)
            const message = received.subarray(2, 2 + length)
            received = received.subarray(2 + length)
            if (onAnswer(message)) return
          }
        })
        tcp.on('end', () => finish({ temporary: 'TCP connection closed without an answer', retryable: true }))
      }
      this.#cancels.add(cancel)
      if (this.#closed) cancel()
    })
  }
}

function isAnswerTo(packet: dnsPacket.DecodedPacket, id: number, qname: string): boolean {
  const question = packet.questions?.[0]
  return packet.id === id && packet.flag_qr && question !== undefined && question.type === 'NAPTR' && sameName(question.name, qname)
}

function sameName(a: string, b: string): boolean {
  return a.toLowerCase().replace(/\.$/, '') === b.toLowerCase().replace(/\.$/, '')
}

/** The NAPTR records of `qname`, following CNAMEs within the answer section (RFC 1034 §3.6.2). */
function naptrRecords(packet: dnsPacket.DecodedPacket, qname: string): NaptrRecord[] {
  const answers = packet.answers ?? []
  let owner = qname
  for (let hops = 0; hops < 8; hops++) {
    const cname = answers.find((answer): answer is dnsPacket.StringAnswer => answer.type === 'CNAME' && sameName(answer.name, owner))
    if (cname === undefined) break
    owner = cname.data
  }
  const records: NaptrRecord[] = []
  for (const answer of answers) {
    if (answer.type !== 'NAPTR' || !sameName(answer.name, owner)) continue
    const { order, preference, flags, services, regexp, replacement } = answer.data
    records.push({ order, preference, flags, services, regexp, replacement: replacement === '.' ? '' : replacement.replace(/\.$/, ''), ttl: answer.ttl ?? 0 })
  }
  return records
}

/** RFC 2308 §5: the negative TTL is the smaller of the SOA's TTL and its MINIMUM field; 0 without a SOA. */
function negativeTtl(packet: dnsPacket.DecodedPacket): number {
  for (const record of packet.authorities ?? []) {
    if (record.type === 'SOA') return Math.min(record.ttl ?? 0, record.data.minimum ?? 0)
  }
  return 0
}

export interface CacheOptions {
  /** Upper bound in seconds on how long records are kept, whatever their TTL. @default 3600 */
  maxTtlS?: number
  /** Upper bound in seconds for NODATA and NXDOMAIN answers. @default 300 */
  negativeTtlS?: number
  /** Entries kept at most; the oldest go first. @default 10000 */
  maxEntries?: number
  /** Clock in milliseconds. @default Date.now */
  now?: () => number
}

interface CacheEntry {
  answer: Extract<NaptrAnswer, { kind: 'records' | 'nodata' | 'nxdomain' }>
  expiresAt: number
}

const CACHE_DEFAULTS = { maxTtlS: 3600, negativeTtlS: 300, maxEntries: 10_000 }

/**
 * Caches records for their TTL (bounded), negative answers for their (bounded) negative TTL,
 * temporary failures not at all; concurrent lookups of one name share one query.
 */
export class CachingNaptrResolver implements NaptrResolver {
  /** `queries`: lookups passed to the inner resolver; `hits`: lookups answered without one. */
  readonly stats = { queries: 0, hits: 0 }
  readonly #inner: NaptrResolver
  readonly #maxTtlS: number
  readonly #negativeTtlS: number
  readonly #maxEntries: number
  readonly #now: () => number
  readonly #entries = new Map<string, CacheEntry>()
  readonly #inflight = new Map<string, Promise<NaptrAnswer>>()

  constructor(inner: NaptrResolver, options: CacheOptions = {}) {
    checkCount('maxTtlS', options.maxTtlS, 0)
    checkCount('negativeTtlS', options.negativeTtlS, 0)
    checkCount('maxEntries', options.maxEntries, 1)
    this.#inner = inner
    this.#maxTtlS = options.maxTtlS ?? CACHE_DEFAULTS.maxTtlS
    this.#negativeTtlS = options.negativeTtlS ?? CACHE_DEFAULTS.negativeTtlS
    this.#maxEntries = options.maxEntries ?? CACHE_DEFAULTS.maxEntries
    this.#now = options.now ?? Date.now
  }

  naptr(name: string): Promise<NaptrAnswer> {
    const key = normalizeDomainName(name)
    const now = this.#now()
    const entry = this.#entries.get(key)
    if (entry !== undefined) {
      if (entry.expiresAt > now) {
        this.stats.hits++
        return Promise.resolve(withRemainingTtl(entry, now))
      }
      this.#entries.delete(key)
    }
    const pending = this.#inflight.get(key)
    if (pending !== undefined) {
      this.stats.hits++
      return pending
    }
    this.stats.queries++
    const lookup = this.#inner
      .naptr(key)
      .then((answer) => {
        this.#store(key, answer)
        return answer
      })
      .finally(() => this.#inflight.delete(key))
    this.#inflight.set(key, lookup)
    return lookup
  }

  /** Forget every cached answer. */
  clear(): void {
    this.#entries.clear()
  }

  #store(key: string, answer: NaptrAnswer): void {
    if (answer.kind === 'temporary') return
    const ttl = answer.kind === 'records' ? Math.min(this.#maxTtlS, ...answer.records.map((r) => r.ttl)) : Math.min(this.#negativeTtlS, answer.ttl)
    if (!(ttl > 0)) return
    this.#entries.delete(key)
    this.#entries.set(key, { answer, expiresAt: this.#now() + ttl * 1000 })
    while (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!)
  }
}

/** The cached answer with TTLs counted down to what is left of the entry's life. */
function withRemainingTtl(entry: CacheEntry, now: number): NaptrAnswer {
  const left = Math.max(0, Math.ceil((entry.expiresAt - now) / 1000))
  const { answer } = entry
  if (answer.kind === 'records') return { kind: 'records', records: answer.records.map((r) => ({ ...r, ttl: Math.min(r.ttl, left) })) }
  return { kind: answer.kind, ttl: left }
}
