/**
 * @module server/write-batch
 * The fast lane's answers are written together at the end of the event-loop turn in which they
 * were computed, not each as soon as it is ready, the way Redis writes its replies just before it
 * waits for events again.
 *
 * Why: a client waiting for answers sleeps in `epoll_wait`, and its CPU idles. Each answer written
 * alone wakes it, and waking an idle CPU is costly (an inter-processor interrupt, which on a
 * virtual machine is an exit to the hypervisor). The client reads that one answer and sleeps again
 * before the next one comes. Written back to back, the answers of one turn wake it once. On this
 * machine the wake-ups cost 6 µs per cache hit, against 2.5 µs for the bare node:http ceiling,
 * and batching cut a hit from 30 to 24 µs of CPU (docs/performance.md).
 *
 * What it costs: an answer waits for the rest of its turn, that is, for the requests that arrived
 * with it to be answered too. An idle server answers one request per turn, so it waits for nothing.
 * A loaded one answers dozens, and each answer is sent when all of them are ready instead of when
 * its own is. A batch that has waited `maxWaitMs` (1 ms by default) is written as the next answer
 * joins it, or before the next answer is computed (`flushIfDue`), so an answer goes out at most
 * about `maxWaitMs` plus one computation later than it would alone. (Writing the batch before
 * every computation would bound it tighter, but distinct requests, each computed, then lose the
 * batching: 20% fewer of them per second here.) Each answer is still written separately, in the
 * order it was queued, so pipelined answers keep their order (node:http orders them anyway).
 */
import type { ServerResponse } from 'node:http'

/** Writes one answer: its status line, headers and body, and its log line. */
export type AnswerWrite = () => void

export class WriteBatch {
  #responses: ServerResponse[] = []
  #writes: AnswerWrite[] = []
  /** The arrays of the batch being written, reused for the next batch. */
  #spareResponses: ServerResponse[] = []
  #spareWrites: AnswerWrite[] = []
  /** When the oldest queued answer was queued (performance.now()). */
  #since = 0
  #flushing = false
  readonly #flush = () => this.flush()

  /**
   * @param maxWaitMs the longest an answer waits for the rest of its turn; 0 writes each at once
   * @param onError told of an answer whose write threw; its response is destroyed, the others are written
   * @param now the clock, in ms (tests give their own)
   */
  constructor(
    readonly maxWaitMs: number,
    private readonly onError: (error: unknown) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Answers queued and not yet written. */
  get size(): number {
    return this.#writes.length
  }

  /**
   * Queue an answer: it is written at the end of this turn, or now if the batch has waited
   * `maxWaitMs` (with `maxWaitMs` 0, always now).
   */
  add(response: ServerResponse, write: AnswerWrite): void {
    if (this.#writes.length === 0) {
      this.#since = this.now()
      setImmediate(this.#flush) // comes after an early flush too, and finds nothing to write
    }
    this.#responses.push(response)
    this.#writes.push(write)
    if (this.#due()) this.flush()
  }

  /** Write the queued answers if they have waited `maxWaitMs`: before work that takes a while. */
  flushIfDue(): void {
    if (this.#due()) this.flush()
  }

  #due(): boolean {
    return this.#writes.length > 0 && this.now() - this.#since >= this.maxWaitMs
  }

  /** Write every queued answer, in order. An answer queued by a write is written with the next batch. */
  flush(): void {
    const responses = this.#responses
    const writes = this.#writes
    if (writes.length === 0 || this.#flushing) return
    this.#flushing = true
    this.#responses = this.#spareResponses
    this.#writes = this.#spareWrites
    try {
      for (let i = 0; i < writes.length; i++) {
        try {
          writes[i]!()
        } catch (error) {
          // A half-written answer cannot be finished; one that was sent (the log line threw) stands.
          const response = responses[i]!
          if (!response.writableEnded) response.destroy()
          try {
            this.onError(error)
          } catch {
            // the report failed too: nothing is left to tell, and the rest of the batch still goes out
          }
        }
      }
    } finally {
      responses.length = 0
      writes.length = 0
      this.#spareResponses = responses
      this.#spareWrites = writes
      this.#flushing = false
    }
  }
}
