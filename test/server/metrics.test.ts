/**
 * Prometheus metrics on the separate admin listener.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rfcServer } from '../helpers/rfc-server.ts'

test('metrics count requests by resource kind and status on the admin listener only', async (t) => {
  const server = rfcServer({ port: 0, admin: { host: '127.0.0.1', port: 0 } })
  t.after(() => server.close())
  const url = await server.listen()
  assert.match(server.adminUrl!, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
  await fetch(url)
  await fetch(`${url}networkmap/my-default-network-map`)
  await fetch(`${url}nowhere`)
  const text = await (await fetch(server.adminUrl!)).text()
  assert.match(text, /alto_requests_total\{kind="directory",status="200"\} 1/)
  assert.match(text, /alto_requests_total\{kind="network-map",status="200"\} 1/)
  assert.match(text, /alto_requests_total\{kind="none",status="404"\} 1/)
  assert.match(text, /alto_network_map_pids\{network_map="my-default-network-map"\} 3/)
  assert.match(text, /alto_event_loop_delay_seconds \d/)
  assert.equal((await fetch(`${url}metrics`)).status, 404, 'not on the ALTO listener')
})

test('KindHistogram writes what prom-client\'s Histogram writes for the same observations, and sums over a cluster alike', async () => {
  const { Histogram, Registry, AggregatorRegistry } = await import('prom-client')
  const { KindHistogram } = await import('../../src/server/metrics.ts')
  const bounds = [0.001, 0.01, 0.1, 1]
  const ours = new Registry()
  const theirs = new Registry()
  const mine = new KindHistogram('h_seconds', 'help text', bounds, ours)
  const reference = new Histogram({ name: 'h_seconds', help: 'help text', labelNames: ['kind'], buckets: bounds, registers: [theirs] })
  const values = [0, 0.0005, 0.001, 0.0011, 0.05, 0.1, 0.99, 1, 1.5, 30]
  for (const [i, v] of values.entries()) {
    const kind = i % 3 === 0 ? 'endpoint-cost' : 'network-map'
    mine.observe(kind, v)
    reference.labels(kind).observe(v)
  }
  assert.equal(await ours.metrics(), await theirs.metrics())
  const sum = async (registry: typeof ours) => AggregatorRegistry.aggregate([await registry.getMetricsAsJSON(), await registry.getMetricsAsJSON()]).metrics()
  assert.equal(await sum(ours), await sum(theirs), 'two workers of each, added up')
  mine.reset()
  reference.reset()
  assert.equal(await ours.metrics(), await theirs.metrics())
})

test('request counts are handed to the counter when it is read, and never counted twice', async () => {
  const { ServerMetrics } = await import('../../src/server/metrics.ts')
  const metrics = new ServerMetrics()
  const count = async () => Number(/alto_requests_total\{kind="endpoint-cost",status="200"\} (\d+)/.exec(await metrics.registry.metrics())?.[1] ?? 0)
  for (let i = 0; i < 5; i++) metrics.recordRequest('endpoint-cost', 200, 0.001)
  assert.equal(await count(), 5)
  assert.equal(await count(), 5, 'read again: the same')
  metrics.recordRequest('endpoint-cost', 200, 0.001)
  metrics.recordCache(true)
  metrics.recordCache(false)
  metrics.recordCache(false)
  assert.equal(await count(), 6)
  const text = await metrics.registry.metrics()
  assert.match(text, /alto_answer_cache_total\{result="hit"\} 1\n/)
  assert.match(text, /alto_answer_cache_total\{result="miss"\} 2\n/)
  assert.match(text, /alto_request_duration_seconds_count\{kind="endpoint-cost"\} 6\n/)
})
