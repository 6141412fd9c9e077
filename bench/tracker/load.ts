/**
 * @module bench/tracker/load
 * Load generators for the tracker benchmark, over loopback only. HTTP: `concurrency` workers,
 * each owning a share of the source addresses with one keep-alive undici connection per address,
 * one request in flight per worker. UDP: one socket per source address, BEP 15 connect once per
 * socket, then announces keeping `concurrency` in flight; an announce unanswered after
 * `udpTimeoutMs` is counted lost and replaced by a new one (nothing is retransmitted).
 *
 * Every answer is checked (bencoded dictionary with compact `peers` / BEP 15 announce action and
 * transaction id); answers completed inside [warm-up, warm-up + duration) are counted.
 */
import { createSocket, type Socket } from 'node:dgram'
import { performance } from 'node:perf_hooks'
import bencode from 'bencode'
import { Client } from 'undici'
import { samePidCount, udpAnnounceTemplate, type BenchPeer, type SwarmPlan } from './swarm-plan.ts'

export interface LoadOptions {
  concurrency: number
  warmupMs: number
  durationMs: number
  /** How long to wait for UDP answers still in flight at the end (HTTP: bounded by a 3 s request timeout). */
  drainMs: number
  udpTimeoutMs: number
  /** Called when the measured window opens and closes (e.g. to sample the tracker's CPU time). */
  mark?: (phase: 'start' | 'end') => void
}

export interface LoadResult {
  /** Valid answers completed inside the measured window. */
  answered: number
  /** Answers inside the window that were errors or did not check out, plus request errors. */
  failures: number
  /** UDP announces never answered (timed out). */
  lost: number
  windowS: number
  perSecond: number
  peersPerAnswer: number
  /** Share of returned peers in the requester's PID, computed from the answers. */
  clientLocality: number
  /** complete + incomplete of the last valid answer: the swarm size the tracker reports. */
  swarmSize: number
  latencyMs: { p50: number; p99: number }
  /** CPU time the bench process (load generator) used in the window, as a share of one core. */
  generatorCpu: number
  firstFailure?: string
}

class Tally {
  answered = 0
  failures = 0
  lost = 0
  peers = 0
  same = 0
  swarmSize = 0
  latencies: number[] = []
  firstFailure: string | undefined
  constructor(
    readonly start: number,
    readonly end: number,
  ) {}
  inWindow(t: number): boolean {
    return t >= this.start && t < this.end
  }
  ok(sentAt: number, doneAt: number, peers: number, same: number, swarmSize: number): void {
    if (!this.inWindow(doneAt)) return
    this.answered++
    this.peers += peers
    this.same += same
    this.swarmSize = swarmSize
    if (this.latencies.length < 200_000) this.latencies.push(doneAt - sentAt)
  }
  fail(doneAt: number, why: string): void {
    this.firstFailure ??= why
    if (this.inWindow(doneAt)) this.failures++
  }
  result(cpuMs: number): LoadResult {
    const windowS = (this.end - this.start) / 1000
    const sorted = Float64Array.from(this.latencies).sort()
    const q = (f: number) => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))]!)
    const out: LoadResult = {
      answered: this.answered,
      failures: this.failures,
      lost: this.lost,
      windowS,
      perSecond: this.answered / windowS,
      peersPerAnswer: this.answered === 0 ? 0 : this.peers / this.answered,
      clientLocality: this.peers === 0 ? 0 : this.same / this.peers,
      swarmSize: this.swarmSize,
      latencyMs: { p50: q(0.5), p99: q(0.99) },
      generatorCpu: cpuMs / (windowS * 1000),
    }
    if (this.firstFailure !== undefined) out.firstFailure = this.firstFailure
    return out
  }
}

/**
 * Timers marking the measured window [warm-up, warm-up + duration) from now: this process's CPU
 * time over it, and the caller's `mark` hooks. `closed` resolves when the window has closed.
 */
function windowMeter(options: LoadOptions): { t0: number; closed: Promise<number>; cancel: () => void } {
  const t0 = performance.now()
  let cpuStart: NodeJS.CpuUsage | undefined
  let cancel!: () => void
  const closed = new Promise<number>((resolve, reject) => {
    const timers = [
      setTimeout(() => {
        options.mark?.('start')
        cpuStart = process.cpuUsage()
      }, options.warmupMs),
      setTimeout(() => {
        const d = process.cpuUsage(cpuStart)
        options.mark?.('end')
        resolve(cpuStart ? (d.user + d.system) / 1000 : Number.NaN)
      }, options.warmupMs + options.durationMs),
    ]
    cancel = () => {
      for (const t of timers) clearTimeout(t)
      reject(new Error('cancelled'))
    }
  })
  closed.catch(() => undefined)
  return { t0, closed, cancel }
}

/** The peers of the sources a worker owns (source % workers === w), in a fixed shuffled order. */
function workerPeers(plan: SwarmPlan, workers: number): BenchPeer[][] {
  if (plan.sources.length < workers) throw new Error(`need at least ${workers} source addresses, have ${plan.sources.length}`)
  const out: BenchPeer[][] = Array.from({ length: workers }, () => [])
  for (const peer of plan.peers) out[peer.source % workers]!.push(peer)
  let seed = 7
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)
  for (const list of out) {
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1))
      ;[list[i], list[j]] = [list[j]!, list[i]!]
    }
  }
  return out
}

/** Check a bencoded announce answer; returns [peers, same-PID peers, swarm size] or a reason. */
function checkHttp(body: Buffer, pid: number, pidCount: number): [number, number, number] | string {
  let decoded: Record<string, unknown>
  try {
    decoded = bencode.decode(body) as Record<string, unknown>
  } catch {
    return `not bencoded: ${body.subarray(0, 60).toString('latin1')}`
  }
  if (decoded['failure reason'] !== undefined) return `failure reason: ${Buffer.from(decoded['failure reason'] as Uint8Array).toString()}`
  const peers = decoded.peers
  if (!(peers instanceof Uint8Array) || peers.length % 6 !== 0) return 'no compact peers'
  const same = samePidCount(peers, 0, pid, pidCount)
  if (same < 0) return 'a returned peer is not at a benchmark address'
  const swarm = Number(decoded.complete ?? 0) + Number(decoded.incomplete ?? 0)
  return [peers.length / 6, same, swarm]
}

function httpClients(plan: SwarmPlan, origin: string): Client[] {
  return plan.sources.map((localAddress) => new Client(origin, { localAddress, pipelining: 1, keepAliveTimeout: 4000, headersTimeout: 3000, bodyTimeout: 3000 }))
}

async function closeAll(clients: Client[]): Promise<void> {
  await Promise.all(clients.map((c) => c.destroy().catch(() => undefined)))
}

async function httpGet(client: Client, path: string): Promise<Buffer> {
  const { statusCode, body } = await client.request({ path, method: 'GET' })
  const bytes = Buffer.from(await body.arrayBuffer())
  if (statusCode !== 200) throw new Error(`HTTP ${statusCode}`)
  return bytes
}

/** Every peer announces `started` once over HTTP. Resolves with the failures (must be 0). */
export async function populateHttp(plan: SwarmPlan, announceUrl: string, concurrency: number): Promise<{ ms: number; failures: number; firstFailure?: string }> {
  const origin = new URL(announceUrl).origin
  const clients = httpClients(plan, origin)
  const started = performance.now()
  let failures = 0
  let firstFailure: string | undefined
  try {
    await Promise.all(
      workerPeers(plan, concurrency).map(async (peers) => {
        for (const peer of peers) {
          try {
            const checked = checkHttp(await httpGet(clients[peer.source]!, `${peer.query}&event=started`), peer.pid, plan.options.pidCount)
            if (typeof checked === 'string') throw new Error(checked)
          } catch (error) {
            failures++
            firstFailure ??= (error as Error).message
          }
        }
      }),
    )
  } finally {
    await closeAll(clients)
  }
  return { ms: performance.now() - started, failures, ...(firstFailure ? { firstFailure } : {}) }
}

/** Steady-state HTTP announces (no event) for warm-up + duration. */
export async function httpLoad(plan: SwarmPlan, announceUrl: string, options: LoadOptions): Promise<LoadResult> {
  const origin = new URL(announceUrl).origin
  const clients = httpClients(plan, origin)
  const meter = windowMeter(options)
  const tally = new Tally(meter.t0 + options.warmupMs, meter.t0 + options.warmupMs + options.durationMs)
  try {
    await Promise.all(
      workerPeers(plan, options.concurrency).map(async (peers) => {
        for (let i = 0; performance.now() < tally.end; i = (i + 1) % peers.length) {
          const peer = peers[i]!
          const sentAt = performance.now()
          try {
            const body = await httpGet(clients[peer.source]!, peer.query)
            const doneAt = performance.now()
            const checked = checkHttp(body, peer.pid, plan.options.pidCount)
            if (typeof checked === 'string') tally.fail(doneAt, checked)
            else tally.ok(sentAt, doneAt, checked[0], checked[1], checked[2])
          } catch (error) {
            tally.fail(performance.now(), (error as Error).message)
          }
        }
      }),
    )
    return tally.result(await meter.closed)
  } finally {
    meter.cancel()
    await closeAll(clients)
  }
}

/** Connect every socket (BEP 15); a connect may be retried, announces never are. */
async function udpConnect(sockets: Socket[], host: string, port: number, timeoutMs: number): Promise<Buffer[]> {
  const ids: Buffer[] = []
  for (let start = 0; start < sockets.length; start += 32) {
    const batch = sockets.slice(start, start + 32).map(async (socket, j) => {
      for (let attempt = 0; attempt < 3; attempt++) {
        const transactionId = (start + j) * 4 + attempt
        const packet = Buffer.alloc(16)
        packet.writeBigUInt64BE(0x41727101980n, 0)
        packet.writeUInt32BE(0, 8)
        packet.writeUInt32BE(transactionId, 12)
        const answer = await new Promise<Buffer | undefined>((resolve) => {
          const timer = setTimeout(() => (socket.off('message', onMessage), resolve(undefined)), timeoutMs)
          const onMessage = (msg: Buffer) => {
            if (msg.length < 16 || msg.readUInt32BE(4) !== transactionId) return
            clearTimeout(timer)
            socket.off('message', onMessage)
            resolve(msg)
          }
          socket.on('message', onMessage)
          socket.send(packet, port, host)
        })
        if (answer && answer.readUInt32BE(0) === 0) return Buffer.from(answer.subarray(8, 16))
      }
      throw new Error(`no UDP connect answer from ${host}:${port}`)
    })
    ids.push(...(await Promise.all(batch)))
  }
  return ids
}

async function udpSockets(plan: SwarmPlan): Promise<Socket[]> {
  return Promise.all(
    plan.sources.map(
      (address) =>
        new Promise<Socket>((resolve, reject) => {
          const socket = createSocket('udp4')
          socket.once('error', reject)
          socket.bind(0, address, () => (socket.off('error', reject), socket.on('error', () => undefined), resolve(socket)))
        }),
    ),
  )
}

/** Steady-state UDP announces (event none) for warm-up + duration, `concurrency` in flight. */
export async function udpLoad(plan: SwarmPlan, udpUrl: string, options: LoadOptions): Promise<LoadResult> {
  const url = new URL(udpUrl.replace(/^udp:/, 'http:'))
  const host = url.hostname
  const port = Number(url.port)
  const sockets = await udpSockets(plan)
  try {
    const connectionIds = await udpConnect(sockets, host, port, 1000)
    const templates = plan.peers.map((peer) => {
      const t = udpAnnounceTemplate(plan, peer, 0)
      connectionIds[peer.source]!.copy(t, 0)
      return t
    })
    const order = workerPeers(plan, 1)[0]!
    const pending = new Map<number, { peer: BenchPeer; sentAt: number }>()
    const meter = windowMeter(options)
    const tally = new Tally(meter.t0 + options.warmupMs, meter.t0 + options.warmupMs + options.durationMs)
    let next = 0
    let transactionId = 1
    let done!: () => void
    const finished = new Promise<void>((resolve) => (done = resolve))

    const send = () => {
      if (performance.now() >= tally.end) {
        if (pending.size === 0) done()
        return
      }
      const peer = order[next]!
      next = (next + 1) % order.length
      const id = transactionId
      transactionId = (transactionId + 1) >>> 0 || 1
      const packet = Buffer.from(templates[peer.index]!)
      packet.writeUInt32BE(id, 12)
      pending.set(id, { peer, sentAt: performance.now() })
      sockets[peer.source]!.send(packet, port, host)
    }
    const onMessage = (msg: Buffer) => {
      const doneAt = performance.now()
      if (msg.length < 8) return
      const entry = pending.get(msg.readUInt32BE(4))
      if (!entry) return // a late answer to an announce already counted lost
      pending.delete(msg.readUInt32BE(4))
      const action = msg.readUInt32BE(0)
      const same = action === 1 && msg.length >= 20 && (msg.length - 20) % 6 === 0 ? samePidCount(msg, 20, entry.peer.pid, plan.options.pidCount) : -2
      if (same === -2) tally.fail(doneAt, action === 3 ? `error: ${msg.subarray(8).toString()}` : `bad announce answer (action ${action}, ${msg.length} bytes)`)
      else if (same === -1) tally.fail(doneAt, 'a returned peer is not at a benchmark address')
      else tally.ok(entry.sentAt, doneAt, (msg.length - 20) / 6, same, msg.readUInt32BE(12) + msg.readUInt32BE(16))
      send()
    }
    for (const socket of sockets) socket.on('message', onMessage)
    const reaper = setInterval(() => {
      const now = performance.now()
      for (const [id, entry] of pending) {
        if (now - entry.sentAt < options.udpTimeoutMs) continue
        pending.delete(id)
        if (tally.inWindow(now)) tally.lost++
        send()
      }
      if (now >= tally.end + options.drainMs) done()
    }, 50)
    try {
      for (let i = 0; i < options.concurrency; i++) send()
      await finished
      return tally.result(await meter.closed)
    } finally {
      clearInterval(reaper)
      meter.cancel()
    }
  } finally {
    for (const socket of sockets) socket.close()
  }
}

/** GET a JSON document (the tracker's /stats). */
export async function getJson(url: string): Promise<Record<string, any>> {
  const u = new URL(url)
  const client = new Client(u.origin)
  try {
    return JSON.parse((await httpGet(client, u.pathname + u.search)).toString('utf8')) as Record<string, any>
  } finally {
    await client.close()
  }
}
