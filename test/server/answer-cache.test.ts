/**
 * The answer cache and the rate limiter of the fast lane, as units: admission on the second sight,
 * the byte bound, the switch to a new table; fixed windows and Retry-After.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AnswerCache } from '../../src/server/answer-cache.ts'
import { RateLimiter } from '../../src/server/rate-limit.ts'

const body = (n: number) => Buffer.from(`{"request":${n}}`)

test('an answer is kept the second time its request is seen, and served from then on', () => {
  const cache = new AnswerCache<object>(1 << 20)
  const table = {}
  const key = cache.key('ecs', '192.0.2.1', body(1))!
  assert.equal(cache.get(table, key), undefined)
  cache.set(table, table, key, Buffer.from('answer-1'))
  assert.equal(cache.get(table, key), undefined, 'seen once: not kept')
  cache.set(table, table, key, Buffer.from('answer-1'))
  assert.deepEqual(cache.get(table, key), Buffer.from('answer-1'))
  assert.equal(cache.size, 1)
})

test('keys separate resources, client addresses and bodies', () => {
  const cache = new AnswerCache<object>(1 << 20)
  const keys = new Set([cache.key('ecs', '192.0.2.1', body(1)), cache.key('ecs', '192.0.2.2', body(1)), cache.key('eps', '192.0.2.1', body(1)), cache.key('ecs', '192.0.2.1', body(2))])
  assert.equal(keys.size, 4)
  assert.equal(new AnswerCache<object>(0).key('ecs', undefined, body(1)), undefined, 'size 0: the cache is off')
})

test('answers of another table are neither served nor kept; a new table starts empty', () => {
  const cache = new AnswerCache<object>(1 << 20)
  const [old, current] = [{}, {}]
  const key = cache.key('ecs', '192.0.2.1', body(1))!
  cache.set(old, old, key, Buffer.from('old'))
  cache.set(old, old, key, Buffer.from('old'))
  assert.deepEqual(cache.get(old, key), Buffer.from('old'))
  assert.equal(cache.get(current, key), undefined)
  cache.set(old, current, key, Buffer.from('stale')) // computed from the old table after the swap: dropped
  cache.set(current, current, key, Buffer.from('new'))
  cache.set(current, current, key, Buffer.from('new'))
  assert.deepEqual(cache.get(current, key), Buffer.from('new'))
  assert.equal(cache.get(old, key), undefined)
})

test('the byte bound pushes the oldest answers out', () => {
  const cache = new AnswerCache<object>(10_000)
  const table = {}
  const keys: string[] = []
  for (let i = 0; i < 20; i++) {
    const key = cache.key('ecs', '192.0.2.1', body(i))!
    keys.push(key)
    cache.set(table, table, key, Buffer.alloc(1000, 'x'))
    cache.set(table, table, key, Buffer.alloc(1000, 'x'))
  }
  assert.ok(cache.size < 10 && cache.size > 5, `size ${cache.size}`)
  assert.equal(cache.get(table, keys[0]!), undefined, 'the oldest is gone')
  assert.deepEqual(cache.get(table, keys[19]!), Buffer.alloc(1000, 'x'), 'the newest is there')
  const big = cache.key('ecs', '192.0.2.1', body(99))!
  cache.set(table, table, big, Buffer.alloc(70_000, 'y'))
  cache.set(table, table, big, Buffer.alloc(70_000, 'y'))
  assert.equal(cache.get(table, big), undefined, 'answers over 64 KiB are not kept')
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
