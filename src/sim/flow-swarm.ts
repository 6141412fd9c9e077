/**
 * @module sim/flow-swarm
 * A flow-level BitTorrent swarm on a virtual clock (time steps of `dt` seconds). Pieces move over
 * connections between neighbours; every uploader splits its upload capacity equally among its
 * unchoked downloads (at most `uploadSlots`), and a downloader receiving more than its download
 * capacity has its incoming flows scaled down in proportion (and so do flows over a full link
 * between PIDs, when `pidUplink` is set). Leechers unchoke by tit-for-tat (the
 * bytes each neighbour sent them since the last rechoke) plus one optimistic unchoke rotated every
 * `optimisticInterval`; seeders unchoke interested neighbours at random. Pieces are chosen
 * rarest-first (swarm-wide availability), partially received pieces first. A cut transfer keeps
 * its bytes (BitTorrent requests 16 KiB blocks, so a piece can be finished from another peer), so
 * nothing is ever sent twice and bytes are conserved. Who connects to whom comes from a
 * {@link PeerSelector}: the real tracker and client ranking code.
 */
import type { Rng } from '../cost/rank.ts'
import type { Progress } from './result.ts'

export type Role = 'super-seed' | 'seeder' | 'leecher'

export interface FlowPeer {
  pid: number
  /** Upload capacity, bytes/s. */
  up: number
  /** Download capacity, bytes/s. */
  down: number
  /** Simulated time of joining, s. */
  joinAt: number
  /** Super-seed: has the file from the start. Seeder: stays after completing. Leecher: leaves at once. */
  role: Role
}

/** Where new neighbours come from: a tracker announce, and how the peer orders the list it gets. */
export interface PeerSelector {
  join(peer: number): void
  /** The peer completed the download (announce `completed`: it is a seeder now). */
  complete(peer: number): void
  leave(peer: number): void
  /** Announce; returns the peers to connect to, in the order to try them. */
  announce(peer: number): number[]
}

export interface FlowOptions {
  pieces: number
  pieceSize: number
  /** Concurrent uploads per peer (BitTorrent's unchoke slots, optimistic one included). @default 4 */
  uploadSlots?: number
  /** Most connections per peer, both directions. @default 40 */
  maxConnections?: number
  /** Re-announce when a peer has fewer neighbours than this (at most every `minAnnounceInterval`). @default 10 */
  minNeighbours?: number
  /** @default 30 */
  minAnnounceInterval?: number
  /** Regular re-announce of peers that are not yet done. @default 300 */
  announceInterval?: number
  /** @default 10 */
  rechokeInterval?: number
  /** @default 30 */
  optimisticInterval?: number
  /** Time step, s. @default 1 */
  dt?: number
  /** Stop here even if peers are unfinished, s. @default 7200 */
  maxTime?: number
  /**
   * Capacity of each PID's link to the rest of the network, bytes/s in each direction, shared by
   * all traffic leaving (or entering) the PID; flows over a full link are scaled down in
   * proportion. 0 = unlimited (only the peers' access links limit). @default 0
   */
  pidUplink?: number
}

export interface FlowRun {
  /** Simulated time at the end. */
  endTime: number
  /** Per peer: completion time (NaN = never), bytes up and down. */
  doneAt: Float64Array
  uploaded: Float64Array
  downloaded: Float64Array
  /** Bytes sent from PID a to PID b at [a * pidCount + b]. */
  traffic: Float64Array
  /** Bytes of pieces completed plus bytes of pieces partly received, over all peers. */
  useful: number
  announces: number
}

/**
 * A transfer in progress. Its per-step numbers live in typed arrays at index `slot` (see
 * `runFlowSwarm`), so that the two passes over all transfers each step read memory in order.
 */
class Transfer {
  readonly from: number
  readonly to: number
  piece: number
  /** Index of the (uploader PID, downloader PID) pair in the traffic matrix. */
  readonly pair: number
  /** Position in the list of transfers in progress and in the per-transfer arrays. */
  slot = -1
  constructor(from: number, to: number, piece: number, pair: number) {
    this.from = from
    this.to = to
    this.piece = piece
    this.pair = pair
  }
}

export function runFlowSwarm(peers: readonly FlowPeer[], pidCount: number, selector: PeerSelector, options: FlowOptions, rng: Rng, progress?: Progress): FlowRun {
  const N = peers.length
  const P = options.pieces
  const W = (P + 31) >>> 5
  const S = options.pieceSize
  const slots = options.uploadSlots ?? 4
  const maxConnections = options.maxConnections ?? 40
  const minNeighbours = options.minNeighbours ?? 10
  const minAnnounceInterval = options.minAnnounceInterval ?? 30
  const announceInterval = options.announceInterval ?? 300
  const dt = options.dt ?? 1
  const rechokeTicks = Math.max(1, Math.round((options.rechokeInterval ?? 10) / dt))
  const optimisticInterval = options.optimisticInterval ?? 30
  const maxTime = options.maxTime ?? 7200

  const up = Float64Array.from(peers, (p) => p.up)
  const pid = Int32Array.from(peers, (p) => p.pid)
  const leaves = Uint8Array.from(peers, (p) => (p.role === 'leecher' ? 1 : 0))
  const isSuper = Uint8Array.from(peers, (p) => (p.role === 'super-seed' ? 1 : 0))
  // Per peer, side by side so that one cache line serves a lookup: the pieces it has (W words),
  // then the pieces it is receiving (W words).
  const bits = new Int32Array(N * 2 * W)
  // Per peer: download capacity, bytes/s offered to it this step, the step that sum belongs to.
  const dl = new Float64Array(N * 3)
  peers.forEach((p, i) => (dl[3 * i] = p.down))
  const partial = new Float64Array(N * P)
  const haveCount = new Int32Array(N)
  const availability = new Int32Array(P)
  const state = new Uint8Array(N) // 0 not yet joined, 1 in the swarm, 2 left
  const done = new Uint8Array(N)
  const doneAt = new Float64Array(N).fill(Number.NaN)
  const uploaded = new Float64Array(N)
  const downloaded = new Float64Array(N)
  const traffic = new Float64Array(pidCount * pidCount)
  const neighbours: number[][] = Array.from({ length: N }, () => [])
  const outgoing: Transfer[][] = Array.from({ length: N }, () => [])
  const incoming: Transfer[][] = Array.from({ length: N }, () => [])
  const lastAnnounce = new Float64Array(N).fill(Number.NEGATIVE_INFINITY)
  const optimistic = new Int32Array(N).fill(-1)
  const optimisticUntil = new Float64Array(N)
  /** Every transfer in progress; `Transfer.slot` is its position. */
  const transfers: Transfer[] = []
  // Per transfer, by slot: receiver, bytes left of the current piece, bytes since the receiver's
  // last rechoke (its tit-for-tat), uploader capacity over its number of uploads, bytes not yet
  // added to the totals. An uploader has at most `slots` transfers.
  const capacity = N * slots
  const xTo = new Int32Array(capacity)
  const xRemaining = new Float64Array(capacity)
  const xPeriod = new Float64Array(capacity)
  const xShare = new Float64Array(capacity)
  const xSent = new Float64Array(capacity)
  const xPair = new Int32Array(capacity)
  const xRate = new Float64Array(capacity)
  const pidUplink = options.pidUplink ?? 0
  const egress = new Float64Array(pidCount)
  const ingress = new Float64Array(pidCount)
  const score = new Float64Array(N)
  const queued = new Uint8Array(N)
  let fillQueue: number[] = []
  const active: number[] = []
  const position = new Int32Array(N).fill(-1)
  const leaving: number[] = []
  /** Completed this step and staying: dropped from their seeder neighbours at the end of the step. */
  const completed: number[] = []
  const lastMask = P % 32 === 0 ? -1 : (1 << (P % 32)) - 1

  const toFinish = peers.filter((p) => p.role !== 'super-seed').length
  let finished = 0
  let announces = 0
  let t = 0

  const joinOrder = peers.map((_, i) => i).sort((a, b) => peers[a]!.joinAt - peers[b]!.joinAt || a - b)
  let nextJoin = 0

  const interested = (u: number, d: number): boolean => {
    if (done[d]) return false
    const ub = u * 2 * W
    const db = d * 2 * W
    for (let w = 0; w < W; w++) if ((bits[ub + w]! & ~bits[db + w]! & ~bits[db + W + w]!) !== 0) return true
    return false
  }

  const servedBy = (u: number, d: number): boolean => {
    for (const tr of outgoing[u]!) if (tr.to === d) return true
    return false
  }

  const pickPiece = (u: number, d: number): number => {
    let best = -1
    let bestScore = Number.POSITIVE_INFINITY
    let ties = 0
    const ub = u * 2 * W
    const db = d * 2 * W
    for (let w = 0; w < W; w++) {
      let candidates = bits[ub + w]! & ~bits[db + w]! & ~bits[db + W + w]!
      while (candidates !== 0) {
        const low = candidates & -candidates
        candidates ^= low
        const p = w * 32 + (31 - Math.clz32(low))
        const s = partial[d * P + p]! > 0 ? -1 : availability[p]!
        if (s < bestScore) {
          best = p
          bestScore = s
          ties = 1
        } else if (s === bestScore && rng() * ++ties < 1) {
          best = p
        }
      }
    }
    return best
  }

  const queueFill = (u: number): void => {
    if (queued[u] || state[u] !== 1) return
    queued[u] = 1
    fillQueue.push(u)
  }

  const setPending = (d: number, p: number, on: boolean): void => {
    const i = d * 2 * W + W + (p >>> 5)
    const bit = 1 << (p & 31)
    bits[i] = on ? bits[i]! | bit : bits[i]! & ~bit
  }

  const setShares = (u: number): void => {
    const out = outgoing[u]!
    const share = up[u]! / out.length
    for (const tr of out) xShare[tr.slot] = share
  }

  /** Add a transfer's bytes to the peers' and PIDs' totals. */
  const flush = (tr: Transfer): void => {
    const sent = xSent[tr.slot]!
    uploaded[tr.from]! += sent
    downloaded[tr.to]! += sent
    traffic[tr.pair]! += sent
    xSent[tr.slot] = 0
  }

  const startTransfer = (u: number, d: number): boolean => {
    const p = pickPiece(u, d)
    if (p < 0) return false
    const tr = new Transfer(u, d, p, pid[u]! * pidCount + pid[d]!)
    const k = transfers.length
    tr.slot = k
    transfers.push(tr)
    xTo[k] = d
    xRemaining[k] = S - partial[d * P + p]!
    xPeriod[k] = 0
    xSent[k] = 0
    xPair[k] = tr.pair
    setPending(d, p, true)
    outgoing[u]!.push(tr)
    incoming[d]!.push(tr)
    setShares(u)
    return true
  }

  const endTransfer = (tr: Transfer, cut: boolean): void => {
    if (cut) {
      partial[tr.to * P + tr.piece] = S - xRemaining[tr.slot]!
      setPending(tr.to, tr.piece, false)
    }
    flush(tr)
    removeFrom(outgoing[tr.from]!, tr)
    removeFrom(incoming[tr.to]!, tr)
    setShares(tr.from)
    const last = transfers.pop()!
    if (last !== tr) {
      const from = transfers.length
      const to = tr.slot
      transfers[to] = last
      last.slot = to
      xTo[to] = xTo[from]!
      xRemaining[to] = xRemaining[from]!
      xPeriod[to] = xPeriod[from]!
      xShare[to] = xShare[from]!
      xSent[to] = xSent[from]!
      xPair[to] = xPair[from]!
    }
    tr.slot = -1
    queueFill(tr.from)
  }

  const endTransfersTo = (u: number, d: number): void => {
    const out = outgoing[u]!
    for (let k = out.length - 1; k >= 0; k--) if (out[k]!.to === d) endTransfer(out[k]!, true)
  }

  const disconnect = (a: number, b: number): void => {
    endTransfersTo(a, b)
    endTransfersTo(b, a)
    removeFrom(neighbours[a]!, b)
    removeFrom(neighbours[b]!, a)
  }

  const connect = (a: number, b: number): void => {
    if (a === b || state[b] !== 1 || (done[a] && done[b])) return
    const na = neighbours[a]!
    const nb = neighbours[b]!
    if (na.length >= maxConnections || nb.length >= maxConnections || na.includes(b)) return
    na.push(b)
    nb.push(a)
    queueFill(b)
  }

  const announce = (i: number): void => {
    lastAnnounce[i] = t
    announces++
    for (const j of selector.announce(i)) connect(i, j)
    queueFill(i)
  }

  const gotPiece = (d: number, p: number): void => {
    const i = d * 2 * W + (p >>> 5)
    const bit = 1 << (p & 31)
    bits[i] = bits[i]! | bit
    bits[i + W] = bits[i + W]! & ~bit
    partial[d * P + p] = 0
    availability[p]!++
    if (++haveCount[d]! === P) {
      done[d] = 1
      doneAt[d] = t + dt
      finished++
      selector.complete(d)
      if (leaves[d]) leaving.push(d)
      else completed.push(d)
    }
    if (outgoing[d]!.length < slots) queueFill(d)
  }

  /** Move `bytes` along a transfer; true when the transfer ended (nothing more to send). */
  const deliver = (tr: Transfer, bytes: number): boolean => {
    const u = tr.from
    const d = tr.to
    const k = tr.slot
    let sent = 0
    while (bytes > 0) {
      const remaining = xRemaining[k]!
      const take = bytes < remaining ? bytes : remaining
      xRemaining[k] = remaining - take
      bytes -= take
      sent += take
      if (remaining - take > 0) break
      gotPiece(d, tr.piece)
      const next = pickPiece(u, d)
      if (next < 0) {
        xPeriod[k]! += sent
        xSent[k]! += sent
        endTransfer(tr, false)
        return true
      }
      tr.piece = next
      xRemaining[k] = S - partial[d * P + next]!
      setPending(d, next, true)
    }
    xPeriod[k]! += sent
    xSent[k]! += sent
    return false
  }

  // Scratch space for fill and rechoke (neither runs inside the other).
  const cand = new Int32Array(maxConnections + 1)
  const chosen = new Int32Array(slots)

  const fill = (u: number): void => {
    if (state[u] !== 1 || haveCount[u] === 0 || up[u] === 0) return
    let free = slots - outgoing[u]!.length
    if (free <= 0) return
    let m = 0
    for (const n of neighbours[u]!) if (!servedBy(u, n) && interested(u, n)) cand[m++] = n
    while (free > 0 && m > 0) {
      const k = Math.floor(rng() * m)
      const n = cand[k]!
      cand[k] = cand[--m]!
      if (startTransfer(u, n)) free--
    }
  }

  const swap = (a: number, b: number): void => {
    const x = cand[a]!
    cand[a] = cand[b]!
    cand[b] = x
  }

  const rechoke = (u: number): void => {
    if (haveCount[u] === 0 || up[u] === 0) return
    let m = 0
    for (const n of neighbours[u]!) if (servedBy(u, n) || interested(u, n)) cand[m++] = n
    for (const tr of incoming[u]!) score[tr.from]! += xPeriod[tr.slot]!
    let c = 0
    if (m <= slots) {
      for (let k = 0; k < m; k++) chosen[c++] = cand[k]!
    } else if (done[u]) {
      // Seeding: interested neighbours take turns, drawn at random.
      for (let k = 0; k < slots; k++) {
        swap(k, k + Math.floor(rng() * (m - k)))
        chosen[c++] = cand[k]!
      }
    } else {
      // Tit-for-tat: the neighbours that sent most since the last rechoke, ties at random ...
      for (let k = 0; k < slots - 1; k++) {
        let best = k
        let ties = 1
        for (let j = k + 1; j < m; j++) {
          const a = score[cand[j]!]!
          const b = score[cand[best]!]!
          if (a > b) {
            best = j
            ties = 1
          } else if (a === b && rng() * ++ties < 1) {
            best = j
          }
        }
        swap(k, best)
        chosen[c++] = cand[k]!
      }
      // ... and one optimistic unchoke among the others, kept for `optimisticInterval`.
      let opt = optimistic[u]!
      let keep = false
      if (opt >= 0 && t < optimisticUntil[u]!) for (let j = slots - 1; j < m; j++) if (cand[j] === opt) keep = true
      if (!keep) {
        opt = cand[slots - 1 + Math.floor(rng() * (m - slots + 1))]!
        optimistic[u] = opt
        optimisticUntil[u] = t + optimisticInterval
      }
      chosen[c++] = opt
    }
    for (const tr of incoming[u]!) {
      score[tr.from] = 0
      xPeriod[tr.slot] = 0
    }
    const out = outgoing[u]!
    // Backwards: endTransfer swaps the last entry into the freed place.
    for (let k = out.length - 1; k >= 0; k--) {
      const to = out[k]!.to
      let keep = false
      for (let j = 0; j < c; j++) if (chosen[j] === to) keep = true
      if (!keep) endTransfer(out[k]!, true)
    }
    for (let j = 0; j < c; j++) if (out.length < slots && !servedBy(u, chosen[j]!)) startTransfer(u, chosen[j]!)
    if (out.length < slots) queueFill(u)
  }

  const join = (i: number): void => {
    state[i] = 1
    position[i] = active.length
    active.push(i)
    if (peers[i]!.role === 'super-seed') {
      for (let w = 0; w < W; w++) bits[i * 2 * W + w] = w === W - 1 ? lastMask : -1
      haveCount[i] = P
      done[i] = 1
      for (let p = 0; p < P; p++) availability[p]!++
    }
    selector.join(i)
    if (peers[i]!.role !== 'super-seed') announce(i)
  }

  const leave = (i: number): void => {
    const out = outgoing[i]!
    while (out.length > 0) endTransfer(out[out.length - 1]!, true)
    const inc = incoming[i]!
    while (inc.length > 0) endTransfer(inc[inc.length - 1]!, true)
    for (const n of neighbours[i]!) removeFrom(neighbours[n]!, i)
    neighbours[i] = []
    for (let p = 0; p < P; p++) if (bits[i * 2 * W + (p >>> 5)]! & (1 << (p & 31))) availability[p]!--
    selector.leave(i)
    state[i] = 2
    const at = position[i]!
    const last = active.pop()!
    if (last !== i) {
      active[at] = last
      position[last] = at
    }
    position[i] = -1
  }

  let tick = 0
  while (t < maxTime && finished < toFinish) {
    while (nextJoin < N && peers[joinOrder[nextJoin]!]!.joinAt <= t) join(joinOrder[nextJoin++]!)

    for (let a = 0; a < active.length; a++) {
      const i = active[a]!
      if ((tick + i) % rechokeTicks === 0) rechoke(i)
      const sinceAnnounce = t - lastAnnounce[i]!
      if (!isSuper[i] && ((neighbours[i]!.length < minNeighbours && sinceAnnounce >= minAnnounceInterval) || (!done[i] && sinceAnnounce >= announceInterval))) announce(i)
    }
    while (fillQueue.length > 0) {
      const batch = fillQueue
      fillQueue = []
      for (const u of batch) {
        queued[u] = 0
        fill(u)
      }
    }

    // Rates: equal shares of each uploader, then capped by each downloader's capacity (one pass
    // to sum what each downloader is offered, one to scale and move the bytes).
    for (let k = 0; k < transfers.length; k++) {
      const at = 3 * xTo[k]!
      if (dl[at + 2] !== tick) {
        dl[at + 2] = tick
        dl[at + 1] = xShare[k]!
      } else {
        dl[at + 1]! += xShare[k]!
      }
    }
    for (let k = 0; k < transfers.length; k++) {
      const at = 3 * xTo[k]!
      const total = dl[at + 1]!
      const cap = dl[at]!
      xRate[k] = total > cap ? (xShare[k]! * cap) / total : xShare[k]!
    }
    if (pidUplink > 0) {
      // Links between PIDs: flows over a full one are scaled down in proportion.
      egress.fill(0)
      ingress.fill(0)
      for (let k = 0; k < transfers.length; k++) {
        const src = (xPair[k]! / pidCount) | 0
        const dst = xPair[k]! % pidCount
        if (src === dst) continue
        egress[src]! += xRate[k]!
        ingress[dst]! += xRate[k]!
      }
      for (let k = 0; k < transfers.length; k++) {
        const src = (xPair[k]! / pidCount) | 0
        const dst = xPair[k]! % pidCount
        if (src === dst) continue
        xRate[k]! *= Math.min(1, pidUplink / egress[src]!, pidUplink / ingress[dst]!)
      }
    }
    // Backwards, so that a transfer that ends (swapped out for the last one) is never skipped.
    for (let k = transfers.length - 1; k >= 0; k--) {
      const bytes = xRate[k]! * dt
      if (bytes < xRemaining[k]!) {
        // The common case: no piece completes this step.
        xRemaining[k]! -= bytes
        xPeriod[k]! += bytes
        xSent[k]! += bytes
      } else {
        deliver(transfers[k]!, bytes)
      }
    }
    for (const i of leaving) leave(i)
    leaving.length = 0
    // Seeders have nothing to give each other.
    for (const d of completed) for (const n of [...neighbours[d]!]) if (done[n]) disconnect(d, n)
    completed.length = 0

    t += dt
    tick++
    if (progress && tick % 10 === 0) progress(finished / Math.max(1, toFinish))
  }

  for (const tr of transfers) flush(tr)
  let useful = 0
  for (let i = 0; i < N; i++) {
    if (peers[i]!.role === 'super-seed') continue
    useful += haveCount[i]! * S
    for (let p = 0; p < P; p++) useful += partial[i * P + p]!
  }
  // In flight: the bytes of the current piece so far, less what `partial` already counted of it.
  for (const tr of transfers) useful += S - xRemaining[tr.slot]! - partial[tr.to * P + tr.piece]!
  return { endTime: t, doneAt, uploaded, downloaded, traffic, useful, announces }
}

/** Remove by swapping in the last entry (lists are sets here; order only needs to be reproducible). */
function removeFrom<T>(list: T[], item: T): void {
  const at = list.indexOf(item)
  if (at < 0) throw new Error('flow-swarm: removing an entry that is not there')
  const last = list.pop()!
  if (at < list.length) list[at] = last
}
