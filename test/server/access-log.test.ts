/**
 * The access log (server/access-log.ts): its lines are the ones pino would write, batched into one
 * write per 64 KiB or 100 ms; a logger given from outside gets each line through logger.info.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { AccessLog, writeHundredths } from '../../src/server/access-log.ts'

/** A destination that records each write. */
function recorder(): { writes: string[]; write(text: string): void } {
  const writes: string[] = []
  return { writes, write: (text: string) => void writes.push(text) }
}

test('lines are exactly what pino writes for the same record, time aside', () => {
  const ours = recorder()
  const theirs = recorder()
  const logger = pino({ level: 'info' }, ours)
  const reference = pino({ level: 'info' }, theirs)
  const log = new AccessLog(logger, ours)
  const url = '/endpointcost/ecs?x="quoted"\\back\u0001'
  log.record('abc-1', 'POST', url, 200, 0.41234)
  log.flush()
  reference.info({ reqId: 'abc-1', method: 'POST', url, status: 200, ms: 0.41 }, 'request')
  assert.equal(ours.writes.length, 1)
  const strip = (line: string) => line.replace(/"time":\d+/, '"time":0')
  assert.equal(strip(ours.writes[0]!), strip(theirs.writes[0]!))
  const parsed = JSON.parse(ours.writes[0]!) as Record<string, unknown>
  assert.equal(parsed.url, url)
  assert.equal(parsed.pid, process.pid)
})

test('a child logger keeps its bindings in the line', () => {
  const out = recorder()
  const log = new AccessLog(pino({ level: 'info' }, out).child({ worker: 3 }), out)
  log.record('abc-2', 'GET', '/', 304, 0)
  log.flush()
  assert.equal((JSON.parse(out.writes[0]!) as { worker: number }).worker, 3)
})

test('lines are written together: at flush, after 100 ms, or once 64 KiB are queued', async () => {
  const out = recorder()
  const log = new AccessLog(pino({ level: 'info' }, out), out)
  for (let i = 0; i < 10; i++) log.record(`id-${i}`, 'POST', '/a', 200, 1)
  assert.equal(out.writes.length, 0, 'queued, not written yet')
  await new Promise((resolve) => setTimeout(resolve, 250))
  assert.equal(out.writes.length, 1, 'one write for the ten lines, by the timer')
  assert.equal(out.writes[0]!.split('\n').filter(Boolean).length, 10)
  const long = '/' + 'x'.repeat(1000)
  for (let i = 0; i < 70; i++) log.record(`id-${i}`, 'POST', long, 200, 1)
  assert.equal(out.writes.length, 2, '64 KiB queued: written at once')
  log.flush()
  assert.equal(out.writes.length, 3)
  log.flush()
  assert.equal(out.writes.length, 3, 'nothing queued: nothing written')
  const lines = out.writes.slice(1).join('').split('\n').filter(Boolean)
  assert.equal(lines.length, 70)
  for (const line of lines) assert.equal((JSON.parse(line) as { url: string }).url, long)
})

test('a line longer than the queue goes out on its own, after the lines queued before it; UTF-8 as pino writes it', () => {
  const out = recorder()
  const log = new AccessLog(pino({ level: 'info' }, out), out)
  log.record('before', 'GET', '/caf\u00e9', 200, 1)
  const huge = '/' + 'y'.repeat(70_000)
  log.record('huge', 'GET', huge, 414, 1)
  log.record('after', 'GET', '/', 200, 1)
  log.flush()
  const lines = out.writes.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { reqId: string; url: string })
  assert.deepEqual(lines.map((l) => l.reqId), ['before', 'huge', 'after'])
  assert.equal(lines[0]!.url, '/caf\u00e9')
  assert.equal(lines[1]!.url, huge)
  assert.equal(out.writes.length, 3)
})

test('nothing is logged above level info; the level is read on every request', () => {
  const out = recorder()
  const logger = pino({ level: 'warn' }, out)
  const log = new AccessLog(logger, out)
  log.record('id', 'POST', '/a', 200, 1)
  log.flush()
  assert.equal(out.writes.length, 0)
  logger.level = 'info'
  log.record('id', 'POST', '/a', 200, 1)
  log.flush()
  assert.equal(out.writes.length, 1)
})

test('without a destination of its own, each line goes through logger.info, in that logger\'s format', () => {
  const out = recorder()
  const logger = pino({ level: 'info', messageKey: 'message', base: { service: 'alto' } }, out)
  new AccessLog(logger).record('id-9', 'GET', '/networkmap', 200, 2.345)
  assert.equal(out.writes.length, 1, 'written at once')
  const line = JSON.parse(out.writes[0]!) as Record<string, unknown>
  assert.deepEqual({ ...line, time: 0 }, { level: 30, time: 0, service: 'alto', reqId: 'id-9', method: 'GET', url: '/networkmap', status: 200, ms: 2.35, message: 'request' })
})

test('durations are written as JavaScript writes them, rounded to hundredths', () => {
  const bytes = Buffer.alloc(64)
  const text = (n: number) => bytes.toString('latin1', 1, writeHundredths(bytes, 1, n))
  for (let n = 0; n < 200_000; n++) assert.equal(text(n), String(n / 100), `hundredths ${n}`)
  for (const n of [1e7 + 1, 123_456_789, 2 ** 31 + 7, 2 ** 40 + 3]) assert.equal(text(n), String(n / 100))
  const ours = recorder()
  const theirs = recorder()
  const log = new AccessLog(pino({ level: 'info' }, ours), ours)
  const reference = pino({ level: 'info' }, theirs)
  for (const ms of [0, 0.004, 0.005, 0.07, 0.1, 1.5, 2.999, 3, 12.345, 1234.5678]) {
    log.record('id', 'GET', '/', 200, ms)
    reference.info({ reqId: 'id', method: 'GET', url: '/', status: 200, ms: Math.round(ms * 100) / 100 }, 'request')
  }
  log.flush()
  const strip = (text: string) => text.replace(/"time":\d+/g, '"time":0')
  assert.equal(strip(ours.writes.join('')), strip(theirs.writes.join('')))
})

test('non-ASCII text in the bindings or the URL is written as UTF-8, like pino', () => {
  const ours = recorder()
  const theirs = recorder()
  const log = new AccessLog(pino({ level: 'info', base: { host: 'zürich-1' } }, ours), ours)
  const reference = pino({ level: 'info', base: { host: 'zürich-1' } }, theirs)
  for (const url of ['/ascii', '/caf\u00e9/\u{1F600}', '/ascii-again']) {
    log.record('id', 'GET', url, 200, 1)
    reference.info({ reqId: 'id', method: 'GET', url, status: 200, ms: 1 }, 'request')
  }
  // Request ids are ours, but one from elsewhere is escaped as pino would.
  log.record('id "q"\\\u00e9\n', 'GET', '/', 200, 1)
  reference.info({ reqId: 'id "q"\\\u00e9\n', method: 'GET', url: '/', status: 200, ms: 1 }, 'request')
  log.flush()
  const strip = (text: string) => text.replace(/"time":\d+/g, '"time":0')
  assert.equal(strip(ours.writes.join('')), strip(theirs.writes.join('')))
  assert.equal(JSON.parse(ours.writes[0]!.split('\n')[1]!).url, '/caf\u00e9/\u{1F600}')
})
