/**
 * The write batch (src/server/write-batch.ts): answers of one event-loop turn written together at
 * its end, none waiting more than its bound; and, over a real socket, pipelined requests to the
 * fast lane still answered in their order.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { ServerResponse } from 'node:http'
import { connect } from 'node:net'
import { setImmediate as turn } from 'node:timers/promises'
import { WriteBatch } from '../../src/server/write-batch.ts'
import { createAltoServer } from '../../src/server/app.ts'
import { rfcSnapshot } from '../helpers/rfc-server.ts'
import { request } from 'undici'

const ECS = JSON.stringify({ 'cost-type': { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' }, endpoints: { srcs: ['ipv4:192.0.2.2'], dsts: ['ipv4:192.0.2.89'] } })

/** A stand-in response that only records being destroyed. */
function response(destroyed: string[], name: string): ServerResponse {
  return { destroy: () => destroyed.push(name) } as unknown as ServerResponse
}

function setup(maxWaitMs: number) {
  const written: string[] = []
  const destroyed: string[] = []
  const errors: unknown[] = []
  let clock = 0
  const batch = new WriteBatch(maxWaitMs, (error) => errors.push(error), () => clock)
  const add = (name: string, write: () => void = () => written.push(name)) => batch.add(response(destroyed, name), write)
  return { batch, add, written, destroyed, errors, at: (ms: number) => (clock = ms) }
}

test('answers queued in one turn are written at its end, together and in order', async () => {
  const { batch, add, written } = setup(1)
  add('a')
  add('b')
  add('c')
  assert.deepEqual(written, [], 'nothing is written during the turn')
  assert.equal(batch.size, 3)
  await turn()
  assert.deepEqual(written, ['a', 'b', 'c'])
  assert.equal(batch.size, 0)
  add('d')
  await turn()
  assert.deepEqual(written, ['a', 'b', 'c', 'd'], 'the next turn starts a new batch')
})

test('an answer queued once the batch has waited maxWaitMs is written at once, with the batch', async () => {
  const { batch, add, written, at } = setup(1)
  at(10)
  add('a')
  at(10.6)
  add('b')
  assert.deepEqual(written, [])
  at(11)
  add('c')
  assert.deepEqual(written, ['a', 'b', 'c'], 'written in the same turn')
  add('d') // a new batch, timed from now
  at(11.5)
  add('e')
  assert.deepEqual(written, ['a', 'b', 'c'])
  await turn()
  assert.deepEqual(written, ['a', 'b', 'c', 'd', 'e'])
  assert.equal(batch.size, 0)
})

test('flushIfDue writes the batch only once it has waited maxWaitMs', async () => {
  const { batch, add, written, at } = setup(1)
  at(5)
  add('a')
  at(5.9)
  batch.flushIfDue()
  assert.deepEqual(written, [], 'not due yet')
  at(6)
  batch.flushIfDue()
  assert.deepEqual(written, ['a'])
  batch.flushIfDue() // nothing queued: nothing to do
  await turn()
  assert.deepEqual(written, ['a'])
})

test('maxWaitMs 0 writes each answer as it is queued', () => {
  const { add, written } = setup(0)
  add('a')
  assert.deepEqual(written, ['a'])
  add('b')
  assert.deepEqual(written, ['a', 'b'])
})

test('a write that throws is reported and its response destroyed; the others are still written', async () => {
  const { add, written, destroyed, errors } = setup(1)
  add('a')
  add('b', () => {
    throw new Error('header rejected')
  })
  add('c')
  await turn()
  assert.deepEqual(written, ['a', 'c'])
  assert.deepEqual(destroyed, ['b'])
  assert.equal(errors.length, 1)
  assert.match(String(errors[0]), /header rejected/)
})

test('a write that throws after its answer was sent leaves the response alone; a failing report does not stop the batch', async () => {
  const written: string[] = []
  const destroyed: string[] = []
  const batch = new WriteBatch(1, () => {
    throw new Error('the logger is gone')
  })
  const sent = { writableEnded: true, destroy: () => destroyed.push('sent') } as unknown as ServerResponse
  batch.add(sent, () => {
    written.push('sent')
    throw new Error('the log line failed')
  })
  batch.add(response(destroyed, 'next'), () => written.push('next'))
  await turn()
  assert.deepEqual(written, ['sent', 'next'])
  assert.deepEqual(destroyed, [], 'an answer already sent is not cut off')
})

test('an answer queued while a batch is being written goes to the next batch', async () => {
  const { batch, add, written } = setup(1)
  add('a', () => {
    written.push('a')
    add('late')
  })
  add('b')
  await turn()
  assert.deepEqual(written, ['a', 'b'])
  assert.equal(batch.size, 1)
  await turn()
  assert.deepEqual(written, ['a', 'b', 'late'])
})

test('pipelined requests on one connection are answered in their order', async () => {
  const server = createAltoServer(rfcSnapshot(), { port: 0, logLevel: 'silent', limits: { rateLimit: { max: 0, windowMs: 1000 } } })
  const url = new URL(await server.listen())
  try {
    // Three different questions, each with a different answer, sent in one write.
    const questions = ['192.0.2.89', '198.51.100.34', '203.0.113.45'].map((dst) =>
      JSON.stringify({ 'cost-type': { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' }, endpoints: { srcs: ['ipv4:192.0.2.2'], dsts: [`ipv4:${dst}`] } }),
    )
    const raw = questions
      .map((q) => `POST /endpointcost/endpoint-cost HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/alto-endpointcostparams+json\r\ncontent-length: ${Buffer.byteLength(q)}\r\n\r\n${q}`)
      .join('')
    const socket = connect(Number(url.port), url.hostname)
    const answers = await new Promise<{ status: string; body: string }[]>((resolve, reject) => {
      let buffered = Buffer.alloc(0)
      const parsed: { status: string; body: string }[] = []
      socket.setTimeout(10_000, () => reject(new Error(`only ${parsed.length} answers: ${buffered.toString()}`)))
      socket.on('error', reject)
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk])
        for (;;) {
          const end = buffered.indexOf('\r\n\r\n')
          if (end < 0) break
          const head = buffered.subarray(0, end).toString()
          const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0)
          if (buffered.length < end + 4 + length) break
          parsed.push({ status: head.split(' ')[1]!, body: buffered.subarray(end + 4, end + 4 + length).toString() })
          buffered = buffered.subarray(end + 4 + length)
        }
        if (parsed.length === questions.length) resolve(parsed)
      })
      socket.write(raw)
    }).finally(() => socket.destroy())
    assert.equal(answers.length, 3)
    for (const [i, answer] of answers.entries()) {
      assert.equal(answer.status, '200', answer.body)
      const dst = ['192.0.2.89', '198.51.100.34', '203.0.113.45'][i]!
      assert.deepEqual(Object.keys(JSON.parse(answer.body)['endpoint-cost-map']['ipv4:192.0.2.2']), [`ipv4:${dst}`], `answer ${i + 1} is about ${dst}`)
    }
    assert.equal(server.fastLane!.taken, 3, 'all three went through the lane')
  } finally {
    await server.close()
  }
})

test('the fast lane queues its answers, writes those due before computing one, and all before handing a request to fastify', async () => {
  const server = createAltoServer(rfcSnapshot(), { port: 0, logLevel: 'silent', limits: { rateLimit: { max: 0, windowMs: 1000 } } })
  const base = await server.listen()
  const batch = server.fastLane!.batch
  assert.equal(batch.maxWaitMs, 1, 'the default bound')
  const events: string[] = []
  const add = batch.add.bind(batch)
  const flush = batch.flush.bind(batch)
  batch.add = (response, write) => {
    events.push('add')
    add(response, write)
  }
  batch.flush = () => {
    events.push('flush')
    flush()
  }
  const flushIfDue = batch.flushIfDue.bind(batch)
  batch.flushIfDue = () => {
    events.push('due')
    flushIfDue()
  }
  try {
    const ask = async () => {
      events.length = 0
      const answer = await request(new URL('/endpointcost/endpoint-cost', base), { method: 'POST', headers: { 'content-type': 'application/alto-endpointcostparams+json' }, body: ECS })
      assert.equal(answer.statusCode, 200)
      await answer.body.text()
      return events.filter((e, i) => e !== 'flush' || events[i - 1] !== 'flush').slice(0, 2)
    }
    assert.deepEqual(await ask(), ['due', 'add'], 'a miss: answers due go out, then the answer is computed and queued')
    assert.deepEqual(await ask(), ['due', 'add'], 'kept on its second sight, still computed')
    assert.deepEqual(await ask(), ['add', 'flush'], 'a hit: queued at once, written at the end of the turn')
    events.length = 0
    const ird = await request(base, { headers: { accept: 'application/alto-directory+json' } })
    await ird.body.text()
    assert.equal(events[0], 'flush', 'the IRD goes to fastify: the queue goes out first')
  } finally {
    await server.close()
  }
  const atOnce = createAltoServer(rfcSnapshot(), { port: 0, logLevel: 'silent', writeBatchMs: 0 })
  assert.equal(atOnce.fastLane!.batch.maxWaitMs, 0, 'writeBatchMs reaches the lane')
})
