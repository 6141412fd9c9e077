/**
 * @module sim/engine
 * A virtual clock and an event queue: a binary heap ordered by time, ties broken by insertion order
 * so that a run is reproducible event for event. Nothing here reads the wall clock; the simulated
 * components get `clock.now()` and the seeded randomness from the scenario.
 */

export interface VirtualClock {
  /** Simulated seconds since the start of the run. */
  now(): number
}

interface Entry<E> {
  at: number
  seq: number
  event: E
}

/** Events of type `E`, popped in time order (FIFO among equal times). */
export class EventQueue<E> implements VirtualClock {
  readonly #heap: Entry<E>[] = []
  #seq = 0
  #now = 0

  get size(): number {
    return this.#heap.length
  }

  now(): number {
    return this.#now
  }

  /** Schedule `event` at absolute time `at` (never before now). */
  at(at: number, event: E): void {
    const entry = { at: Math.max(at, this.#now), seq: this.#seq++, event }
    const heap = this.#heap
    heap.push(entry)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(entry, heap[parent]!)) break
      heap[i] = heap[parent]!
      i = parent
    }
    heap[i] = entry
  }

  /** Schedule `event` `delay` seconds from now. */
  after(delay: number, event: E): void {
    this.at(this.#now + delay, event)
  }

  /** The next event, advancing the clock to its time; undefined when none is left. */
  pop(): E | undefined {
    const heap = this.#heap
    const top = heap[0]
    if (!top) return undefined
    const last = heap.pop()!
    if (heap.length > 0) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= heap.length) break
        const r = l + 1
        const child = r < heap.length && before(heap[r]!, heap[l]!) ? r : l
        if (!before(heap[child]!, last)) break
        heap[i] = heap[child]!
        i = child
      }
      heap[i] = last
    }
    this.#now = top.at
    return top.event
  }

  /** Time of the next event, or Infinity. */
  peekTime(): number {
    return this.#heap[0]?.at ?? Number.POSITIVE_INFINITY
  }
}

function before<E>(a: Entry<E>, b: Entry<E>): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}
