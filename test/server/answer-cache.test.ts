/**
 * The answer cache and the rate limiter of the fast lane, as units: admission on the second sight,
 * the byte bound, the switch to a new table; fixed windows and Retry-After.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AnswerCache, fingerprint } from '../../src/server/answer-cache.ts'
import { RateLimiter } from '../../src/server/rate-limit.ts'

const body = (n: number) => Buffer.from(`{"request":${n}}`)

test('an answer is kept the second time its request is seen, and served from then on', () => {
  const cache = new AnswerCache<object>(1 << 20)
  const table = {}
  assert.equal(cache.get(table, 'ecs', '192.0.2.1', body(1)), undefined)
  cache.set(table, table, 'ecs', '192.0.2.1', body(1), Buffer.from('answer-1'))
  assert.equal(cache.get(table, 'ecs', '192.0.2.1', body(1)), undefined, 'seen once: not kept')
  cache.set(table, table, 'ecs', '192.0.2.1', body(1), Buffer.from('answer-1'))
  assert.deepEqual(cache.get(table, 'ecs', '192.0.2.1', body(1)), Buffer.from('answer-1'))
  assert.equal(cache.size, 1)
})

test('an answer is served only for the same resource, client address and body', () => {
  const cache = new AnswerCache<object>(1 << 20)
  const table = {}
  const keep = (resource: string, remote: string, request: Buffer, answer: string) => {
    cache.set(table, table, resource, remote, request, Buffer.from(answer))
    cache.set(table, table, resource, remote, request, Buffer.from(answer))
  }
  keep('ecs', '192.0.2.1', body(1), 'a')
  keep('ecs', '192.0.2.2', body(1), 'b')
  keep('eps', '192.0.2.1', body(1), 'c')
  keep('ecs', '192.0.2.1', body(2), 'd')
  assert.equal(cache.size, 4)
  assert.equal(cache.get(table, 'ecs', '192.0.2.1', body(1))?.toString(), 'a')
  assert.equal(cache.get(table, 'ecs', '192.0.2.2', body(1))?.toString(), 'b')
  assert.equal(cache.get(table, 'eps', '192.0.2.1', body(1))?.toString(), 'c')
  assert.equal(cache.get(table, 'ecs', '192.0.2.1', body(2))?.toString(), 'd')
  assert.equal(cache.get(table, 'ecs', '192.0.2.3', body(1)), undefined)
  const off = new AnswerCache<object>(0)
  off.set(table, table, 'ecs', '192.0.2.1', body(1), Buffer.from('a'))
  off.set(table, table, 'ecs', '192.0.2.1', body(1), Buffer.from('a'))
  assert.equal(off.enabled, false)
  assert.equal(off.get(table, 'ecs', '192.0.2.1', body(1)), undefined, 'size 0: the cache is off')
})

test('long bodies that differ only where the fingerprint does not look share a bucket but never an answer', () => {
  // Bodies of 4,000 bytes, the same length, differing in one byte between the sampled words.
  const long = (byte: number, at: number) => {
    const b = Buffer.alloc(4000, 'a')
    b[at] = byte
    return b
  }
  // The fingerprint reads 64 bytes at each end and 32 words at an even stride between them.
  const stride = Math.floor((4000 - 128) / 32)
  const unsampled = 64 + stride + 5 // inside the gap after the second sampled word
  assert.equal(fingerprint('ecs', '192.0.2.1', long(0x62, unsampled)), fingerprint('ecs', '192.0.2.1', long(0x63, unsampled)), 'the test needs a collision')
  const cache = new AnswerCache<object>(1 << 20)
  const table = {}
  for (let i = 0; i < 8; i++) {
    cache.set(table, table, 'ecs', '192.0.2.1', long(0x30 + i, unsampled), Buffer.from(`answer ${i}`))
    cache.set(table, table, 'ecs', '192.0.2.1', long(0x30 + i, unsampled), Buffer.from(`answer ${i}`))
  }
  assert.equal(cache.size, 4, 'a bucket keeps 4 requests; the rest are answered, not kept')
  for (let i = 0; i < 4; i++) assert.equal(cache.get(table, 'ecs', '192.0.2.1', long(0x30 + i, unsampled))?.toString(), `answer ${i}`)
  for (let i = 4; i < 8; i++) assert.equal(cache.get(table, 'ecs', '192.0.2.1', long(0x30 + i, unsampled)), undefined)
  // A change in a sampled place gives another fingerprint.
  assert.notEqual(fingerprint('ecs', '192.0.2.1', long(0x62, 0)), fingerprint('ecs', '192.0.2.1', long(0x63, 0)))
  assert.notEqual(fingerprint('ecs', '192.0.2.1', long(0x62, 3999)), fingerprint('ecs', '192.0.2.1', long(0x63, 3999)))
})

test('a kept request is a copy: changing the caller\'s buffer afterwards changes nothing', () => {
  const cache = new AnswerCache<object>(1 << 20)
  const table = {}
  const request = body(7)
  cache.set(table, table, 'ecs', '', request, Buffer.from('x'))
  cache.set(table, table, 'ecs', '', request, Buffer.from('x'))
  request.fill(0x20)
  assert.equal(cache.get(table, 'ecs', '', body(7))?.toString(), 'x')
  assert.equal(cache.get(table, 'ecs', '', request), undefined)
})

test('answers of another table are neither served nor kept; a new table starts empty', () => {
  const cache = new AnswerCache<object>(1 << 20)
  const [old, current] = [{}, {}]
  const put = (from: object, now: object, answer: string) => cache.set(from, now, 'ecs', '192.0.2.1', body(1), Buffer.from(answer))
  const get = (table: object) => cache.get(table, 'ecs', '192.0.2.1', body(1))
  put(old, old, 'old')
  put(old, old, 'old')
  assert.deepEqual(get(old), Buffer.from('old'))
  assert.equal(get(current), undefined)
  put(old, current, 'stale') // computed from the old table after the swap: dropped
  put(current, current, 'new')
  put(current, current, 'new')
  assert.deepEqual(get(current), Buffer.from('new'))
  assert.equal(get(old), undefined)
})

test('the byte bound pushes the oldest answers out', () => {
  const cache = new AnswerCache<object>(10_000)
  const table = {}
  for (let i = 0; i < 20; i++) {
    cache.set(table, table, 'ecs', '192.0.2.1', body(i), Buffer.alloc(1000, 'x'))
    cache.set(table, table, 'ecs', '192.0.2.1', body(i), Buffer.alloc(1000, 'x'))
  }
  assert.ok(cache.size < 10 && cache.size > 5, `size ${cache.size}`)
  assert.equal(cache.get(table, 'ecs', '192.0.2.1', body(0)), undefined, 'the oldest is gone')
  assert.deepEqual(cache.get(table, 'ecs', '192.0.2.1', body(19)), Buffer.alloc(1000, 'x'), 'the newest is there')
  cache.set(table, table, 'ecs', '192.0.2.1', body(99), Buffer.alloc(70_000, 'y'))
  cache.set(table, table, 'ecs', '192.0.2.1', body(99), Buffer.alloc(70_000, 'y'))
  assert.equal(cache.get(table, 'ecs', '192.0.2.1', body(99)), undefined, 'answers over 64 KiB are not kept')
})

test('thousands of answers through a small bound: always within it, newest kept, oldest out', () => {
  const cache = new AnswerCache<object>(50_000)
  const table = {}
  for (let i = 0; i < 5000; i++) {
    cache.set(table, table, 'ecs', '192.0.2.1', body(i), Buffer.alloc(200, 'z'))
    cache.set(table, table, 'ecs', '192.0.2.1', body(i), Buffer.alloc(200, 'z'))
    assert.ok(cache.size * 200 <= 50_000, `size ${cache.size} at ${i}`)
  }
  assert.ok(cache.size > 50, `size ${cache.size}`)
  assert.deepEqual(cache.get(table, 'ecs', '192.0.2.1', body(4999)), Buffer.alloc(200, 'z'))
  assert.equal(cache.get(table, 'ecs', '192.0.2.1', body(0)), undefined)
  assert.equal(cache.get(table, 'ecs', '192.0.2.1', body(4000)), undefined)
})

test('an answer is kept only if its request came back within as many misses as the cache holds answers of its size', () => {
  // 10,000 B hold 8 answers of 1,000 B with their requests and overhead: a request must come back
  // within 8 misses to be kept.
  const cache = new AnswerCache<object>(10_000)
  const table = {}
  const answer = Buffer.alloc(1000, 'a')
  const miss = (n: number) => cache.set(table, table, 'ecs', '192.0.2.1', body(n), answer)
  const kept = (n: number) => cache.get(table, 'ecs', '192.0.2.1', body(n)) !== undefined
  miss(1)
  for (let n = 100; n < 107; n++) miss(n)
  miss(1) // back after 8 misses
  assert.ok(kept(1), 'back soon enough: kept')
  miss(2)
  for (let n = 200; n < 208; n++) miss(n)
  miss(2) // back after 9 misses: it would have been pushed out before its third sight
  assert.ok(!kept(2), 'back too late: not kept')
  miss(2) // its second sight counts as the last one: back at once now
  assert.ok(kept(2), 'then back at once: kept')
  // Questions cycling through more than the cache holds (here 20 in turn) are never kept: no churn.
  const churn = new AnswerCache<object>(10_000)
  for (let round = 0; round < 5; round++) for (let n = 0; n < 20; n++) churn.set(table, table, 'ecs', '192.0.2.1', body(n), answer)
  assert.equal(churn.size, 0)
})

test('a small answer cut from Buffer\'s shared pool is kept in memory of its own', () => {
  const cache = new AnswerCache<object>(1 << 20)
  const table = {}
  const answer = Buffer.from('{"small":"answer"}') // a view of Buffer's 8 KiB pool
  assert.ok(answer.buffer.byteLength > answer.length, 'the test needs a pooled buffer')
  cache.set(table, table, 'ecs', '192.0.2.1', body(1), answer)
  cache.set(table, table, 'ecs', '192.0.2.1', body(1), answer)
  const kept = cache.get(table, 'ecs', '192.0.2.1', body(1))!
  assert.deepEqual(kept, answer)
  assert.equal(kept.buffer.byteLength, kept.length)
})

test('rate limiter: max per fixed window per key, Retry-After until the window ends', () => {
  let now = 10_500
  const limiter = new RateLimiter(2, 1000, () => now)
  assert.equal(limiter.take('a'), 0)
  assert.equal(limiter.take('a'), 0)
  assert.equal(limiter.take('b'), 0, 'another client has its own count')
  now = 10_700
  assert.equal(limiter.take('a'), 1, 'third in the window: refused, back in 300 ms -> 1 s')
  now = 11_000
  assert.equal(limiter.take('a'), 0, 'a new window')
  const slow = new RateLimiter(1, 60_000, () => now)
  slow.take('a')
  assert.equal(slow.take('a'), 49, 'window 0-60 s, now 11 s: 49 s to wait')
})
