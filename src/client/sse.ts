/**
 * @module client/sse
 * An incremental parser of `text/event-stream` (the HTML Living Standard, "Server-sent events",
 * §9.2.6 "Event stream interpretation"): feed it text in chunks of any size, it calls back once
 * per complete event. Comments (keep-alives) and `retry` are dropped; `id` is passed through.
 */

export interface ServerSentEvent {
  /** The `event` field; `message` when absent. */
  type: string
  /** The `data` lines joined with `\n`. */
  data: string
  /** The last `id` seen so far on the stream, if any. */
  id: string | undefined
}

export class SseParser {
  readonly #onEvent: (event: ServerSentEvent) => void
  /** A tail with no line end yet, as received. */
  #pending: string[] = []
  #pendingSize = 0
  /** The last chunk ended with CR: an LF starting the next one belongs to that line end. */
  #afterCr = false
  #type = ''
  #data: string[] = []
  #id: string | undefined
  #bomChecked = false
  /** Bytes of the event being assembled, to bound memory against a peer that never ends one. */
  #size = 0
  readonly #maxEventBytes: number

  constructor(onEvent: (event: ServerSentEvent) => void, options: { maxEventBytes?: number } = {}) {
    this.#onEvent = onEvent
    this.#maxEventBytes = options.maxEventBytes ?? 64 * 1024 * 1024
  }

  /** Feed decoded text (use a streaming TextDecoder: a chunk may end inside a UTF-8 sequence). */
  push(text: string): void {
    if (!this.#bomChecked && text.length > 0) {
      this.#bomChecked = true
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    }
    if (this.#afterCr && text.startsWith('\n')) text = text.slice(1)
    this.#afterCr = false
    // Only the new text is scanned; an unfinished line waits as chunks, joined once it ends.
    let start = 0
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (c !== 10 && c !== 13) continue
      const piece = text.slice(start, i)
      const line = this.#pending.length > 0 ? this.#pending.join('') + piece : piece
      this.#pending = []
      this.#pendingSize = 0
      this.#line(line)
      if (c === 13) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === 10) i++
        } else {
          this.#afterCr = true
        }
      }
      start = i + 1
    }
    if (start < text.length) {
      this.#pending.push(text.slice(start))
      this.#pendingSize += text.length - start
      if (this.#pendingSize + this.#size > this.#maxEventBytes) throw new RangeError(`server-sent event larger than ${this.#maxEventBytes} bytes`)
    }
  }

  #line(line: string): void {
    if (line === '') return this.#dispatch()
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    switch (field) {
      case 'event':
        this.#type = value
        break
      case 'data':
        this.#data.push(value)
        this.#size += value.length + 1
        if (this.#size > this.#maxEventBytes) throw new RangeError(`server-sent event larger than ${this.#maxEventBytes} bytes`)
        break
      case 'id':
        if (!value.includes('\u0000')) this.#id = value
        break
      default:
        break // `retry` and unknown fields are ignored
    }
  }

  #dispatch(): void {
    const type = this.#type
    const data = this.#data
    this.#type = ''
    this.#data = []
    this.#size = 0
    // An event with no data line is not dispatched (the standard's "data buffer is empty" rule).
    if (data.length === 0) return
    this.#onEvent({ type: type || 'message', data: data.join('\n'), id: this.#id })
  }
}
