/**
 * @module provisioning/mrt/reader
 * A streaming MRT reader (RFC 6396): frames records from a file, a Readable or any async iterable
 * of bytes (gzip and bzip2 recognized by their magic numbers and decompressed on the fly), decodes
 * them (records.ts) and yields one {@link MrtEntry} per route. Damaged input never throws: a record
 * that does not decode is skipped and counted, a corrupt header makes the reader search for the
 * next plausible record header, and input that ends inside a record is counted as truncated; each
 * of these is reported through `onWarning`. Errors of the source itself (a missing file) do throw.
 *
 * ```ts
 * const reader = new MrtReader('rib.20240101.0000.bz2', { onWarning: (w) => console.warn(w.message) })
 * for await (const entry of reader) if (entry.kind === 'rib') use(entry.route)
 * console.log(reader.stats)
 * ```
 */
import { createReadStream } from 'node:fs'
import { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { bunzip2, Bzip2Error, isBzip2 } from './bzip2.ts'
import { decodeRecord, MrtType, type DecodeState, type MrtEntry, type MrtRecord } from './records.ts'

export interface MrtReaderOptions {
  /**
   * Called for each problem in the input (the reader carries on).
   * @example (w) => process.stderr.write(`${w.offset}: ${w.message}\n`)
   */
  onWarning?: (warning: MrtWarning) => void
  /**
   * Largest record accepted; a header announcing a longer one is taken as corrupt.
   * @default 16777216 (16 MiB)
   */
  maxRecordBytes?: number
}

export interface MrtWarning {
  /** `corrupt`: a record or RIB entry skipped; `resync`: bytes skipped to find the next header;
   * `truncated`: the input ends inside a record or a compressed stream. */
  kind: 'corrupt' | 'resync' | 'truncated'
  message: string
  /** Offset in the decompressed MRT stream. */
  offset: number
  type?: number
  subtype?: number
}

export interface MrtStats {
  compression: 'none' | 'gzip' | 'bzip2'
  /** Bytes read from the source (compressed, when it is). */
  inputBytes: number
  /** Bytes of MRT data framed (decompressed). */
  bytes: number
  /** Records framed, of any type. */
  records: number
  rib: number
  announce: number
  withdraw: number
  /** Records that carry no routes: peer tables, state changes, OPEN/KEEPALIVE/NOTIFICATION. */
  ignored: number
  /** Records of families or types not decoded: multicast, VPN, OSPF, IS-IS, BGP4MP_SNAPSHOT. */
  unsupported: number
  /** Records, and RIB entries within otherwise good records, skipped because they do not decode. */
  corrupt: number
  /** 1 when the input ended inside a record or a compressed stream. */
  truncated: number
  /** Bytes skipped while searching for a record header after a corrupt one. */
  skippedBytes: number
}

/** The counters of {@link MrtStats}, all 0. */
export function zeroCounts(): Omit<MrtStats, 'compression'> {
  return {
    inputBytes: 0,
    bytes: 0,
    records: 0,
    rib: 0,
    announce: 0,
    withdraw: 0,
    ignored: 0,
    unsupported: 0,
    corrupt: 0,
    truncated: 0,
    skippedBytes: 0,
  }
}

/** A file name, the bytes themselves, a Readable, or any async iterable of byte chunks. */
export type MrtSource = string | Uint8Array | Readable | AsyncIterable<Uint8Array>

const HEADER = 12
const DEFAULTS = { maxRecordBytes: 16 * 1024 * 1024 }
// RFC 6396 §4 type codes, including the deprecated ones (§4, Appendix B): a header with any other
// type is corrupt.
const KNOWN_TYPES = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 17, 32, 33, 48, 49])
// The subtypes a resynchronization accepts, per route-carrying type.
const MAX_SUBTYPE: Readonly<Record<number, number>> = { [MrtType.TABLE_DUMP]: 2, [MrtType.TABLE_DUMP_V2]: 12, [MrtType.BGP4MP]: 11, [MrtType.BGP4MP_ET]: 11 }
// A record found by resynchronization must be this close in time to the last good one.
const RESYNC_WINDOW_S = 366 * 86400

/** Reads MRT entries; iterate it once. `stats` is live while iterating and final afterwards. */
export class MrtReader implements AsyncIterable<MrtEntry> {
  readonly stats: MrtStats = { compression: 'none', ...zeroCounts() }
  readonly #source: MrtSource
  readonly #onWarning: ((warning: MrtWarning) => void) | undefined
  readonly #maxRecordBytes: number
  #started = false
  // Framing state: decompressed bytes at buf[pos..], whose first byte is at stream offset `base`.
  #chunks: AsyncIterator<Uint8Array> | undefined
  #buf: Uint8Array = new Uint8Array(0)
  #pos = 0
  #base = 0
  #ended = false
  #recordStart = 0
  #lastTimestamp: number | undefined

  constructor(source: MrtSource, options: MrtReaderOptions = {}) {
    this.#source = source
    this.#onWarning = options.onWarning
    this.#maxRecordBytes = options.maxRecordBytes ?? DEFAULTS.maxRecordBytes
  }

  [Symbol.asyncIterator](): AsyncIterator<MrtEntry> {
    if (this.#started) throw new Error('an MrtReader can be iterated only once')
    this.#started = true
    return this.#entries()
  }

  async *#entries(): AsyncGenerator<MrtEntry> {
    this.#chunks = this.#decompressed()[Symbol.asyncIterator]()
    const state: DecodeState = {}
    try {
      for (;;) {
        const record = await this.#nextRecord()
        if (!record) break
        let result
        try {
          result = decodeRecord(record, state)
        } catch (error) {
          if (await this.#recordLengthLooksWrong(record)) continue
          this.#warn('corrupt', `${recordName(record)}: ${error instanceof Error ? error.message : String(error)}`, record)
          continue
        }
        this.#lastTimestamp = Math.floor(record.timestamp)
        if (result.status !== 'routes') this.stats[result.status]++
        for (const problem of result.problems) this.#warn('corrupt', `${recordName(record)}: ${problem}`, record)
        for (const entry of result.entries) {
          this.stats[entry.kind]++
          yield entry
        }
      }
    } catch (error) {
      throw error instanceof SourceError ? error.cause : error
    } finally {
      await this.#chunks.return?.()
    }
  }

  /** The next framed record, or undefined at the end of the input. */
  async #nextRecord(): Promise<MrtRecord | undefined> {
    for (;;) {
      if (!this.#has(HEADER) && !(await this.#ensure(HEADER))) {
        const left = this.#buf.length - this.#pos
        if (left > 0) this.#truncated(`the input ends inside a record header (${left} bytes)`)
        return undefined
      }
      const type = readU16(this.#buf, this.#pos + 4)
      const length = readU32(this.#buf, this.#pos + 8)
      if (!KNOWN_TYPES.has(type) || length > this.#maxRecordBytes) {
        await this.#resync(`a corrupt record header (type ${type}, length ${length})`)
        continue
      }
      const offset = this.#base + this.#pos
      if (!this.#has(HEADER + length) && !(await this.#ensure(HEADER + length))) {
        // Either the input was cut short, or this header's length is wrong and records follow.
        const left = this.#buf.length - this.#pos
        if (await this.#resync(undefined)) {
          this.#warn('corrupt', `a record header at offset ${offset} announces ${length} bytes, more than the input holds`, { offset, type })
          continue
        }
        this.#truncated(`the input ends inside a record (${left} of ${HEADER + length} bytes)`)
        return undefined
      }
      // #ensure may have moved the bytes to a new buffer.
      const buf = this.#buf
      const at = this.#pos
      let timestamp = readU32(buf, at)
      const subtype = readU16(buf, at + 6)
      let body = buf.subarray(at + HEADER, at + HEADER + length)
      this.#recordStart = at
      this.#pos = at + HEADER + length
      this.stats.records++
      this.stats.bytes += HEADER + length
      if (type === MrtType.BGP4MP_ET || type === 33 || type === 49) {
        // RFC 6396 §3: _ET records start with a microsecond timestamp, counted in the length.
        if (length < 4) {
          this.#warn('corrupt', `an extended-timestamp record of ${length} bytes`, { offset, type, subtype })
          continue
        }
        timestamp += readU32(body, 0) / 1e6
        body = body.subarray(4)
      }
      return { timestamp, type, subtype, body, offset }
    }
  }

  /**
   * After a record failed to decode: if the bytes after it are not a plausible header either, the
   * header's length was probably what was damaged. Then search for the next header from just
   * after the bad one, instead of trusting the length; true when this was done (and warned).
   */
  async #recordLengthLooksWrong(record: MrtRecord): Promise<boolean> {
    const size = this.#pos - this.#recordStart
    this.#pos = this.#recordStart // keep the record buffered while looking past it
    const followed = (await this.#ensure(size + HEADER)) ? this.#plausible(this.#pos + size) : this.#buf.length - this.#pos === size
    if (followed) {
      this.#pos += size
      return false
    }
    this.stats.records--
    this.stats.bytes -= size
    await this.#resync(`${recordName(record)} does not decode and no record header follows it`)
    return true
  }

  /**
   * Skip the header at #pos and search, byte by byte, for one that is plausible and followed by
   * another plausible header (or by the exact end of the input). Warns with `reason` if given.
   * @returns true when a header was found, false when the input ended first
   */
  async #resync(reason: string | undefined): Promise<boolean> {
    const from = this.#base + this.#pos
    let skip = 1
    let found = false
    for (;;) {
      if (!this.#has(skip + HEADER) && !(await this.#ensure(skip + HEADER))) {
        skip = this.#buf.length - this.#pos
        break
      }
      const at = this.#pos + skip
      if (this.#plausible(at)) {
        const next = skip + HEADER + readU32(this.#buf, at + 8)
        // #ensure may move the buffer: offsets from #pos stay valid.
        const more = await this.#ensure(next + HEADER)
        if (more ? this.#plausible(this.#pos + next) : this.#buf.length - this.#pos === next) {
          found = true
          break
        }
      }
      skip++
    }
    if (!found && reason === undefined) return false // the caller reports the truncation
    this.#pos += skip
    this.stats.skippedBytes += skip
    if (reason !== undefined) this.#warn('corrupt', reason, { offset: from })
    this.#warn('resync', found ? `skipped ${skip} bytes to the next record header` : `skipped the last ${skip} bytes: no record header in them`, { offset: from })
    return found
  }

  /** A header at `at` with a route-carrying type, one of its subtypes, a sane length and time. */
  #plausible(at: number): boolean {
    const buf = this.#buf
    const type = readU16(buf, at + 4)
    const maxSubtype = MAX_SUBTYPE[type]
    if (maxSubtype === undefined) return false
    if (readU16(buf, at + 6) > maxSubtype || readU32(buf, at + 8) > this.#maxRecordBytes) return false
    return this.#lastTimestamp === undefined || Math.abs(readU32(buf, at) - this.#lastTimestamp) <= RESYNC_WINDOW_S
  }

  /** `n` bytes are buffered at #pos (checked without a promise: the common case). */
  #has(n: number): boolean {
    return this.#buf.length - this.#pos >= n
  }

  /** Make `n` bytes available at #pos; false if the input ends first. Keeps every unread byte. */
  async #ensure(n: number): Promise<boolean> {
    if (this.#buf.length - this.#pos >= n) return true
    const parts: Uint8Array[] = [this.#buf.subarray(this.#pos)]
    let have = parts[0]!.length
    while (have < n && !this.#ended) {
      const next = await this.#chunks!.next()
      if (next.done) {
        this.#ended = true
        break
      }
      parts.push(next.value)
      have += next.value.length
    }
    this.#base += this.#pos
    this.#buf = parts.length === 1 ? parts[0]! : plainView(Buffer.concat(parts))
    this.#pos = 0
    return have >= n
  }

  #truncated(message: string): void {
    this.stats.truncated = 1
    this.#warn('truncated', message, { offset: this.#base + this.#pos })
    this.#pos = this.#buf.length
  }

  #warn(kind: MrtWarning['kind'], message: string, where: { offset: number; type?: number; subtype?: number }): void {
    if (kind === 'corrupt') this.stats.corrupt++
    const warning: MrtWarning = { kind, message, offset: where.offset }
    if (where.type !== undefined) warning.type = where.type
    if (where.subtype !== undefined) warning.subtype = where.subtype
    this.#onWarning?.(warning)
  }

  /** The source's bytes, counted, and decompressed when they start with a gzip or bzip2 header. */
  async *#decompressed(): AsyncGenerator<Uint8Array> {
    const raw = this.#counted()[Symbol.asyncIterator]()
    // Enough bytes to recognize a compressed stream.
    const head: Uint8Array[] = []
    let headBytes = 0
    while (headBytes < 10) {
      const next = await raw.next()
      if (next.done) break
      head.push(next.value)
      headBytes += next.value.length
    }
    const first = Buffer.concat(head)
    const rest = prepend(first, raw)
    if (first[0] === 0x1f && first[1] === 0x8b) {
      this.stats.compression = 'gzip'
      yield* this.#tolerant(gunzip(rest), 'gzip')
    } else if (isBzip2(first)) {
      this.stats.compression = 'bzip2'
      yield* this.#tolerant(bunzip2(rest), 'bzip2')
    } else {
      yield* rest
    }
  }

  /** Decompressed chunks until the compressed stream fails; a failure becomes a warning. */
  async *#tolerant(chunks: AsyncIterable<Uint8Array>, format: string): AsyncGenerator<Uint8Array> {
    try {
      yield* chunks
    } catch (error) {
      if (error instanceof SourceError) throw error
      const truncated = (error instanceof Bzip2Error && error.truncated) || (error as { code?: string }).code === 'Z_BUF_ERROR'
      const message = `${format}: ${error instanceof Error ? error.message : String(error)}`
      // The records decoded so far stand; the rest of the input is lost.
      if (truncated) this.stats.truncated = 1
      else this.stats.corrupt++
      this.#onWarning?.({ kind: truncated ? 'truncated' : 'corrupt', message, offset: this.stats.bytes })
    }
  }

  async *#counted(): AsyncGenerator<Uint8Array> {
    const given = this.#source
    const source = typeof given === 'string' ? createReadStream(given, { highWaterMark: 1 << 18 }) : given instanceof Uint8Array ? [given] : given
    try {
      for await (const chunk of source as AsyncIterable<Uint8Array | string> | Uint8Array[]) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk
        this.stats.inputBytes += bytes.length
        yield plainView(bytes)
      }
    } catch (error) {
      throw new SourceError(error)
    } finally {
      if (source instanceof Readable) source.destroy()
    }
  }
}

/** An error of the source (not of its contents), passed through decompression untouched. */
class SourceError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause })
  }
}

/** Read a source of MRT data; see {@link MrtReader}. */
export function readMrt(source: MrtSource, options?: MrtReaderOptions): MrtReader {
  return new MrtReader(source, options)
}

/** `first`, then the rest of `raw`. */
async function* prepend(first: Uint8Array, raw: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    if (first.length > 0) yield first
    for (let next = await raw.next(); !next.done; next = await raw.next()) yield next.value
  } finally {
    await raw.return?.()
  }
}

async function* gunzip(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const input = Readable.from(source, { objectMode: false })
  const inflate = createGunzip()
  input.on('error', (error) => inflate.destroy(error))
  input.pipe(inflate)
  try {
    for await (const chunk of inflate) yield chunk as Buffer
  } finally {
    input.destroy()
    inflate.destroy()
  }
}

/** A Uint8Array over a Buffer's bytes: its subarray() is much cheaper than Buffer's. */
function plainView(bytes: Uint8Array): Uint8Array {
  return bytes instanceof Buffer ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) : bytes
}

function recordName(record: MrtRecord): string {
  return `record of type ${record.type}, subtype ${record.subtype}`
}

function readU16(buf: Uint8Array, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!
}

function readU32(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) >>> 0) + (buf[at + 1]! << 16) + (buf[at + 2]! << 8) + buf[at + 3]!
}
