/**
 * `alto serve` fed live by a real BIRD 2: announced routes with area communities appear in the
 * network map (with a new vtag), a withdrawn route leaves it, a community change moves a prefix to
 * another PID, and when the router goes away the configured map serves again.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AltoClient } from '../../src/client/client.ts'
import { freePort, startBird } from '../helpers/bird.ts'
import { startAlto } from '../helpers/cli.ts'

test('a BIRD session feeds the served network map', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'altokit-live-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const bgpPort = await freePort()
  writeFileSync(join(dir, 'rules.yaml'), [
    'network-map: isp',
    'default-pid: default',
    'catch-all: true',
    'rules:',
    '  - { pid: region-north, community: "65000:101" }',
    '  - { pid: region-south, community: "65000:102" }',
    '',
  ].join('\n'))
  writeFileSync(join(dir, 'alto.yaml'), [
    'network-maps:',
    '  - id: isp',
    '    pids:',
    '      default: { ipv4: [0.0.0.0/0], ipv6: ["::/0"] }',
    'cost-maps:',
    '  - network-map: isp',
    '    cost-metric: routingcost',
    '    intra-pid: 1',
    '    default: 10',
    '    costs: {}',
    'bgp:',
    `  listen: { host: 127.0.0.1, port: ${bgpPort} }`,
    '  local-as: 65000',
    '  router-id: 192.0.2.1',
    '  neighbors: [{ address: 127.0.0.2, peer-as: 4200000002 }]',
    '  debounce-ms: 200',
    '  network-map: isp',
    '  rules: rules.yaml',
    '',
  ].join('\n'))
  const alto = await startAlto(['serve', '--config', join(dir, 'alto.yaml'), '--port', '0'])
  t.after(() => alto.child.kill('SIGTERM'))
  const map = async () => (await (await fetch(`${alto.url}networkmap/isp`)).json()) as { meta: { vtag: { tag: string } }; 'network-map': Record<string, { ipv4?: string[]; ipv6?: string[] }> }
  const until = async (what: string, predicate: (m: Awaited<ReturnType<typeof map>>) => boolean) => {
    for (let i = 0; i < 200; i++) {
      const current = await map()
      if (predicate(current)) return current
      await new Promise((r) => setTimeout(r, 100))
    }
    assert.fail(`timed out waiting for ${what}: ${JSON.stringify(await map())}\n${alto.stderr().slice(-2000)}`)
  }
  const before = await map()
  assert.deepEqual(Object.keys(before['network-map']), ['default'])
  // An RFC 8895 subscriber follows every change by patches.
  const client = new AltoClient(alto.url)
  const subscription = await client.subscribe('isp', { mode: 'stream' })
  t.after(async () => (subscription.close(), await client.close()))
  assert.equal(subscription.mode, 'stream')
  const subscriberSees = async (served: unknown) => {
    for (let i = 0; i < 100 && JSON.stringify(subscription.current('isp')) !== JSON.stringify(served); i++) await new Promise((r) => setTimeout(r, 50))
    assert.deepEqual(subscription.current('isp'), served, 'the patched map equals a fresh GET')
  }

  const bird = await startBird({
    localAs: 4200000002,
    neighbor: { address: '127.0.0.1', port: bgpPort, as: 65000 },
    routes: [
      { prefix: '10.1.0.0/16', communities: [[65000, 101]] },
      { prefix: '2001:db8:1::/48', communities: [[65000, 101]] },
      { prefix: '10.2.0.0/16', communities: [[65000, 102]] },
    ],
  })
  t.after(() => bird.stop())
  const announced = await until('the announced routes', (m) => m['network-map']['region-south']?.ipv4?.[0] === '10.2.0.0/16')
  assert.deepEqual(announced['network-map']['region-north'], { ipv4: ['10.1.0.0/16'], ipv6: ['2001:db8:1::/48'] })
  assert.notEqual(announced.meta.vtag.tag, before.meta.vtag.tag)
  await subscriberSees(announced)
  // Endpoint costs follow: 10.1.x -> 10.2.x is a default-cost pair now, not intra-PID.
  const ecs = await fetch(`${alto.url}endpointcost/endpoint-cost`, {
    method: 'POST',
    headers: { 'content-type': 'application/alto-endpointcostparams+json' },
    body: JSON.stringify({ 'cost-type': { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' }, endpoints: { srcs: ['ipv4:10.1.0.1'], dsts: ['ipv4:10.1.9.9', 'ipv4:10.2.0.1'] } }),
  })
  assert.deepEqual((await ecs.json())['endpoint-cost-map'], { 'ipv4:10.1.0.1': { 'ipv4:10.1.9.9': 1, 'ipv4:10.2.0.1': 10 } })

  // Withdraw 10.2.0.0/16; move 10.1.0.0/16 to the south by its community.
  await bird.setRoutes([
    { prefix: '10.1.0.0/16', communities: [[65000, 102]] },
    { prefix: '2001:db8:1::/48', communities: [[65000, 101]] },
  ])
  const changed = await until('the withdrawal and the community change', (m) => m['network-map']['region-south']?.ipv4?.[0] === '10.1.0.0/16')
  assert.deepEqual(changed['network-map']['region-north'], { ipv6: ['2001:db8:1::/48'] })
  assert.ok(!JSON.stringify(changed).includes('10.2.0.0/16'))
  assert.notEqual(changed.meta.vtag.tag, announced.meta.vtag.tag)
  await subscriberSees(changed)
  assert.ok(subscription.stats.patches >= 1, `patches applied: ${JSON.stringify(subscription.stats)}`)

  // The router goes away: its routes leave, the configured map serves again.
  await bird.kill()
  const gone = await until('the routes to leave', (m) => m['network-map']['region-north'] === undefined)
  assert.deepEqual(gone['network-map'], before['network-map'])
  alto.child.kill('SIGTERM')
  assert.equal(await alto.exited, 0)
})
