/**
 * @module provisioning/mrt/bzip2
 * A bzip2 decompressor in plain TypeScript, because Node has none built in and RouteViews
 * publishes its MRT archives as `.bz2`. It reads the bzip2 1.0 stream format: `BZh` + level,
 * blocks (Huffman-coded MTF/RLE symbols of a Burrows-Wheeler transform, each with a CRC), an
 * end-of-stream marker with the combined CRC, and concatenated streams (pbzip2). Blocks written
 * with the "randomised" flag (bzip2 0.9.0, obsolete since 1999) are refused.
 *
 * Streaming: compressed input is buffered until a whole block is likely there, then the block is
 * decoded in one synchronous pass; if it turns out to need more input, it is decoded again once
 * more input has arrived. Memory is one compressed block plus one decompressed block.
 */

/** The input is not a valid bzip2 stream; `truncated` when it ended early. */
export class Bzip2Error extends Error {
  readonly truncated: boolean
  constructor(message: string, truncated = false) {
    super(message)
    this.name = 'Bzip2Error'
    this.truncated = truncated
  }
}

/** True when the bytes start a bzip2 stream: `BZh1`-`BZh9`, then a block or end-of-stream magic. */
export function isBzip2(head: Uint8Array): boolean {
  if (head.length < 10 || head[0] !== 0x42 || head[1] !== 0x5a || head[2] !== 0x68) return false
  if (head[3]! < 0x31 || head[3]! > 0x39) return false
  const pi = head[4] === 0x31 && head[5] === 0x41 && head[6] === 0x59 && head[7] === 0x26 && head[8] === 0x53 && head[9] === 0x59
  const sqrtPi = head[4] === 0x17 && head[5] === 0x72 && head[6] === 0x45 && head[7] === 0x38 && head[8] === 0x50 && head[9] === 0x90
  return pi || sqrtPi
}

const NEED_MORE = Symbol('need more input')
const MAX_CODE_LENGTH = 20
const GROUP_SIZE = 50
const MAX_SELECTORS = 18002
const RUNA = 0
const RUNB = 1

// CRC-32 as bzip2 computes it: polynomial 0x04c11db7, most significant bit first.
const CRC_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i << 24
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1
    table[i] = c >>> 0
  }
  return table
})()

interface BitMark {
  pos: number
  buf: number
  count: number
}

/** Bit reader over a byte buffer, most significant bit first. */
class Bits {
  data: Uint8Array
  pos = 0
  buf = 0
  count = 0
  final = false
  constructor(data: Uint8Array) {
    this.data = data
  }
  read(n: number): number {
    // n <= 24, so the buffer never holds more than 31 bits.
    while (this.count < n) {
      if (this.pos >= this.data.length) {
        if (this.final) throw new Bzip2Error('the bzip2 stream is truncated', true)
        throw NEED_MORE
      }
      this.buf = ((this.buf << 8) | this.data[this.pos++]!) >>> 0
      this.count += 8
    }
    this.count -= n
    const value = (this.buf >>> this.count) & ((1 << n) - 1)
    this.buf &= (1 << this.count) - 1
    return value
  }
  bit(): number {
    return this.read(1)
  }
  u32(): number {
    return ((this.read(16) << 16) >>> 0) + this.read(16)
  }
  mark(): BitMark {
    return { pos: this.pos, buf: this.buf, count: this.count }
  }
  reset(m: BitMark): void {
    this.pos = m.pos
    this.buf = m.buf
    this.count = m.count
  }
  /** Bytes not yet read (whole bytes in the bit buffer count as unread). */
  get ahead(): number {
    return this.data.length - this.pos
  }
  alignToByte(): void {
    this.count -= this.count & 7
    this.buf &= (1 << this.count) - 1
  }
}

/** Huffman decoding tables of one coding group (canonical codes, as bzip2 assigns them). */
interface Table {
  minLen: number
  maxLen: number
  limit: Int32Array
  base: Int32Array
  perm: Int32Array
}

function makeTable(lengths: Uint8Array, alphaSize: number): Table {
  let minLen = 32
  let maxLen = 0
  for (let i = 0; i < alphaSize; i++) {
    minLen = Math.min(minLen, lengths[i]!)
    maxLen = Math.max(maxLen, lengths[i]!)
  }
  const perm = new Int32Array(alphaSize)
  let pp = 0
  for (let len = minLen; len <= maxLen; len++) for (let s = 0; s < alphaSize; s++) if (lengths[s] === len) perm[pp++] = s
  // base[len] = number of codes shorter than len; limit[len] = the last code of length len.
  const base = new Int32Array(MAX_CODE_LENGTH + 2)
  const limit = new Int32Array(MAX_CODE_LENGTH + 2)
  for (let s = 0; s < alphaSize; s++) base[lengths[s]! + 1]!++
  for (let len = 1; len < base.length; len++) base[len]! += base[len - 1]!
  let code = 0
  for (let len = minLen; len <= maxLen; len++) {
    code += base[len + 1]! - base[len]!
    limit[len] = code - 1
    code <<= 1
  }
  // Turn base into "first code of this length minus the codes before it", so that
  // perm[code - base[len]] is the symbol.
  for (let len = maxLen; len > minLen; len--) base[len] = ((limit[len - 1]! + 1) << 1) - base[len]!
  base[minLen] = 0
  return { minLen, maxLen, limit, base, perm }
}

function decodeSymbol(bits: Bits, t: Table): number {
  let len = t.minLen
  let code = bits.read(len)
  while (len <= t.maxLen) {
    if (code <= t.limit[len]!) {
      const index = code - t.base[len]!
      if (index < 0 || index >= t.perm.length) break
      return t.perm[index]!
    }
    len++
    code = (code << 1) | bits.bit()
  }
  throw new Bzip2Error('an invalid Huffman code')
}

/** Decoder state across blocks and streams. */
class Decoder {
  readonly bits: Bits
  blockSize = 0 // bytes of BWT data a block may hold (level × 100 000)
  combinedCrc = 0
  inStream = false
  streams = 0
  tt = new Uint32Array(0)

  constructor(data: Uint8Array) {
    this.bits = new Bits(data)
  }

  /** Where the next block starts, to decode it again when input ran out. */
  mark(): { bits: BitMark; inStream: boolean; blockSize: number; combinedCrc: number; streams: number } {
    return { bits: this.bits.mark(), inStream: this.inStream, blockSize: this.blockSize, combinedCrc: this.combinedCrc, streams: this.streams }
  }

  reset(m: ReturnType<Decoder['mark']>): void {
    this.bits.reset(m.bits)
    this.inStream = m.inStream
    this.blockSize = m.blockSize
    this.combinedCrc = m.combinedCrc
    this.streams = m.streams
  }

  /** Decode the next block; null at the end of the input. Throws NEED_MORE when input runs out. */
  next(): Uint8Array | null {
    const b = this.bits
    for (;;) {
      if (!this.inStream) {
        if (b.ahead === 0 && b.count === 0) {
          if (b.final) return null
          throw NEED_MORE
        }
        if (b.read(8) !== 0x42 || b.read(8) !== 0x5a || b.read(8) !== 0x68) {
          // Like bzip2(1): whatever follows a complete stream and is not another one is ignored.
          if (this.streams > 0) {
            b.pos = b.data.length
            b.count = 0
            b.final = true
            return null
          }
          throw new Bzip2Error('not a bzip2 stream (no BZh signature)')
        }
        const level = b.read(8) - 0x30
        if (level < 1 || level > 9) throw new Bzip2Error(`invalid bzip2 block size level ${level}`)
        this.blockSize = level * 100_000
        this.combinedCrc = 0
        this.inStream = true
      }
      const magicHigh = b.read(24)
      const magicLow = b.read(24)
      if (magicHigh === 0x314159 && magicLow === 0x265359) return this.#block()
      if (magicHigh === 0x177245 && magicLow === 0x385090) {
        const crc = b.u32()
        if (crc !== this.combinedCrc >>> 0) throw new Bzip2Error('the bzip2 stream CRC does not match its contents')
        b.alignToByte()
        this.inStream = false
        this.streams++
        continue // a concatenated stream (pbzip2) may follow
      }
      throw new Bzip2Error('a corrupt bzip2 block header')
    }
  }

  #block(): Uint8Array {
    const b = this.bits
    const expectedCrc = b.u32()
    if (b.bit()) throw new Bzip2Error('randomised bzip2 blocks (bzip2 0.9.0) are not supported')
    const origPtr = b.read(24)

    // Which byte values occur: 16 groups of 16.
    const used: number[] = []
    const groups = b.read(16)
    for (let i = 0; i < 16; i++) {
      if (groups & (0x8000 >>> i)) {
        const bitsOfGroup = b.read(16)
        for (let j = 0; j < 16; j++) if (bitsOfGroup & (0x8000 >>> j)) used.push(i * 16 + j)
      }
    }
    if (used.length === 0) throw new Bzip2Error('a bzip2 block uses no byte values')
    const alphaSize = used.length + 2
    const nGroups = b.read(3)
    if (nGroups < 2 || nGroups > 6) throw new Bzip2Error(`invalid number of Huffman groups ${nGroups}`)
    const nSelectors = b.read(15)
    if (nSelectors < 1) throw new Bzip2Error('a bzip2 block without selectors')
    // Selectors: unary MTF indexes of the group each 50 symbols are coded with.
    const mtfGroups = Array.from({ length: nGroups }, (_, i) => i)
    const selectors = new Uint8Array(Math.min(nSelectors, MAX_SELECTORS))
    for (let i = 0; i < nSelectors; i++) {
      let j = 0
      while (b.bit()) if (++j >= nGroups) throw new Bzip2Error('an invalid selector')
      const g = mtfGroups[j]!
      mtfGroups.splice(j, 1)
      mtfGroups.unshift(g)
      if (i < MAX_SELECTORS) selectors[i] = g
    }
    // Code lengths, delta-coded per group.
    const tables: Table[] = []
    for (let t = 0; t < nGroups; t++) {
      const lengths = new Uint8Array(alphaSize)
      let current = b.read(5)
      for (let s = 0; s < alphaSize; s++) {
        for (;;) {
          if (current < 1 || current > MAX_CODE_LENGTH) throw new Bzip2Error('an invalid Huffman code length')
          if (!b.bit()) break
          current += b.bit() ? -1 : 1
        }
        lengths[s] = current
      }
      tables.push(makeTable(lengths, alphaSize))
    }

    // Symbols -> MTF/RLE2 undone -> the BWT output, with per-byte counts.
    if (this.tt.length < this.blockSize) this.tt = new Uint32Array(this.blockSize)
    const tt = this.tt
    const counts = new Int32Array(256)
    const mtf = new Uint8Array(256)
    for (let i = 0; i < 256; i++) mtf[i] = i
    const eob = used.length + 1
    let n = 0
    let groupIndex = 0
    let groupLeft = 0
    let table = tables[0]!
    let runLength = 0
    let runWeight = 1
    for (;;) {
      if (groupLeft === 0) {
        if (groupIndex >= selectors.length) throw new Bzip2Error('a bzip2 block runs past its selectors')
        table = tables[selectors[groupIndex++]!]!
        groupLeft = GROUP_SIZE
      }
      groupLeft--
      const sym = decodeSymbol(b, table)
      if (sym === RUNA || sym === RUNB) {
        // Bijective base 2: RUNA adds 1×weight, RUNB 2×weight.
        runLength += (sym + 1) * runWeight
        runWeight <<= 1
        if (runLength > this.blockSize) throw new Bzip2Error('a bzip2 run longer than its block')
        continue
      }
      if (runLength > 0) {
        if (n + runLength > this.blockSize) throw new Bzip2Error('a bzip2 block longer than its declared size')
        const value = used[mtf[0]!]!
        counts[value]! += runLength
        tt.fill(value, n, n + runLength)
        n += runLength
        runLength = 0
        runWeight = 1
      }
      if (sym === eob) break
      if (sym > eob) throw new Bzip2Error('an invalid bzip2 symbol')
      // Symbol k (2..eob-1) is MTF position k-1.
      const position = sym - 1
      const index = mtf[position]!
      mtf.copyWithin(1, 0, position)
      mtf[0] = index
      const value = used[index]!
      if (n >= this.blockSize) throw new Bzip2Error('a bzip2 block longer than its declared size')
      counts[value]!++
      tt[n++] = value
    }
    if (origPtr >= n) throw new Bzip2Error('a bzip2 block origin pointer past its end')

    // Inverse BWT: link each position to the next, the byte in the low 8 bits.
    const start = new Int32Array(256)
    for (let i = 0, sum = 0; i < 256; i++) {
      start[i] = sum
      sum += counts[i]!
    }
    for (let i = 0; i < n; i++) {
      const value = tt[i]! & 0xff
      tt[start[value]!]! |= i << 8
      start[value]!++
    }
    const out = this.#undoRle1(tt, n, tt[origPtr]! >>> 8)
    let crc = 0xffffffff
    for (let i = 0; i < out.length; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ out[i]!) & 0xff]!) >>> 0
    crc = ~crc >>> 0
    if (crc !== expectedCrc) throw new Bzip2Error('a bzip2 block CRC does not match its contents')
    this.combinedCrc = (((this.combinedCrc << 1) | (this.combinedCrc >>> 31)) ^ crc) >>> 0
    return out
  }

  // The initial run-length coding: four equal bytes are followed by a count of further repeats.
  #undoRle1(tt: Uint32Array, n: number, first: number): Uint8Array {
    let out = new Uint8Array(Math.max(n + (n >>> 2), 1024))
    let length = 0
    let pos = first
    let last = -1
    let run = 0
    for (let k = 0; k < n; k++) {
      const entry = tt[pos]!
      const ch = entry & 0xff
      pos = entry >>> 8
      const extra = run === 4 ? ch : 0
      const needed = run === 4 ? ch : 1
      if (length + needed > out.length) {
        const bigger = new Uint8Array(Math.max(out.length * 2, length + needed))
        bigger.set(out.subarray(0, length))
        out = bigger
      }
      if (run === 4) {
        out.fill(last, length, length + extra)
        length += extra
        run = 0
        continue
      }
      if (ch === last) run++
      else {
        last = ch
        run = 1
      }
      out[length++] = ch
    }
    return out.subarray(0, length)
  }
}

/**
 * Decompress a bzip2 stream (or concatenated streams), chunk by chunk as blocks complete.
 * @throws Bzip2Error on corrupt or truncated input (blocks before the fault have been yielded)
 */
export async function* bunzip2(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let data = new Uint8Array(0)
  const decoder = new Decoder(data)
  const bits = decoder.bits
  let want = 1 << 20 // bytes ahead before a block is tried; doubles when that was not enough
  const it = source[Symbol.asyncIterator]()
  for (;;) {
    while (!bits.final && bits.ahead < want) {
      const next = await it.next()
      if (next.done) {
        bits.final = true
        break
      }
      // Append, dropping what has been consumed.
      const keep = data.subarray(bits.pos)
      const grown = new Uint8Array(keep.length + next.value.length)
      grown.set(keep)
      grown.set(next.value, keep.length)
      data = grown
      bits.data = data
      bits.pos = 0
    }
    const mark = decoder.mark()
    let block: Uint8Array | null
    try {
      block = decoder.next()
    } catch (error) {
      if (error !== NEED_MORE) throw error
      decoder.reset(mark)
      want = Math.max(want * 2, bits.ahead + 1)
      continue
    }
    if (block === null) return
    want = 1 << 20
    if (block.length > 0) yield block
  }
}

/** Decompress a whole bzip2 buffer at once. */
export function bunzip2Sync(data: Uint8Array): Uint8Array {
  const decoder = new Decoder(data)
  decoder.bits.final = true
  const parts: Uint8Array[] = []
  let total = 0
  for (let block = decoder.next(); block !== null; block = decoder.next()) {
    parts.push(block)
    total += block.length
  }
  const out = new Uint8Array(total)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}
