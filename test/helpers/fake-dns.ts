/**
 * Test helper: an in-process DNS responder (dns-packet over UDP and TCP on one loopback port) for
 * the faults a real server will not produce on demand: silence, SERVFAIL, garbage, truncation, the
 * AD bit. The handler decides each answer; every query is recorded.
 */
import { createSocket, type Socket } from 'node:dgram'
import { createServer, type Server } from 'node:net'
import dnsPacket from 'dns-packet'

export interface FakeReply {
  /** 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED… @default 0 */
  rcode?: number
  answers?: dnsPacket.Answer[]
  authorities?: dnsPacket.Answer[]
  /** Set the AD bit. */
  authenticated?: boolean
  /** Over UDP: answer with TC set and no records (TCP gets the full answer). */
  truncateUdp?: boolean
  /** Send these bytes instead of an answer. */
  raw?: Buffer
}

/** `'drop'`: never answer. */
export type FakeHandler = (name: string, query: dnsPacket.DecodedPacket, transport: 'udp' | 'tcp') => FakeReply | 'drop'

export interface FakeDns {
  port: number
  server: string
  queries: { name: string; transport: 'udp' | 'tcp'; flags: number; dnssecOk: boolean }[]
  close(): Promise<void>
}

export async function startFakeDns(handler: FakeHandler): Promise<FakeDns> {
  for (let attempt = 0; ; attempt++) {
    const udp = createSocket('udp4')
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject)
      udp.bind(0, '127.0.0.1', () => resolve(udp.address().port))
    })
    const tcp = createServer()
    const listening = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false))
      tcp.listen(port, '127.0.0.1', () => resolve(true))
    })
    if (listening) return serve(udp, tcp, port, handler)
    udp.close()
    if (attempt > 20) throw new Error('no port free for both UDP and TCP')
  }
}

function serve(udp: Socket, tcp: Server, port: number, handler: FakeHandler): FakeDns {
  const queries: FakeDns['queries'] = []
  const respond = (message: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined => {
    const query = dnsPacket.decode(message)
    const question = query.questions?.[0]
    const name = question?.name ?? ''
    const opt = query.additionals?.find((a): a is dnsPacket.OptAnswer => a.type === 'OPT')
    queries.push({ name, transport, flags: query.flags ?? 0, dnssecOk: opt?.flag_do ?? false })
    const reply = handler(name, query, transport)
    if (reply === 'drop') return undefined
    if (reply.raw) return reply.raw
    const truncated = transport === 'udp' && reply.truncateUdp === true
    return dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: (reply.rcode ?? 0) | dnsPacket.AUTHORITATIVE_ANSWER | (reply.authenticated ? dnsPacket.AUTHENTIC_DATA : 0) | (truncated ? dnsPacket.TRUNCATED_RESPONSE : 0),
      questions: query.questions ?? [],
      answers: truncated ? [] : (reply.answers ?? []),
      authorities: truncated ? [] : (reply.authorities ?? []),
    })
  }
  udp.on('message', (message, peer) => {
    const out = respond(message, 'udp')
    if (out) udp.send(out, peer.port, peer.address)
  })
  const connections = new Set<import('node:net').Socket>()
  tcp.on('connection', (socket) => {
    connections.add(socket)
    socket.on('close', () => connections.delete(socket))
    socket.on('error', () => {})
    let received = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      while (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        const message = received.subarray(2, 2 + received.readUInt16BE(0))
        received = received.subarray(2 + message.length)
        const out = respond(message, 'tcp')
        if (out) {
          const length = Buffer.alloc(2)
          length.writeUInt16BE(out.length)
          socket.write(Buffer.concat([length, out]))
        }
      }
    })
  })
  return {
    port,
    server: `127.0.0.1:${port}`,
    queries,
    close: async () => {
      for (const socket of connections) socket.destroy()
      await Promise.all([new Promise<void>((resolve) => udp.close(() => resolve())), new Promise<void>((resolve) => tcp.close(() => resolve()))])
    },
  }
}

/** A NAPTR answer record. */
export function naptr(name: string, order: number, preference: number, flags: string, services: string, regexp: string, replacement = '.', ttl = 300): dnsPacket.Answer {
  return { type: 'NAPTR', name, ttl, class: 'IN', data: { order, preference, flags, services, regexp, replacement } }
}

/** An authority-section SOA giving negative TTL `minimum` (RFC 2308). */
export function soa(zone: string, minimum: number, ttl = 3600): dnsPacket.Answer {
  return { type: 'SOA', name: zone, ttl, class: 'IN', data: { mname: `ns.${zone}`, rname: `hostmaster.${zone}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum } }
}
