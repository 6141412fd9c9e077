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
