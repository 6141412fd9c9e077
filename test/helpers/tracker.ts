/**
 * Test helpers for the tracker: an ALTO server whose PIDs are loopback /16s, and raw HTTP and
 * UDP announces sent from a chosen source address.
 */
import { request } from 'node:http'
import { createSocket } from 'node:dgram'
import bencode from 'bencode'
import { pino } from 'pino'
import { buildSnapshot } from '../../src/provisioning/snapshot.ts'
import { createAltoServer } from '../../src/server/app.ts'

/** PIDs pid-a/b/c = 127.1/16, 127.2/16, 127.3/16 (and ::1 in pid-a); everything else in `default`. */
export function loopbackAltoServer() {
  const snapshot = buildSnapshot({
    networkMaps: [
      {
        id: 'lab',
        pids: {
          'pid-a': { ipv4: ['127.1.0.0/16'], ipv6: ['::1/128'] },
          'pid-b': { ipv4: ['127.2.0.0/16'] },
          'pid-c': { ipv4: ['127.3.0.0/16'] },
          default: { ipv4: ['0.0.0.0/0'], ipv6: ['::/0'] },
        },
      },
    ],
    costMaps: [
      {
        networkMap: 'lab',
        metric: 'routingcost',
        intraPid: 1,
        default: 20,
        costs: { 'pid-a': { 'pid-b': 5, 'pid-c': 9 }, 'pid-b': { 'pid-a': 5, 'pid-c': 5 }, 'pid-c': { 'pid-a': 9, 'pid-b': 5 } },
      },
    ],
    properties: [],
  })
  return createAltoServer(snapshot, { port: 0, logger: pino({ level: 'silent' }), limits: { rateLimit: { max: 0, windowMs: 1000 } } })
}

export function percentBytes(bytes: Uint8Array): string {
  return [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')
}

export interface HttpAnnounce {
  infoHash: Buffer
  peerId: Buffer
  port?: number | undefined
  left?: number
  event?: string
  numwant?: number
  compact?: 0 | 1
  extra?: string
}

/** GET /announce from `localAddress`; resolves with the decoded bencoded body. */
export function httpAnnounce(trackerUrl: string, localAddress: string, a: HttpAnnounce, rawQuery?: string): Promise<Record<string, any>> {
  const parts = [`info_hash=${percentBytes(a.infoHash)}`, `peer_id=${percentBytes(a.peerId)}`]
  if (a.port !== undefined) parts.push(`port=${a.port}`)
  parts.push(`uploaded=0`, `downloaded=0`, `left=${a.left ?? 1000}`)
  if (a.event) parts.push(`event=${a.event}`)
  if (a.numwant !== undefined) parts.push(`numwant=${a.numwant}`)
  parts.push(`compact=${a.compact ?? 1}`)
  if (a.extra) parts.push(a.extra)
  const url = new URL(trackerUrl)
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port, path: `${url.pathname}?${rawQuery ?? parts.join('&')}`, localAddress }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        try {
          resolve(bencode.decode(Buffer.concat(chunks)) as Record<string, any>)
        } catch (error) {
          reject(error)
        }
      })
    })
    req.on('error', reject)
    req.setTimeout(5000, () => req.destroy(new Error('timeout')))
    req.end()
  })
}

/** Decode BEP 23 compact IPv4 peers. */
export function compactPeers(bytes: Uint8Array | undefined, size = 6): string[] {
  const out: string[] = []
  if (!bytes) return out
  const b = Buffer.from(bytes)
  for (let i = 0; i + size <= b.length; i += size) {
    if (size === 6) out.push(`${b[i]}.${b[i + 1]}.${b[i + 2]}.${b[i + 3]}:${b.readUInt16BE(i + 4)}`)
    else out.push(`[${Array.from({ length: 8 }, (_, j) => b.readUInt16BE(i + 2 * j).toString(16)).join(':')}]:${b.readUInt16BE(i + 16)}`)
  }
  return out
}

/** A BEP 15 client bound to `localAddress`; every exchange bounded by a timeout. */
export async function udpClient(host: string, port: number, localAddress: string) {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
  await new Promise<void>((resolve) => socket.bind(0, localAddress, resolve))
  const exchange = (packet: Buffer, timeoutMs = 2000): Promise<Buffer | undefined> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => (socket.off('message', onMessage), resolve(undefined)), timeoutMs)
      const onMessage = (msg: Buffer) => (clearTimeout(timer), socket.off('message', onMessage), resolve(msg))
      socket.on('message', onMessage)
      socket.send(packet, port, host)
    })
  return {
    exchange,
    async connect(): Promise<Buffer> {
      const packet = Buffer.alloc(16)
      packet.writeBigUInt64BE(0x41727101980n, 0)
      packet.writeUInt32BE(0, 8)
      packet.writeUInt32BE(1234, 12)
      const answer = await exchange(packet)
      if (!answer || answer.readUInt32BE(0) !== 0) throw new Error('no connect answer')
      return answer.subarray(8, 16)
    },
    announcePacket(connectionId: Buffer, a: { infoHash: Buffer; peerId: Buffer; port: number; left?: number; event?: number; numwant?: number }): Buffer {
      const p = Buffer.alloc(98)
      connectionId.copy(p, 0)
      p.writeUInt32BE(1, 8)
      p.writeUInt32BE(99, 12)
      a.infoHash.copy(p, 16)
      a.peerId.copy(p, 36)
      p.writeBigUInt64BE(BigInt(a.left ?? 1000), 64)
      p.writeUInt32BE(a.event ?? 2, 80)
      p.writeInt32BE(a.numwant ?? -1, 92)
      p.writeUInt16BE(a.port, 96)
      return p
    },
    close: () => socket.close(),
  }
}
