/**
 * The BGP speaker against a real router: BIRD 2 on loopback (test/helpers/bird.ts), 4-byte ASes on
 * both sides, IPv4 and IPv6 unicast channels, static routes with communities. These tests fail, not
 * skip, when BIRD is missing: CI installs bird2.
 */
import assert from 'node:assert/strict'
import { describe, test, type TestContext } from 'node:test'
import { pino } from 'pino'
import { BgpError } from '../../src/provisioning/bgp/errors.ts'
import { BgpSpeaker, type BgpSpeakerOptions } from '../../src/provisioning/bgp/speaker.ts'
import type { Route } from '../../src/provisioning/route.ts'
import { startBird, type BirdOptions, type BirdRouter, type BirdRoute } from '../helpers/bird.ts'

const LOCAL_AS = 4200000001
const BIRD_AS = 4200000002

async function startSpeaker(t: TestContext, options: Partial<BgpSpeakerOptions> = {}): Promise<{ speaker: BgpSpeaker; port: number; warnings: Error[]; changes: Route[][] }> {
  const speaker = new BgpSpeaker({
    listen: { host: '127.0.0.1', port: 0 },
    localAs: LOCAL_AS,
    routerId: '127.0.0.1',
    neighbors: [{ address: '127.0.0.2', peerAs: BIRD_AS }],
    debounceMs: 300,
    logger: pino({ level: 'silent' }),
    ...options,
  })
  const warnings: Error[] = []
  const changes: Route[][] = []
  speaker.on('warning', (error) => warnings.push(error))
  speaker.on('change', (routes) => changes.push(routes))
  const { port } = await speaker.listen()
  t.after(() => speaker.close())
  return { speaker, port, warnings, changes }
}

async function bird(t: TestContext, options: Omit<BirdOptions, 'neighbor' | 'localAs'> & { port: number; localAs?: number; peerAs?: number }): Promise<BirdRouter> {
  const router = await startBird({ localAs: BIRD_AS, neighbor: { address: '127.0.0.1', port: options.port, as: options.peerAs ?? LOCAL_AS }, ...options })
  t.after(() => router.stop())
  return router
}

async function until(condition: () => boolean, what: string, log?: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${log ? `\n${log()}` : ''}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const summary = (routes: readonly Route[]): string[] =>
  routes
    .map((r) => `${r.prefix} via ${r.nextHop} path ${r.asPath.join(' ')} [${[...r.communities, ...r.largeCommunities].join(' ')}]`)
    .sort()

const ROUTES: BirdRoute[] = [
  { prefix: '10.1.0.0/16', communities: [[65000, 101]], largeCommunities: [[4200000002, 1, 14]] },
  { prefix: '10.2.0.0/16', communities: [[65000, 102]], prepend: [64501, 64502] },
  { prefix: '2001:db8:1::/48', communities: [[65000, 201]] },
  { prefix: '2001:db8:2::/48' },
]

// Each test has its own speaker and BIRD processes (own ports), so they run side by side.
describe('BGP sessions with BIRD 2', { concurrency: true }, () => {
  test('BIRD peers over IPv4 and IPv6 unicast with 4-byte ASes; routes, withdrawals and community changes arrive, debounced', async (t) => {
    const { speaker, port, warnings, changes } = await startSpeaker(t)
    // Hold time 3 s: KEEPALIVEs every second keep the session up through the whole test.
    const router = await bird(t, { port, routes: ROUTES, holdTimeS: 3 })
    await router.waitForState('Established')
    await until(() => changes.length > 0, 'the first change', router.log)
    const expected = [
      '10.1.0.0/16 via 127.0.0.2 path 4200000002 [65000:101 4200000002:1:14]',
      '10.2.0.0/16 via 127.0.0.2 path 4200000002 64501 64502 [65000:102]',
      '2001:db8:1::/48 via 2001:db8::2 path 4200000002 [65000:201]',
      '2001:db8:2::/48 via 2001:db8::2 path 4200000002 []',
    ]
    await until(() => speaker.routes().length === 4, 'four routes', router.log)
    assert.deepEqual(summary(speaker.routes()), expected)
    const byPrefix = new Map(speaker.routes().map((r) => [r.prefix, r]))
    assert.equal(byPrefix.get('10.2.0.0/16')!.originAs, 64502)
    assert.deepEqual([byPrefix.get('2001:db8:1::/48')!.family, byPrefix.get('2001:db8:1::/48')!.peer, byPrefix.get('10.1.0.0/16')!.origin], ['ipv6', '127.0.0.2', 0])
    const [status] = speaker.sessions()
    assert.deepEqual([status!.state, status!.peerId, status!.families, [...status!.endOfRib].sort(), status!.routes], ['Established', '127.0.0.2', ['ipv4', 'ipv6'], ['ipv4', 'ipv6'], 4])

    // Three changes in a row: a withdrawal, a community change, a new route. One event for all.
    const before = changes.length
    await router.setRoutes(ROUTES.filter((r) => r.prefix !== '10.2.0.0/16'))
    await router.setRoutes([{ ...ROUTES[0]!, communities: [[65000, 111]] }, ...ROUTES.slice(2)])
    await router.setRoutes([{ ...ROUTES[0]!, communities: [[65000, 111]] }, ...ROUTES.slice(2), { prefix: '10.3.0.0/24', communities: [[65000, 103]] }])
    const final = [
      '10.1.0.0/16 via 127.0.0.2 path 4200000002 [65000:111 4200000002:1:14]',
      '10.3.0.0/24 via 127.0.0.2 path 4200000002 [65000:103]',
      '2001:db8:1::/48 via 2001:db8::2 path 4200000002 [65000:201]',
      '2001:db8:2::/48 via 2001:db8::2 path 4200000002 []',
    ]
    await until(() => changes.length > before, 'a change event', router.log)
    await new Promise((resolve) => setTimeout(resolve, 600))
    assert.equal(changes.length, before + 1, 'one debounced event for the three changes')
    assert.deepEqual(summary(changes.at(-1)!), final)
    assert.deepEqual(summary(speaker.routes()), final)

    // An IPv6 withdrawal.
    await router.setRoutes([{ ...ROUTES[0]!, communities: [[65000, 111]] }, ROUTES[2]!])
    await until(() => speaker.routes().length === 2, 'the withdrawals', router.log)
    assert.deepEqual(summary(speaker.routes()), [final[0], final[2]])

    // Our KEEPALIVEs and BIRD's keep the session up past its hold time.
    await until(() => speaker.sessions()[0]!.uptimeS >= 4, 'four seconds of session')
    assert.match(await router.bgpState(), /^Established/)
    assert.deepEqual(warnings, [])
  })

  test("BIRD shutting down (Cease) or dying (no NOTIFICATION) removes its routes and only its routes", async (t) => {
    const { speaker, port, changes } = await startSpeaker(t, {
      neighbors: [
        { address: '127.0.0.2', peerAs: BIRD_AS },
        { address: '127.0.0.3', peerAs: 4200000003 },
      ],
    })
    const first = await bird(t, { port, routes: [ROUTES[0]!, ROUTES[2]!] })
    const second = await bird(t, { port, localAddress: '127.0.0.3', localAs: 4200000003, routes: [{ prefix: '10.1.0.0/16', communities: [[65000, 301]] }] })
    await until(() => speaker.routes().length === 3, 'routes from both routers', () => first.log() + second.log())
    assert.deepEqual(speaker.routes().map((r) => `${r.peer} ${r.prefix}`).sort(), ['127.0.0.2 10.1.0.0/16', '127.0.0.2 2001:db8:1::/48', '127.0.0.3 10.1.0.0/16'])

    const sessions: string[] = []
    speaker.on('session', (e) => sessions.push(`${e.peer} ${e.previous}->${e.state}${e.error?.received ? ` got ${e.error.errorCode}/${e.error.subcode}` : ''}`))
    await first.stop()
    await until(() => speaker.routes().length === 1, "the first router's routes to leave")
    assert.deepEqual(sessions, ['127.0.0.2 Established->Active got 6/2'])
    assert.deepEqual(summary(speaker.routes()), ['10.1.0.0/16 via 127.0.0.3 path 4200000003 [65000:301]'])
    await until(() => summary(changes.at(-1) ?? []).length === 1, 'the change event')

    await second.kill()
    await until(() => speaker.routes().length === 0, "the second router's routes to leave")
    assert.deepEqual(sessions.slice(1), ['127.0.0.3 Established->Active'])
    await until(() => changes.at(-1)!.length === 0, 'an empty change event')
  })

  test('BIRD from an address that is not a neighbor is refused; a wrong AS gets Bad Peer AS', async (t) => {
    const { speaker, port, warnings } = await startSpeaker(t)
    const stranger = await bird(t, { port, localAddress: '127.0.0.9', routes: [ROUTES[0]!] })
    const impostor = await bird(t, { port, localAs: 4200000099, routes: [ROUTES[0]!] })
    await until(() => warnings.some((w) => w instanceof BgpError && w.subcode === 5) && warnings.some((w) => w instanceof BgpError && w.errorCode === 2), 'both refusals')
    // BIRD decodes our NOTIFICATIONs.
    await until(() => /Connection rejected/i.test(stranger.log()), "BIRD's log of the rejection", stranger.log)
    await until(() => /Bad peer AS/i.test(impostor.log()), "BIRD's log of Bad Peer AS", impostor.log)
    assert.equal(speaker.routes().length, 0)
    assert.notEqual(speaker.sessions()[0]!.state, 'Established')
  })

  test('a non-passive neighbor: we connect to a passive BIRD', async (t) => {
    const router = await startBird({ localAs: BIRD_AS, localAddress: '127.0.0.4', passive: true, neighbor: { address: '127.0.0.1', port: 179, as: LOCAL_AS }, routes: [ROUTES[0]!] })
    t.after(() => router.stop())
    const { speaker } = await startSpeaker(t, {
      neighbors: [{ address: '127.0.0.4', peerAs: BIRD_AS, passive: false, port: router.port, localAddress: '127.0.0.1' }],
      connectRetryS: 1,
    })
    await until(() => speaker.routes().length === 1, 'the route over our connection', router.log)
    assert.deepEqual(summary(speaker.routes()), ['10.1.0.0/16 via 127.0.0.4 path 4200000002 [65000:101 4200000002:1:14]'])
    assert.match(await router.bgpState(), /^Established/)
  })
})
