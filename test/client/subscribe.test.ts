/**
 * `AltoClient.subscribe` against the real server on port 0: maps kept current from the update
 * stream's patches (equal to a fresh GET after each change), substreams added and removed through
 * stream control, reconnection after the server goes away, polling when no stream is offered.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { pino } from 'pino'
import { AltoClient } from '../../src/client/client.ts'
import type { Subscription, SubscriptionUpdate } from '../../src/client/subscribe.ts'
import { AltoError } from '../../src/protocol/errors.ts'
import { buildSnapshot, type Snapshot } from '../../src/provisioning/snapshot.ts'
import type { NetworkSpec } from '../../src/provisioning/spec.ts'
import { createAltoServer, type AltoServer, type AltoServerOptions } from '../../src/server/app.ts'
import { rfcSnapshot, rfcSpec } from '../helpers/rfc-server.ts'

const NM = 'my-default-network-map'
const CM = 'costmap-num-routingcost'
const ORD = 'costmap-ord-routingcost'

type Teardown = { after(fn: () => Promise<void> | void): void }

async function started(t: Teardown, options: AltoServerOptions = {}, snapshot: Snapshot = rfcSnapshot()) {
  const server = createAltoServer(snapshot, { logger: pino({ level: 'silent' }), port: 0, limits: { rateLimit: { max: 0, windowMs: 1000 } }, ...options })
  const url = await server.listen()
  t.after(() => server.close())
  return { server, url }
}

function changedSpec(vtag: string, cost: number): NetworkSpec {
  const spec = rfcSpec()
  const map = spec.networkMaps[0]!
  map.pids = { ...map.pids, PID2: { ipv4: ['198.51.100.128/26', '198.51.100.192/26'] } }
  map.vtag = vtag
  spec.costMaps[0]!.costs = { ...spec.costMaps[0]!.costs, PID1: { ...spec.costMaps[0]!.costs.PID1, PID2: cost } }
  return spec
}

async function fresh(url: string, path: string): Promise<unknown> {
  return (await request(new URL(path, url))).body.json()
}

/** The next `count` updates of a subscription. */
function updates(subscription: Subscription, count: number, timeoutMs = 5000): Promise<SubscriptionUpdate[]> {
  return new Promise((resolve, reject) => {
    const seen: SubscriptionUpdate[] = []
    const timer = setTimeout(() => reject(new Error(`only ${seen.length} of ${count} updates: ${JSON.stringify(seen.map((u) => u.resourceId))}`)), timeoutMs)
    const onUpdate = (update: SubscriptionUpdate) => {
      seen.push(update)
      if (seen.length < count) return
      clearTimeout(timer)
      subscription.off('update', onUpdate)
      resolve(seen)
    }
    subscription.on('update', onUpdate)
  })
}

async function subscribed(t: Teardown, url: string, ...args: Parameters<AltoClient['subscribe']>) {
  const client = new AltoClient(url)
  const subscription = await client.subscribe(...args)
  t.after(async () => {
    await subscription.close()
    await client.close()
  })
  return { client, subscription }
}

test('a subscription holds the maps and keeps them equal to a fresh GET through patches', async (t) => {
  const { server, url } = await started(t)
  const { subscription } = await subscribed(t, url, [{}, { costMap: 'num-routingcost' }])
  assert.equal(subscription.mode, 'stream')
  assert.deepEqual(subscription.resourceIds, [NM, CM])
  assert.deepEqual(subscription.current(NM), await fresh(url, `/networkmap/${NM}`))
  assert.deepEqual(subscription.current(CM), await fresh(url, `/costmap/${CM}`))
  assert.equal(subscription.vtag()?.tag, rfcSnapshot().defaultNetworkMap.vtag)

  for (const [i, cost] of [6, 7, 8].entries()) {
    const next = updates(subscription, 2)
    server.setSnapshot(buildSnapshot(changedSpec(`v${i + 2}`, cost)))
    const [nm, cm] = await next
    assert.deepEqual([nm!.resourceId, nm!.via, nm!.vtag?.tag], [NM, 'json-patch', `v${i + 2}`])
    assert.deepEqual([cm!.resourceId, cm!.via], [CM, 'merge-patch'])
    assert.deepEqual(subscription.current(NM), await fresh(url, `/networkmap/${NM}`))
    assert.deepEqual(subscription.current(CM), await fresh(url, `/costmap/${CM}`))
    assert.deepEqual((subscription.current(CM) as any).meta['dependent-vtags'], [{ 'resource-id': NM, tag: `v${i + 2}` }])
  }
  assert.equal(subscription.stats.fullBodies, 2)
  assert.equal(subscription.stats.patches, 6)
  assert.equal(server.updateStreams!.stats.patchesComputed, 6)
})

test('maps are added and removed on the running stream through its control URI', async (t) => {
  const { server, url } = await started(t)
  const { subscription } = await subscribed(t, url, NM)
  await subscription.add({ costMap: 'ord-routingcost' })
  assert.deepEqual(subscription.resourceIds, [NM, ORD])
  assert.deepEqual(subscription.current(ORD), await fresh(url, `/costmap/${ORD}`))
  assert.equal(subscription.stats.connects, 1, 'no reconnection was needed')

  await subscription.remove(NM)
  assert.equal(subscription.current(NM), undefined)
  const next = updates(subscription, 1)
  server.setSnapshot(buildSnapshot(changedSpec('v2', 30)))
  const [update] = await next
  assert.equal(update!.resourceId, ORD)
  assert.deepEqual(subscription.current(ORD), await fresh(url, `/costmap/${ORD}`))
  assert.equal(server.updateStreams!.stats.substreams, 1)

  // Removing the last map ends the stream; adding one opens a new one.
  await subscription.remove(ORD)
  for (let i = 0; i < 50 && server.updateStreams!.stats.streams > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  assert.equal(server.updateStreams!.stats.streams, 0)
  await subscription.add(CM)
  assert.deepEqual(subscription.current(CM), await fresh(url, `/costmap/${CM}`))
  assert.equal(server.updateStreams!.stats.streams, 1)
})

test('when the server goes away the subscription reconnects, resuming from its vtag', async (t) => {
  const first = createAltoServer(rfcSnapshot(), { logger: pino({ level: 'silent' }), port: 0 })
  const url = await first.listen()
  const port = Number(new URL(url).port)
  const client = new AltoClient(url)
  const subscription = await client.subscribe([{}, { costMap: 'num-routingcost' }], { reconnectMs: 20, maxReconnectMs: 100 })
  const warnings: Error[] = []
  subscription.on('warning', (error) => warnings.push(error))
  let second: AltoServer | undefined
  t.after(async () => {
    await subscription.close()
    await client.close()
    await second?.close()
  })
  await first.close()
  // The same network map version, a changed cost map: the network map resumes with an empty change.
  const spec = rfcSpec()
  spec.costMaps[0]!.costs = { ...spec.costMaps[0]!.costs, PID3: { PID1: 99, PID2: 15 } }
  second = createAltoServer(buildSnapshot(spec), { logger: pino({ level: 'silent' }), port })
  const next = updates(subscription, 2)
  await second.listen()
  const got = await next
  assert.deepEqual(
    got.map((u) => [u.resourceId, u.via]),
    [
      [NM, 'json-patch'],
      [CM, 'full'],
    ],
  )
  assert.deepEqual(subscription.current(CM), await fresh(url, `/costmap/${CM}`))
  assert.deepEqual(subscription.current(NM), await fresh(url, `/networkmap/${NM}`))
  assert.ok(warnings.length >= 1, 'the drop is reported as a warning')
  assert.ok(subscription.stats.connects >= 2)
})

test('without an update stream in the IRD the subscription polls with conditional GETs', async (t) => {
  const { server, url } = await started(t, { updateStreams: { enabled: false } })
  const { client, subscription } = await subscribed(t, url, [{}, { costMap: 'num-routingcost' }], { pollIntervalMs: 30 })
  assert.equal(subscription.mode, 'poll')
  assert.deepEqual(subscription.current(NM), await fresh(url, `/networkmap/${NM}`))
  const polls = subscription.stats.polls
  await new Promise((resolve) => setTimeout(resolve, 100))
  assert.ok(subscription.stats.polls > polls)
  assert.ok(client.stats.notModified >= 2, 'unchanged maps cost a 304, not a body')

  const next = updates(subscription, 2)
  server.setSnapshot(buildSnapshot(changedSpec('v2', 6)))
  const got = await next
  assert.deepEqual(got.map((u) => u.via), ['poll', 'poll'])
  assert.deepEqual(subscription.current(NM), await fresh(url, `/networkmap/${NM}`))
  assert.deepEqual(subscription.current(CM), await fresh(url, `/costmap/${CM}`))
  assert.equal(subscription.vtag(NM)?.tag, 'v2')
})

test('polling can be asked for even when a stream is offered; incremental false gets full maps', async (t) => {
  const { server, url } = await started(t)
  const polled = await subscribed(t, url, NM, { mode: 'poll', pollIntervalMs: 1000 })
  assert.equal(polled.subscription.mode, 'poll')
  assert.equal(server.updateStreams!.stats.streams, 0)

  const { subscription } = await subscribed(t, url, NM, { incremental: false })
  const next = updates(subscription, 1)
  server.setSnapshot(buildSnapshot(changedSpec('v2', 6)))
  const [update] = await next
  assert.equal(update!.via, 'full')
  assert.deepEqual(subscription.current(NM), await fresh(url, `/networkmap/${NM}`))
})

test('subscriptions that cannot work fail at once with the reason', async (t) => {
  const { url } = await started(t, { updateStreams: { maxStreams: 0 } })
  const client = new AltoClient(url)
  t.after(() => client.close())
  await assert.rejects(client.subscribe('no-such-map'), (error: unknown) => error instanceof AltoError && error.code === 'ALTO_ERR_NO_RESOURCE')
  await assert.rejects(client.subscribe('endpoint-cost'), (error: unknown) => error instanceof AltoError && error.code === 'ALTO_ERR_NO_RESOURCE')
  // The server refuses every stream (maxStreams 0): its 503 is the answer.
  await assert.rejects(client.subscribe(NM), (error: unknown) => error instanceof AltoError && error.statusCode === 503)

  const { url: plain } = await started(t, { updateStreams: { enabled: false } })
  const other = new AltoClient(plain)
  t.after(() => other.close())
  await assert.rejects(other.subscribe(NM, { mode: 'stream' }), (error: unknown) => error instanceof AltoError && error.code === 'ALTO_ERR_NO_RESOURCE')
})

test('closing a subscription closes its stream on the server', async (t) => {
  const { server, url } = await started(t)
  const client = new AltoClient(url)
  t.after(() => client.close())
  const subscription = await client.subscribe(NM)
  assert.equal(server.updateStreams!.stats.streams, 1)
  const closed = once(subscription, 'close')
  await subscription.close()
  await closed
  for (let i = 0; i < 50 && server.updateStreams!.stats.streams > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  assert.equal(server.updateStreams!.stats.streams, 0)
})

test('a map the server stops streaming is dropped with a warning; the others go on', async (t) => {
  const { server, url } = await started(t)
  const { subscription } = await subscribed(t, url, [NM, { costMap: 'ord-routingcost' }])
  const warning = once(subscription, 'warning')
  const spec = rfcSpec()
  spec.costMaps[0]!.ordinal = false
  server.setSnapshot(buildSnapshot(spec))
  const [error] = (await warning) as [AltoError]
  assert.equal(error.code, 'ALTO_ERR_NO_RESOURCE')
  assert.match(error.message, /costmap-ord-routingcost.*no longer served/)
  assert.deepEqual(subscription.resourceIds, [NM])
  const next = updates(subscription, 1)
  server.setSnapshot(buildSnapshot(changedSpec('v2', 6)))
  assert.equal((await next)[0]!.resourceId, NM)
})

/** A fake ALTO server whose stream answers come from `streamAnswer` (for faults a real server will not produce). */
async function fakeServer(t: Teardown, streamAnswer: (res: ServerResponse, attempt: number) => void) {
  const networkMap = rfcSnapshot().defaultNetworkMap.toBody()
  let attempts = 0
  const server = createServer((req, res) => {
    const base = `http://${req.headers.host}`
    if (req.method === 'GET' && req.url === '/') {
      res.writeHead(200, { 'content-type': 'application/alto-directory+json' })
      res.end(
        JSON.stringify({
          meta: { 'default-alto-network-map': NM },
          resources: {
            [NM]: { uri: `${base}/nm`, 'media-type': 'application/alto-networkmap+json' },
            'update-stream': { uri: `${base}/stream`, 'media-type': 'text/event-stream', accepts: 'application/alto-updatestreamparams+json', uses: [NM] },
          },
        }),
      )
    } else if (req.method === 'GET' && req.url === '/nm') {
      res.writeHead(200, { 'content-type': 'application/alto-networkmap+json', etag: '"1"' })
      res.end(JSON.stringify(networkMap))
    } else {
      req.resume()
      streamAnswer(res, attempts++)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    server.closeAllConnections()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, networkMap }
}

test('an incremental change that does not apply makes the client start again from full maps', async (t) => {
  const { url, networkMap } = await fakeServer(t, (res, attempt) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write(`event: application/alto-networkmap+json,${NM}\ndata: ${JSON.stringify(networkMap)}\n\n`)
    const bad = `event: application/json-patch+json,${NM}\ndata: [{"op":"test","path":"/meta/vtag/tag","value":"other"}]\n\n`
    if (attempt === 0) setTimeout(() => res.write(bad), 50)
  })
  const { subscription } = await subscribed(t, url, NM, { reconnectMs: 10 })
  const warnings: Error[] = []
  subscription.on('warning', (error) => warnings.push(error))
  const next = updates(subscription, 1)
  const [update] = await next
  assert.equal(update!.via, 'full')
  assert.equal(subscription.stats.connects, 2)
  assert.ok(warnings.some((w) => w instanceof AltoError && w.code === 'ALTO_ERR_BAD_RESPONSE' && /failed/.test(w.message)))
  assert.deepEqual(subscription.current(NM), networkMap)
})

test('an update stream listed in the IRD but not served (404) makes an auto subscription poll', async (t) => {
  const { url, networkMap } = await fakeServer(t, (res) => {
    res.writeHead(404, { 'content-type': 'application/problem+json' })
    res.end('{"status":404}')
  })
  const { subscription } = await subscribed(t, url, NM, { pollIntervalMs: 1000 })
  assert.equal(subscription.mode, 'poll')
  assert.deepEqual(subscription.current(NM), networkMap)
})
