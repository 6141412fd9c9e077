/**
 * @module netmap/body-parts
 * The JSON text of a full network map body (RFC 7285 §11.2.1.6) written straight from the tries,
 * in parts, one per PID: byte for byte `JSON.stringify(map.toBody())`, without the body object or
 * a string per prefix kept anywhere. For a map of a million prefixes this is what makes preparing
 * the served body cheap (docs/libloc.md has the figures).
 */
import type { AddressType } from '../protocol/types.ts'
import { formatAddress } from './address.ts'
import type { PrefixTrie } from './prefix-trie.ts'

const ADDRESS_TYPES: readonly AddressType[] = ['ipv4', 'ipv6']

/** Each family's prefixes grouped by PID: entries of PID p are at [start[p], start[p + 1]). */
interface Grouped {
  start: Uint32Array
  keys: Uint32Array // `words` per entry
  lengths: Uint8Array
  words: number
}

/** Parts are about this long (one string per 64 KiB: few, small, and never a giant rope). */
const CHUNK = 1 << 16
/** Room for one prefix or PID name and its punctuation. */
const SLACK = 256
// ASCII digits of each byte value, 4 bytes each: count, then up to 3 digits.
const DIGITS = new Uint8Array(256 * 4)
for (let v = 0; v < 256; v++) {
  const text = String(v)
  DIGITS[4 * v] = text.length
  for (let i = 0; i < text.length; i++) DIGITS[4 * v + 1 + i] = text.charCodeAt(i)
}

/**
 * The text `{"meta":…,"network-map":{"PID":{"ipv4":[…],"ipv6":[…]},…}}`, in parts of about 64
 * KiB. PIDs come in the order JSON.stringify gives the keys of an object they were inserted into in
 * sorted order: integer-like names first, by value. All of it is ASCII (PID names are), so it is
 * written as bytes and each part decoded once.
 */
export function* networkMapBodyParts(meta: unknown, pids: readonly string[], tries: Readonly<Record<AddressType, PrefixTrie>>): Generator<string> {
  const grouped = { ipv4: group(tries.ipv4, pids.length), ipv6: group(tries.ipv6, pids.length) }
  const buffer = Buffer.allocUnsafe(CHUNK + SLACK)
  let at = 0
  const text = (s: string) => {
    at += buffer.write(s, at, 'latin1')
  }
  const byte = (value: number) => {
    const d = 4 * value
    for (let i = 1; i <= DIGITS[d]!; i++) buffer[at++] = DIGITS[d + i]!
  }
  text(`{"meta":${JSON.stringify(meta)},"network-map":{`)
  const v6 = new Uint8Array(16)
  let first = true
  for (const pid of jsonKeyOrder(pids)) {
    if (at > CHUNK) {
      yield buffer.toString('latin1', 0, at)
      at = 0
    }
    text(`${first ? '' : ','}${JSON.stringify(pids[pid])}:{`)
    first = false
    let firstFamily = true
    for (const family of ADDRESS_TYPES) {
      const { start, keys, lengths, words } = grouped[family]
      const from = start[pid]!
      const to = start[pid + 1]!
      if (from === to) continue
      text(firstFamily ? `"${family}":[` : `,"${family}":[`)
      firstFamily = false
      for (let i = from; i < to; i++) {
        if (at > CHUNK) {
          yield buffer.toString('latin1', 0, at)
          at = 0
        }
        if (i > from) buffer[at++] = 0x2c // ,
        buffer[at++] = 0x22 // "
        if (words === 1) {
          const a = keys[i]!
          byte(a >>> 24)
          buffer[at++] = 0x2e // .
          byte((a >>> 16) & 0xff)
          buffer[at++] = 0x2e
          byte((a >>> 8) & 0xff)
          buffer[at++] = 0x2e
          byte(a & 0xff)
        } else {
          for (let w = 0; w < 4; w++) {
            const word = keys[4 * i + w]!
            v6[4 * w] = word >>> 24
            v6[4 * w + 1] = word >>> 16
            v6[4 * w + 2] = word >>> 8
            v6[4 * w + 3] = word
          }
          text(formatAddress('ipv6', v6))
        }
        buffer[at++] = 0x2f // /
        byte(lengths[i]!)
        buffer[at++] = 0x22
      }
      buffer[at++] = 0x5d // ]
    }
    buffer[at++] = 0x7d // }
  }
  text('}}')
  yield buffer.toString('latin1', 0, at)
}

/** A counting sort of the trie's prefixes (address order) by PID. */
function group(trie: PrefixTrie, pidCount: number): Grouped {
  const words = trie.bits >>> 5
  const start = new Uint32Array(pidCount + 1)
  trie.forEach((_bytes, _length, pid) => {
    start[pid + 1] = start[pid + 1]! + 1
  })
  for (let p = 0; p < pidCount; p++) start[p + 1] = start[p + 1]! + start[p]!
  const next = start.slice(0, pidCount)
  const keys = new Uint32Array(trie.size * words)
  const lengths = new Uint8Array(trie.size)
  trie.forEach((bytes, length, pid) => {
    const at = next[pid]!
    next[pid] = at + 1
    lengths[at] = length
    for (let w = 0; w < words; w++) {
      keys[at * words + w] = ((bytes[4 * w]! << 24) | (bytes[4 * w + 1]! << 16) | (bytes[4 * w + 2]! << 8) | bytes[4 * w + 3]!) >>> 0
    }
  })
  return { start, keys, lengths, words }
}

/**
 * PID indexes in JSON output order for keys inserted in sorted order: array-index keys ("0" to
 * "4294967294" without leading zeros) first, ascending by value, then the others as inserted
 * (ECMA-262 OrdinaryOwnPropertyKeys).
 */
function jsonKeyOrder(pids: readonly string[]): number[] {
  const indexes: number[] = []
  const others: number[] = []
  pids.forEach((pid, i) => (isArrayIndex(pid) ? indexes : others).push(i))
  indexes.sort((a, b) => Number(pids[a]) - Number(pids[b]))
  return [...indexes, ...others]
}

function isArrayIndex(key: string): boolean {
  return /^(?:0|[1-9][0-9]{0,9})$/.test(key) && Number(key) <= 4294967294
}
