/**
 * @module tracker/selection
 * Which peers an announcing peer is given (seed 000 §4.4.2, seed 002): with ALTO guidance, the
 * swarm's peers in the cheapest PIDs first (cost from the requester's PID; equal costs drawn at
 * random), then a share drawn at random from the rest of the swarm against over-localization, and
 * at least one peer outside the requester's PID whenever the swarm has one. Without guidance, a
 * uniform random sample. Seeders are given leechers only. The work per announce is proportional
 * to the number of PIDs and peers returned, never to the swarm's size.
 */
import type { Rng } from '../cost/rank.ts'
import type { Bucketing, SlotList, Swarm, SwarmPeer } from './swarm.ts'

/** Guidance as selection needs it: PIDs grouped by equal cost from a source PID. */
export interface SelectionGuidance {
  bucketing: Bucketing
  /** Groups of PID indexes in ascending cost from `pid`; the no-PID bucket in the last group. */
  groupsFrom(pid: number): readonly (readonly number[])[]
}

export interface SelectionInput {
  swarm: Swarm
  requester: SwarmPeer
  numwant: number
  /** Share of the list drawn at random from the whole swarm. */
  randomFraction: number
  rng: Rng
  guidance?: SelectionGuidance | undefined
}

export interface Selection {
  peers: SwarmPeer[]
  /** Whether ALTO guidance ordered the list. */
  guided: boolean
  /** Returned peers in the requester's own PID (guided only). */
  samePid: number
  /** Returned peers drawn at random. */
  random: number
}

export function selectPeers(input: SelectionInput): Selection {
  const { swarm, requester, rng } = input
  const leechersOnly = requester.seeder
  const pool = leechersOnly ? swarm.leechers : swarm.all
  const available = pool.size - (pool.has(requester) ? 1 : 0)
  const n = Math.max(0, Math.min(input.numwant, available))
  const taken = new Set<SwarmPeer>([requester])
  const out: SwarmPeer[] = []
  const bucketing = input.guidance?.bucketing
  const pid = bucketing ? bucketing.pidOf(requester) : -1
  if (n === 0) return { peers: out, guided: bucketing !== undefined, samePid: 0, random: 0 }
  if (!input.guidance || !bucketing || pid === bucketing.classifier.pidCount) {
    fillRandom(pool, n, taken, out, rng)
    return { peers: out, guided: false, samePid: 0, random: out.length }
  }

  const randomQuota = Math.floor(n * input.randomFraction)
  const altoQuota = n - randomQuota
  for (const group of input.guidance.groupsFrom(pid)) {
    if (out.length >= altoQuota) break
    const lists: SlotList<SwarmPeer>[] = []
    for (const p of group) {
      if (!leechersOnly) lists.push(bucketing.seeders[p]!)
      lists.push(bucketing.leechers[p]!)
    }
    sampleUnion(lists, altoQuota - out.length, taken, out, rng)
  }
  let guidedCount = out.length
  fillRandom(pool, n - out.length, taken, out, rng)

  // Never a list of the requester's PID only while the swarm has peers elsewhere.
  let samePid = 0
  for (const peer of out) if (bucketing.pidOf(peer) === pid) samePid++
  if (samePid === out.length) {
    const inPid = bucketing.leechers[pid]!.size + (leechersOnly ? 0 : bucketing.seeders[pid]!.size) - 1
    const outside = available > inPid ? drawOutside(pool, bucketing, pid, taken, rng) : undefined
    if (outside && out.length < n) {
      out.push(outside)
    } else if (outside) {
      // Replace the last (worst or random) pick; if it was a guided pick, one fewer is guided.
      if (out.length === guidedCount) guidedCount--
      out[out.length - 1] = outside
      samePid--
    }
  }
  return { peers: out, guided: true, samePid, random: out.length - guidedCount }
}

/**
 * Append `k` peers drawn uniformly without replacement from the union of `lists`, skipping those
 * in `taken` (Floyd's algorithm over positions of the union: O(k), the lists are never copied).
 */
function sampleUnion(lists: readonly SlotList<SwarmPeer>[], k: number, taken: Set<SwarmPeer>, out: SwarmPeer[], rng: Rng): void {
  let total = 0
  for (const list of lists) total += list.size
  if (total === 0 || k <= 0) return
  const at = (index: number): SwarmPeer => {
    for (const list of lists) {
      if (index < list.size) return list.items[index]!
      index -= list.size
    }
    throw new RangeError('index past the union')
  }
  const eligible: SwarmPeer[] = []
  if (k * 2 >= total) {
    // Most of the union is wanted: take it all and shuffle.
    for (let i = 0; i < total; i++) {
      const peer = at(i)
      if (!taken.has(peer)) eligible.push(peer)
    }
    shuffle(eligible, rng)
    for (const peer of eligible.slice(0, k)) (taken.add(peer), out.push(peer))
    return
  }
  // Floyd: k + (taken in the union) positions, bounded by the union's size.
  const picked = new Set<number>()
  const want = Math.min(total, k + 1)
  for (let j = total - want; j < total; j++) {
    const t = Math.floor(rng() * (j + 1))
    picked.add(picked.has(t) ? j : t)
  }
  for (const index of picked) {
    const peer = at(index)
    if (!taken.has(peer)) eligible.push(peer)
  }
  shuffle(eligible, rng)
  for (const peer of eligible.slice(0, k)) (taken.add(peer), out.push(peer))
}

/** Append up to `k` peers drawn uniformly from `pool`, not in `taken`. */
function fillRandom(pool: SlotList<SwarmPeer>, k: number, taken: Set<SwarmPeer>, out: SwarmPeer[], rng: Rng): void {
  if (k <= 0) return
  let attempts = 0
  const limit = 8 * k + 16
  while (k > 0 && attempts++ < limit) {
    const peer = pool.items[Math.floor(rng() * pool.size)]
    if (peer === undefined || taken.has(peer)) continue
    taken.add(peer)
    out.push(peer)
    k--
  }
  if (k <= 0) return
  // The pool is mostly taken: draw from what is left.
  const rest = pool.items.filter((peer) => !taken.has(peer))
  shuffle(rest, rng)
  for (const peer of rest.slice(0, k)) (taken.add(peer), out.push(peer))
}

function drawOutside(pool: SlotList<SwarmPeer>, bucketing: Bucketing, pid: number, taken: Set<SwarmPeer>, rng: Rng): SwarmPeer | undefined {
  for (let attempt = 0; attempt < 32; attempt++) {
    const peer = pool.items[Math.floor(rng() * pool.size)]
    if (peer && !taken.has(peer) && bucketing.pidOf(peer) !== pid) return peer
  }
  const rest = pool.items.filter((peer) => !taken.has(peer) && bucketing.pidOf(peer) !== pid)
  return rest.length > 0 ? rest[Math.floor(rng() * rest.length)] : undefined
}

function shuffle<T>(items: T[], rng: Rng): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1))
    ;[items[i], items[j]] = [items[j]!, items[i]!]
  }
}
