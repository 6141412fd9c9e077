/**
 * RFC 8895 update streams against the real server on port 0: the IRD entry, the first events,
 * patches after a snapshot swap that rebuild exactly what a fresh GET returns, stream control,
 * errors, bounds, keep-alives and clean close.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'undici'
import { pino } from 'pino'
import { SseParser, type ServerSentEvent } from '../../src/client/sse.ts'
import { applyJsonPatch } from '../../src/protocol/json-patch.ts'
import { applyMergePatch } from '../../src/protocol/merge-patch.ts'
import { buildSnapshot } from '../../src/provisioning/snapshot.ts'
import type { NetworkSpec } from '../../src/provisioning/spec.ts'
import { createAltoServer, type AltoServerOptions } from '../../src/server/app.ts'
import { MT, rfcServer, rfcSnapshot, rfcSpec } from '../helpers/rfc-server.ts'

const NM = 'my-default-network-map'
const CM = 'costmap-num-routingcost'
const CONTROL = MT.updateStreamControl

async function started(t: { after(fn: () => Promise<void>): void }, options: AltoServerOptions = {}) {
  const server = createAltoServer(rfcSnapshot(), { logger: pino({ level: 'silent' }), port: 0, limits: { rateLimit: { max: 0, windowMs: 1000 } }, ...options })
  const url = await server.listen()
  t.after(() => server.close())
  return { server, url }
}

/** A spec with PID2 split in two /26s (new vtag) and, optionally, one cost changed. */
function changedSpec(options: { vtag?: string; splitPid2?: boolean; cost?: number } = {}): NetworkSpec {
  const spec = rfcSpec()
  const map = spec.networkMaps[0]!
  if (options.splitPid2 ?? true) map.pids = { ...map.pids, PID2: { ipv4: ['198.51.100.128/26', '198.51.100.192/26'] } }
  map.vtag = options.vtag ?? 'v2'
  if (options.cost !== undefined) spec.costMaps[0]!.costs = { ...spec.costMaps[0]!.costs, PID1: { ...spec.costMaps[0]!.costs.PID1, PID2: options.cost } }
  return spec
}

interface OpenStream {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** The next event (or `end` when the stream ended). */
  next(timeoutMs?: number): Promise<ServerSentEvent | 'end'>
  /** Raw text so far (comments included). */
  raw(): string
  close(): void
  json: unknown
}

async function open(url: string, body: unknown, contentType: string = MT.updateStreamParams): Promise<OpenStream> {
  const abort = new AbortController()
  const response = await request(new URL('updates/stream', url), {
    method: 'POST',
    headers: { 'content-type': contentType, accept: `${MT.updateStream},${MT.error}` },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: abort.signal,
  })
  const queue: Array<ServerSentEvent | 'end'> = []
  const waiting: Array<(e: ServerSentEvent | 'end') => void> = []
  const deliver = (e: ServerSentEvent | 'end') => (waiting.length > 0 ? waiting.shift()!(e) : queue.push(e))
  let raw = ''
  let json: unknown
  if (response.statusCode === 200) {
    const parser = new SseParser(deliver)
    void (async () => {
      try {
        for await (const chunk of response.body) {
          const text = (chunk as Buffer).toString('utf8')
          raw += text
          parser.push(text)
        }
      } catch {
        // aborted by the test
      }
      deliver('end')
    })()
  } else {
    json = await response.body.json()
  }
  return {
    status: response.statusCode,
    headers: response.headers,
    json,
    raw: () => raw,
    close: () => abort.abort(),
    next: (timeoutMs = 3000) =>
      queue.length > 0
        ? Promise.resolve(queue.shift()!)
        : new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('no event within timeout')), timeoutMs)
            waiting.push((e) => {
              clearTimeout(timer)
              resolve(e)
            })
          }),
  }
}

async function nextEvent(stream: OpenStream): Promise<ServerSentEvent> {
  const event = await stream.next()
  assert.notEqual(event, 'end', 'the stream ended early')
  return event as ServerSentEvent
}

async function get(url: string, path: string): Promise<unknown> {
  return (await request(new URL(path, url))).body.json()
}

async function control(uri: string, body: unknown, contentType: string = MT.updateStreamParams) {
  const response = await request(uri, { method: 'POST', headers: { 'content-type': contentType }, body: JSON.stringify(body) })
  const text = await response.body.text()
  return { status: response.statusCode, json: text ? JSON.parse(text) : undefined }
}

/** Open a stream on the network map and its cost map and read past the first three events. */
async function openMaps(url: string) {
  const stream = await open(url, { add: { nm: { 'resource-id': NM }, cm: { 'resource-id': CM } } })
  const first = await nextEvent(stream)
  const controlUri = (JSON.parse(first.data) as { 'control-uri': string })['control-uri']
  const nm = JSON.parse((await nextEvent(stream)).data) as unknown
  const cm = JSON.parse((await nextEvent(stream)).data) as unknown
  return { stream, controlUri, nm, cm }
}

test('the IRD lists the update stream service with the resources it carries and their change types', async () => {
  const server = rfcServer()
  const ird = (await server.app.inject({ url: '/', headers: { host: 'alto.example.net' } })).json()
  await server.close()
  const entry = ird.resources['update-stream']
  assert.equal(entry.uri, 'http://alto.example.net/updates/stream')
  assert.equal(entry['media-type'], 'text/event-stream')
  assert.equal(entry.accepts, 'application/alto-updatestreamparams+json')
  assert.equal(entry.capabilities['support-stream-control'], true)
  assert.deepEqual(entry.capabilities['incremental-change-media-types'], {
    [NM]: 'application/json-patch+json',
    [`${NM}-filtered`]: 'application/json-patch+json',
    [CM]: 'application/merge-patch+json',
    'costmap-ord-routingcost': 'application/merge-patch+json',
    'filtered-costmap': 'application/merge-patch+json',
    'endpoint-property': 'application/merge-patch+json',
  })
  assert.deepEqual([...entry.uses].sort(), Object.keys(entry.capabilities['incremental-change-media-types']).sort())
  for (const id of entry.uses) assert.ok(ird.resources[id], `${id} is in the IRD`)
  // The control service is announced per stream, not listed.
  assert.ok(!Object.values<any>(ird.resources).some((r) => r['media-type'] === CONTROL))
})

test('a stream starts with its control URI, then each full resource as a fresh GET has it', async (t) => {
  const { url } = await started(t)
  const stream = await open(url, { add: { nm: { 'resource-id': NM }, cm: { 'resource-id': CM } } })
  t.after(() => stream.close())
  assert.equal(stream.status, 200)
  assert.equal(stream.headers['content-type'], 'text/event-stream')
  assert.equal(stream.headers['cache-control'], 'no-store')
  const first = await nextEvent(stream)
  assert.equal(first.type, CONTROL)
  const controlUri = JSON.parse(first.data)['control-uri'] as string
  assert.match(controlUri, new RegExp(`^${url}updates/control/[A-Za-z0-9_-]{20,}$`))
  const nm = await nextEvent(stream)
  assert.equal(nm.type, `${MT.networkMap},nm`)
  assert.deepEqual(JSON.parse(nm.data), await get(url, `/networkmap/${NM}`))
  const cm = await nextEvent(stream)
  assert.equal(cm.type, `${MT.costMap},cm`)
  assert.deepEqual(JSON.parse(cm.data), await get(url, `/costmap/${CM}`))
})

test('a network map change sends a JSON patch, then the dependent cost map its merge patch; both rebuild a fresh GET', async (t) => {
  const { server, url } = await started(t)
  const { stream, nm, cm } = await openMaps(url)
  t.after(() => stream.close())
  server.setSnapshot(buildSnapshot(changedSpec({ cost: 6 })))

  const nmPatch = await nextEvent(stream)
  assert.equal(nmPatch.type, `${MT.jsonPatch},nm`)
  const patchedNm = applyJsonPatch(nm, JSON.parse(nmPatch.data)) as { meta: { vtag: { tag: string } } }
  assert.equal(patchedNm.meta.vtag.tag, 'v2')
  assert.deepEqual(patchedNm, await get(url, `/networkmap/${NM}`))
  // Single prefixes change, not the whole map.
  assert.ok(nmPatch.data.length < JSON.stringify(patchedNm).length)

  const cmPatch = await nextEvent(stream)
  assert.equal(cmPatch.type, `${MT.mergePatch},cm`)
  assert.deepEqual(JSON.parse(cmPatch.data), { meta: { 'dependent-vtags': [{ 'resource-id': NM, tag: 'v2' }] }, 'cost-map': { PID1: { PID2: 6 } } })
  const patchedCm = applyMergePatch(cm, JSON.parse(cmPatch.data))
  assert.deepEqual(patchedCm, await get(url, `/costmap/${CM}`))
})

test('a snapshot that changes nothing a subscriber holds sends nothing; a cost-only change sends only the cost map', async (t) => {
  const { server, url } = await started(t)
  const { stream, cm } = await openMaps(url)
  t.after(() => stream.close())
  server.setSnapshot(rfcSnapshot())
  const sameVtag = rfcSpec()
  sameVtag.costMaps[0]!.costs = { ...sameVtag.costMaps[0]!.costs, PID3: { PID1: 21, PID2: 15 } }
  server.setSnapshot(buildSnapshot(sameVtag))
  const event = await nextEvent(stream)
  assert.equal(event.type, `${MT.mergePatch},cm`)
  assert.deepEqual(JSON.parse(event.data), { 'cost-map': { PID3: { PID1: 21 } } })
  assert.deepEqual(applyMergePatch(cm, JSON.parse(event.data)), await get(url, `/costmap/${CM}`))
})

test('incremental-changes false gets the full resource on every change', async (t) => {
  const { server, url } = await started(t)
  const stream = await open(url, { add: { nm: { 'resource-id': NM, 'incremental-changes': false } } })
  t.after(() => stream.close())
  await nextEvent(stream)
  await nextEvent(stream)
  server.setSnapshot(buildSnapshot(changedSpec()))
  const event = await nextEvent(stream)
  assert.equal(event.type, `${MT.networkMap},nm`)
  assert.deepEqual(JSON.parse(event.data), await get(url, `/networkmap/${NM}`))
})

test('a client resuming with a tag gets an empty change, the patch from the version before, or the full map', async (t) => {
  const { server, url } = await started(t)
  const { stream } = await openMaps(url)
  t.after(() => stream.close())
  const oldTag = rfcSnapshot().defaultNetworkMap.vtag
  server.setSnapshot(buildSnapshot(changedSpec()))
  const livePatch = await nextEvent(stream)

  const current = await open(url, { add: { nm: { 'resource-id': NM, tag: 'v2' } } })
  t.after(() => current.close())
  await nextEvent(current)
  const empty = await nextEvent(current)
  assert.equal(empty.type, `${MT.jsonPatch},nm`)
  assert.deepEqual(JSON.parse(empty.data), [])

  const previous = await open(url, { add: { nm: { 'resource-id': NM, tag: oldTag } } })
  t.after(() => previous.close())
  await nextEvent(previous)
  const patch = await nextEvent(previous)
  assert.equal(patch.type, `${MT.jsonPatch},nm`)
  assert.equal(patch.data, livePatch.data)

  const unknown = await open(url, { add: { nm: { 'resource-id': NM, tag: 'never-served' } } })
  t.after(() => unknown.close())
  await nextEvent(unknown)
  assert.equal((await nextEvent(unknown)).type, `${MT.networkMap},nm`)
})

test('filtered resources stream with their input; each change rebuilds what a fresh POST answers', async (t) => {
  const { server, url } = await started(t)
  const input = { 'cost-type': { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' }, pids: { srcs: ['PID1'], dsts: [] } }
  const stream = await open(url, { add: { f: { 'resource-id': 'filtered-costmap', input }, fn: { 'resource-id': `${NM}-filtered`, input: { pids: ['PID2'] } } } })
  t.after(() => stream.close())
  await nextEvent(stream)
  const full = JSON.parse((await nextEvent(stream)).data)
  const fullNm = JSON.parse((await nextEvent(stream)).data)
  const fresh = async (path: string, contentType: string, body: unknown) =>
    (await request(new URL(path, url), { method: 'POST', headers: { 'content-type': contentType }, body: JSON.stringify(body) })).body.json()
  assert.deepEqual(full, await fresh('/costmap/filtered-costmap', MT.costMapFilter, input))
  assert.deepEqual(fullNm['network-map'], { PID2: { ipv4: ['198.51.100.128/25'] } })
  server.setSnapshot(buildSnapshot(changedSpec({ cost: 7 })))
  // This filtered map is so small that its patch would be longer than itself: the full map comes.
  const fnChange = await nextEvent(stream)
  assert.equal(fnChange.type, `${MT.networkMap},fn`)
  assert.deepEqual(JSON.parse(fnChange.data), await fresh(`/networkmap/${NM}-filtered`, MT.networkMapFilter, { pids: ['PID2'] }))
  const patch = await nextEvent(stream)
  assert.equal(patch.type, `${MT.mergePatch},f`)
  assert.deepEqual(applyMergePatch(full, JSON.parse(patch.data)), await fresh('/costmap/filtered-costmap', MT.costMapFilter, input))
})

test('stream control: add starts a substream with its full resource, remove stops one, removing the last ends the stream', async (t) => {
  const { server, url } = await started(t)
  const stream = await open(url, { add: { nm: { 'resource-id': NM } } })
  t.after(() => stream.close())
  const controlUri = JSON.parse((await nextEvent(stream)).data)['control-uri'] as string
  await nextEvent(stream)

  assert.deepEqual(await control(controlUri, { add: { ord: { 'resource-id': 'costmap-ord-routingcost' } } }), { status: 204, json: undefined })
  const started_ = await nextEvent(stream)
  assert.equal(started_.type, CONTROL)
  assert.deepEqual(JSON.parse(started_.data), { 'started-substreams': ['ord'] })
  const ord = await nextEvent(stream)
  assert.equal(ord.type, `${MT.costMap},ord`)
  assert.deepEqual(JSON.parse(ord.data), await get(url, '/costmap/costmap-ord-routingcost'))

  // The stream control type is accepted as well as the params type.
  assert.equal((await control(controlUri, { remove: ['nm'] }, CONTROL)).status, 204)
  const stopped = await nextEvent(stream)
  assert.equal(stopped.type, CONTROL)
  assert.deepEqual(JSON.parse(stopped.data), { 'stopped-substreams': ['nm'] })
  // A removed substream gets nothing more; the one left does.
  server.setSnapshot(buildSnapshot(changedSpec({ cost: 30 })))
  const next = await nextEvent(stream)
  assert.equal(next.type, `${MT.mergePatch},ord`)
  assert.equal(server.updateStreams!.stats.substreams, 1)

  const bad = await control(controlUri, { remove: ['nm'] })
  assert.equal(bad.status, 400)
  assert.deepEqual(bad.json, { meta: { code: 'E_INVALID_FIELD_VALUE', field: 'remove', value: 'nm' } })
  const taken = await control(controlUri, { add: { ord: { 'resource-id': NM } } })
  assert.deepEqual(taken.json, { meta: { code: 'E_INVALID_FIELD_VALUE', field: 'add', value: 'ord' } })

  assert.equal((await control(controlUri, { remove: ['ord'] })).status, 204)
  assert.deepEqual(JSON.parse((await nextEvent(stream)).data), { 'stopped-substreams': ['ord'] })
  assert.equal(await stream.next(), 'end')
  assert.equal((await control(controlUri, { remove: ['ord'] })).status, 404)
  assert.deepEqual(server.updateStreams!.stats.streams, 0)
  assert.deepEqual(server.updateStreams!.stats.subjects, 0)
})

test('bad update stream requests get RFC 7285 errors before any stream opens', async (t) => {
  const { url } = await started(t)
  const cases: Array<[unknown, number, Record<string, string>]> = [
    [{ add: { x: { 'resource-id': 'no-such-map' } } }, 400, { code: 'E_INVALID_FIELD_VALUE', field: 'add/x/resource-id', value: 'no-such-map' }],
    [{ add: { x: { 'resource-id': 'endpoint-cost' } } }, 400, { code: 'E_INVALID_FIELD_VALUE', field: 'add/x/resource-id', value: 'endpoint-cost' }],
    [{ add: {} }, 400, { code: 'E_MISSING_FIELD', field: 'add' }],
    [{}, 400, { code: 'E_MISSING_FIELD', field: 'add' }],
    [{ add: { x: {} } }, 400, { code: 'E_MISSING_FIELD', field: 'add/x/resource-id' }],
    [{ add: { x: { 'resource-id': NM, 'incremental-changes': 'yes' } } }, 400, { code: 'E_INVALID_FIELD_TYPE', field: 'add/x/incremental-changes', value: 'yes' }],
    [{ add: { 'bad id': { 'resource-id': NM } } }, 400, { code: 'E_INVALID_FIELD_VALUE', field: 'add', value: 'bad id' }],
    [{ add: { x: { 'resource-id': NM, input: { pids: [] } } } }, 400, { code: 'E_INVALID_FIELD_VALUE', field: 'add/x/input', value: '{"pids":[]}' }],
    [{ add: { x: { 'resource-id': `${NM}-filtered`, input: { pids: ['bad.pid'] } } } }, 400, { code: 'E_INVALID_FIELD_VALUE', field: 'add/x/input/pids', value: 'bad.pid' }],
    [{ add: { x: { 'resource-id': `${NM}-filtered` } } }, 400, { code: 'E_MISSING_FIELD', field: 'add/x/input/pids' }],
  ]
  for (const [body, status, meta] of cases) {
    const stream = await open(url, body)
    assert.equal(stream.status, status, JSON.stringify(body))
    assert.equal(stream.headers['content-type'], MT.error)
    assert.deepEqual((stream.json as { meta: unknown }).meta, meta, JSON.stringify(body))
  }
  const syntax = await open(url, '{"add":')
  assert.equal((syntax.json as { meta: { code: string } }).meta.code, 'E_SYNTAX')
  assert.equal((await open(url, { add: { nm: { 'resource-id': NM } } }, MT.networkMapFilter)).status, 415)
  assert.equal((await request(new URL('updates/stream', url))).statusCode, 405)
})

test('patches are computed once per version change, however many subscribers', async (t) => {
  const { server, url } = await started(t)
  const streams = await Promise.all(Array.from({ length: 20 }, () => openMaps(url)))
  t.after(() => streams.forEach((s) => s.stream.close()))
  const stats = server.updateStreams!.stats
  assert.equal(stats.streams, 20)
  assert.equal(stats.subjects, 2)
  server.setSnapshot(buildSnapshot(changedSpec({ cost: 6 })))
  for (const { stream } of streams) {
    assert.equal((await nextEvent(stream)).type, `${MT.jsonPatch},nm`)
    assert.equal((await nextEvent(stream)).type, `${MT.mergePatch},cm`)
  }
  const after = server.updateStreams!.stats
  assert.equal(after.patchesComputed - stats.patchesComputed, 2)
  assert.equal(after.patchesSent - stats.patchesSent, 40)
})

test('a resource gone from the new snapshot stops its substreams with a reason', async (t) => {
  const { server, url } = await started(t)
  const stream = await open(url, { add: { nm: { 'resource-id': NM }, ord: { 'resource-id': 'costmap-ord-routingcost' } } })
  t.after(() => stream.close())
  for (let i = 0; i < 3; i++) await nextEvent(stream)
  const spec = rfcSpec()
  spec.costMaps[0]!.ordinal = false
  server.setSnapshot(buildSnapshot(spec))
  const stopped = await nextEvent(stream)
  assert.equal(stopped.type, CONTROL)
  const data = JSON.parse(stopped.data)
  assert.deepEqual(data['stopped-substreams'], ['ord'])
  assert.match(data.description, /no longer served/)
  assert.equal(server.updateStreams!.stats.substreams, 1)
})

test('streams are bounded: one over maxStreams gets 503 with Retry-After', async (t) => {
  const { url } = await started(t, { updateStreams: { maxStreams: 1, retryAfterS: 7 } })
  const first = await open(url, { add: { nm: { 'resource-id': NM } } })
  t.after(() => first.close())
  await nextEvent(first)
  const second = await open(url, { add: { nm: { 'resource-id': NM } } })
  assert.equal(second.status, 503)
  assert.equal(second.headers['retry-after'], '7')
})

test('idle streams get keep-alive comments; a client that goes away is forgotten', async (t) => {
  const { server, url } = await started(t, { updateStreams: { heartbeatMs: 40 } })
  const stream = await open(url, { add: { nm: { 'resource-id': NM } } })
  await nextEvent(stream)
  await nextEvent(stream)
  await new Promise((resolve) => setTimeout(resolve, 150))
  assert.match(stream.raw(), /\n:\n\n/)
  stream.close()
  for (let i = 0; i < 50 && server.updateStreams!.stats.streams > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  assert.equal(server.updateStreams!.stats.streams, 0)
  assert.equal(server.updateStreams!.stats.subjects, 0)
})

test('closing the server ends its streams cleanly', async () => {
  const server = createAltoServer(rfcSnapshot(), { logger: pino({ level: 'silent' }), port: 0 })
  const url = await server.listen()
  const stream = await open(url, { add: { nm: { 'resource-id': NM } } })
  await nextEvent(stream)
  await nextEvent(stream)
  const started = Date.now()
  await server.close()
  assert.ok(Date.now() - started < 2000, 'close does not wait for the stream')
  const last = await nextEvent(stream)
  assert.equal(last.type, CONTROL)
  assert.match(JSON.parse(last.data).description, /shutting down/)
  assert.equal(await stream.next(), 'end')
})

test('update streams can be turned off', async (t) => {
  const { url } = await started(t, { updateStreams: { enabled: false } })
  const ird = (await get(url, '/')) as { resources: Record<string, unknown> }
  assert.equal(ird.resources['update-stream'], undefined)
  assert.equal((await open(url, { add: { nm: { 'resource-id': NM } } })).status, 404)
})
