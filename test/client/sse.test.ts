/**
 * The event stream parser: line ends of every kind, chunks split anywhere, comments, multi-line
 * data, and events without data (which are not dispatched).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SseParser, type ServerSentEvent } from '../../src/client/sse.ts'

function parse(chunks: readonly string[]): ServerSentEvent[] {
  const events: ServerSentEvent[] = []
  const parser = new SseParser((e) => events.push(e))
  for (const chunk of chunks) parser.push(chunk)
  return events
}

const stream = '\uFEFF: hello\nevent: a,b\ndata: {"x":\ndata:1}\n\nevent: only-type\n\nid: 7\ndata:plain\r\n\r\nevent: c\rdata: d\r\rretry: 10\ndata\n\n'
const expected: ServerSentEvent[] = [
  { type: 'a,b', data: '{"x":\n1}', id: undefined },
  { type: 'message', data: 'plain', id: '7' },
  { type: 'c', data: 'd', id: '7' },
  { type: 'message', data: '', id: '7' },
]

test('events, comments, ids and every line end in one chunk', () => {
  assert.deepEqual(parse([stream]), expected)
})

test('the same stream split at every position, and one character at a time', () => {
  for (let i = 0; i <= stream.length; i++) assert.deepEqual(parse([stream.slice(0, i), stream.slice(i)]), expected, `split at ${i}`)
  assert.deepEqual(parse([...stream]), expected)
})

test('an event that never ends is bounded', () => {
  const parser = new SseParser(() => {}, { maxEventBytes: 100 })
  assert.throws(() => {
    for (let i = 0; i < 20; i++) parser.push('data: 0123456789\n')
  }, RangeError)
  const unterminated = new SseParser(() => {}, { maxEventBytes: 100 })
  assert.throws(() => {
    for (let i = 0; i < 20; i++) unterminated.push('0123456789')
  }, RangeError)
})
