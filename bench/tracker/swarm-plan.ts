/**
 * @module bench/tracker/swarm-plan
 * The benchmark swarm: `peers` peers of one torrent, each with its own peer id and port, spread
 * evenly over `pidCount` PIDs (PID p = 127.p.0.0/16). Peers announce from `hostsPerPid` source
 * addresses per PID, so the load generator can keep one keep-alive connection (HTTP) or one
 * socket (UDP) per source address; a peer always announces from the same address, so both
 * trackers see a stable ip:port (the stock tracker's key) and peer id (ours).
 */
import { createHash } from 'node:crypto'

export interface PlanOptions {
  peers: number
  pidCount: number
  hostsPerPid: number
  numwant: number
}

export interface BenchPeer {
  index: number
  /** PID number 1..pidCount: the second octet of the peer's address. */
  pid: number
  /** Index into {@link SwarmPlan.sources}. */
  source: number
  port: number
  peerId: Buffer
  /** Percent-encoded query prefix shared by every announce of this peer (no event). */
  query: string
}

export interface SwarmPlan {
  options: PlanOptions
  infoHash: Buffer
  /** Source addresses; `sources[k]` is in PID `k % pidCount + 1`. */
  sources: string[]
  peers: BenchPeer[]
}

const percent = (bytes: Uint8Array): string => {
  let out = ''
  for (const b of bytes) out += `%${b.toString(16).padStart(2, '0')}`
  return out
}

export function swarmPlan(options: PlanOptions): SwarmPlan {
  const infoHash = createHash('sha1').update('altokit tracker benchmark').digest()
  const sources: string[] = []
  for (let k = 0; k < options.pidCount * options.hostsPerPid; k++) {
    const pid = (k % options.pidCount) + 1
    const host = Math.floor(k / options.pidCount)
    sources.push(`127.${pid}.${1 + (host >> 8)}.${1 + (host & 0xff)}`)
  }
  const hashText = percent(infoHash)
  const peers: BenchPeer[] = []
  for (let i = 0; i < options.peers; i++) {
    const source = i % sources.length
    const peerId = Buffer.from(`-BM0001-${String(i).padStart(12, '0')}`, 'latin1')
    const port = 10_000 + i
    peers.push({
      index: i,
      pid: (source % options.pidCount) + 1,
      source,
      port,
      peerId,
      query: `/announce?info_hash=${hashText}&peer_id=${percent(peerId)}&port=${port}&uploaded=0&downloaded=0&left=1000&numwant=${options.numwant}&compact=1`,
    })
  }
  return { options, infoHash, sources, peers }
}

/** BEP 15 announce packet of a peer; connection and transaction ids are filled in per send. */
export function udpAnnounceTemplate(plan: SwarmPlan, peer: BenchPeer, event: 0 | 2): Buffer {
  const p = Buffer.alloc(98)
  p.writeUInt32BE(1, 8) // action: announce
  plan.infoHash.copy(p, 16)
  peer.peerId.copy(p, 36)
  p.writeBigUInt64BE(1000n, 64) // left
  p.writeUInt32BE(event, 80)
  p.writeUInt32BE(Math.floor(Math.random() * 2 ** 32), 88) // key
  p.writeInt32BE(plan.options.numwant, 92)
  p.writeUInt16BE(peer.port, 96)
  return p
}

/**
 * Peers returned in the requester's own PID, from compact IPv4 peers (PID = second octet); -1 if a
 * peer is not at a plan address (127.p.x.y, p in 1..pidCount): the tracker saw a wrong source.
 */
export function samePidCount(compact: Uint8Array, offset: number, pid: number, pidCount: number): number {
  let same = 0
  for (let i = offset; i + 6 <= compact.length; i += 6) {
    const p = compact[i + 1]!
    if (compact[i] !== 127 || p < 1 || p > pidCount) return -1
    if (p === pid) same++
  }
  return same
}
