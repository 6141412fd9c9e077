/**
 * The BGP speaker against a raw TCP client that plays the router with hand-built messages: the
 * session from OPEN to Established, UPDATEs (IPv4 NLRI, MP_REACH/MP_UNREACH IPv6, AS4_PATH),
 * End-of-RIB, timers on a manual clock, and every error path: each must end in the right
 * NOTIFICATION and a closed connection, never in a crash.
 */
import assert from 'node:assert/strict'
import { connect, createServer, type Socket } from 'node:net'
import { test, type TestContext } from 'node:test'
import { pino } from 'pino'
import { parseIPv6 } from '../../src/netmap/address.ts'
import { ManualClock } from '../../src/provisioning/bgp/clock.ts'
import { BgpError } from '../../src/provisioning/bgp/errors.ts'
import { decodeNotification, encodeKeepalive, encodeMessage, encodeOpen, MessageReader, type BgpMessage, type Capability } from '../../src/provisioning/bgp/message.ts'
import { AS_TRANS, parseId } from '../../src/provisioning/bgp/open.ts'
import { BgpSpeaker, type BgpSpeakerOptions } from '../../src/provisioning/bgp/speaker.ts'

const PEER_AS = 4200000002
const OLD_PEER_AS = 64503
const silent = pino({ level: 'silent' })

// ------------------------------------------------------------------ the fake router

class RawPeer {
  readonly socket: Socket
  readonly #reader = new MessageReader()
  readonly #queue: BgpMessage[] = []
  #wake: (() => void) | undefined
  #ended = false

  constructor(socket: Socket) {
    this.socket = socket
    socket.on('data', (chunk) => {
      for (const m of this.#reader.push(chunk)) this.#queue.push(m)
      this.#wake?.()
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      this.#ended = true
      this.#wake?.()
    })
  }

  static connect(port: number, localAddress = '127.0.0.2'): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, localAddress })
      socket.once('error', reject)
      socket.once('connect', () => resolve(new RawPeer(socket)))
    })
  }

  send(...messages: Buffer[]): void {
    this.socket.write(Buffer.concat(messages))
  }

  /** The next message, or an error when the connection closes or nothing comes within `timeoutMs`. */
  async next(timeoutMs = 3000): Promise<BgpMessage> {
    const deadline = Date.now() + timeoutMs
    while (this.#queue.length === 0) {
      if (this.#ended) throw new Error('connection closed')
      if (Date.now() > deadline) throw new Error(`no message within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        this.#wake = resolve
        setTimeout(resolve, 20)
      })
    }
    return this.#queue.shift()!
  }

  /** Skip KEEPALIVEs and OPENs up to a NOTIFICATION; then the connection must close. */
  async notification(): Promise<[number, number, number[]]> {
    for (;;) {
      const m = await this.next()
      if (m.type !== 3) continue
      const n = decodeNotification(m.body)
      await this.closed()
      return [n.code, n.subcode, [...n.data]]
    }
  }

  async closed(timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!this.#ended) {
      if (Date.now() > deadline) throw new Error('the speaker did not close the connection')
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  get ended(): boolean {
    return this.#ended
  }

  /** Messages received and not read yet. */
  drain(): BgpMessage[] {
    return this.#queue.splice(0)
  }

  destroy(): void {
    this.socket.destroy()
  }
}

// ------------------------------------------------------------------ messages, byte by byte

const u16 = (n: number): number[] => [n >>> 8, n & 0xff]
const u32 = (n: number): number[] => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]

function attr(flags: number, type: number, value: number[]): Buffer {
  if (value.length > 255) return Buffer.from([flags | 0x10, type, ...u16(value.length), ...value])
  return Buffer.from([flags, type, value.length, ...value])
}
const origin = (value = 0): Buffer => attr(0x40, 1, [value])
const asPath = (...asns: number[]): Buffer => attr(0x40, 2, [2, asns.length, ...asns.flatMap(u32)])
const asPath2 = (...asns: number[]): Buffer => attr(0x40, 2, [2, asns.length, ...asns.flatMap(u16)])
const as4Path = (...asns: number[]): Buffer => attr(0xc0, 17, [2, asns.length, ...asns.flatMap(u32)])
const nextHop = (ip: string): Buffer => attr(0x40, 3, ip.split('.').map(Number))
const communities = (...pairs: [number, number][]): Buffer => attr(0xc0, 8, pairs.flatMap(([a, b]) => [...u16(a), ...u16(b)]))
const largeCommunities = (...triples: [number, number, number][]): Buffer => attr(0xc0, 32, triples.flatMap((t) => t.flatMap(u32)))

function prefix4(text: string): number[] {
  const [address, length] = text.split('/')
  const bits = Number(length)
  return [bits, ...address!.split('.').map(Number).slice(0, Math.ceil(bits / 8))]
}
function prefix6(text: string): number[] {
  const [address, length] = text.split('/')
  const bits = Number(length)
  return [bits, ...parseIPv6(address!)!.slice(0, Math.ceil(bits / 8))]
}
const mpReach6 = (hop: string, ...prefixes: string[]): Buffer => attr(0x80, 14, [0, 2, 1, 16, ...parseIPv6(hop)!, 0, ...prefixes.flatMap(prefix6)])
const mpUnreach6 = (...prefixes: string[]): Buffer => attr(0x80, 15, [0, 2, 1, ...prefixes.flatMap(prefix6)])

function update(parts: { withdrawn?: number[]; attributes?: Buffer[]; nlri?: number[] }): Buffer {
  const withdrawn = parts.withdrawn ?? []
  const attributes = Buffer.concat(parts.attributes ?? [])
  return encodeMessage(2, Buffer.from([...u16(withdrawn.length), ...withdrawn, ...u16(attributes.length), ...attributes, ...(parts.nlri ?? [])]))
}

const mp = (afi: number, safi = 1): Capability => ({ code: 1, value: Uint8Array.of(0, afi, 0, safi) })
const as4Cap = (asn: number): Capability => ({ code: 65, value: Uint8Array.from(u32(asn)) })

function peerOpen(options: { as?: number; hold?: number; id?: string; capabilities?: Capability[]; version?: number } = {}): Buffer {
  const as = options.as ?? PEER_AS
  return encodeOpen({
    version: options.version ?? 4,
    myAs: as > 0xffff ? AS_TRANS : as,
    holdTime: options.hold ?? 90,
    bgpId: parseId(options.id ?? '10.0.0.2')!,
    capabilities: options.capabilities ?? [mp(1), mp(2), as4Cap(as)],
  })
}

// ------------------------------------------------------------------ the speaker under test

interface Harness {
  speaker: BgpSpeaker
  clock: ManualClock
  port: number
  warnings: Error[]
  peer(localAddress?: string): Promise<RawPeer>
  /** Connect, exchange OPENs and KEEPALIVEs, and wait for Established. */
  establish(open?: Buffer, localAddress?: string): Promise<RawPeer>
  state(peer?: string): string
}

async function start(t: TestContext, options: Partial<BgpSpeakerOptions> = {}): Promise<Harness> {
  const clock = new ManualClock()
  const speaker = new BgpSpeaker({
    listen: { host: '127.0.0.1', port: 0 },
    localAs: 65001,
    routerId: '192.0.2.1',
    neighbors: [
      { address: '127.0.0.2', peerAs: PEER_AS },
      { address: '127.0.0.3', peerAs: OLD_PEER_AS },
    ],
    clock,
    logger: silent,
    ...options,
  })
  const warnings: Error[] = []
  speaker.on('warning', (error) => warnings.push(error))
  const { port } = await speaker.listen()
  const peers: RawPeer[] = []
  t.after(async () => {
    for (const p of peers) p.destroy()
    await speaker.close()
  })
  const state = (peer = '127.0.0.2'): string => speaker.sessions().find((s) => s.peer === peer)!.state
  const harness: Harness = {
    speaker,
    clock,
    port,
    warnings,
    async peer(localAddress = '127.0.0.2') {
      const p = await RawPeer.connect(port, localAddress)
      peers.push(p)
      return p
    },
    async establish(open = peerOpen(), localAddress = '127.0.0.2') {
      const p = await harness.peer(localAddress)
      const ours = await p.next()
      assert.equal(ours.type, 1, 'the speaker sends its OPEN first')
      p.send(open, encodeKeepalive())
      assert.equal((await p.next()).type, 4, 'then a KEEPALIVE that confirms ours')
      await until(() => state(localAddress) === 'Established', `Established with ${localAddress}`)
      return p
    },
    state,
  }
  return harness
}

async function until(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const summary = (h: Harness): string[] =>
  h.speaker
    .routes()
    .map((r) => `${r.prefix} via ${r.nextHop} path ${r.asPath.join(' ')} origin ${r.originAs} [${[...r.communities, ...r.largeCommunities].join(' ')}]`)

/** The last warning must be the NOTIFICATION we sent with this code and subcode. */
function sentWarning(h: Harness, code: number, subcode: number): void {
  const error = h.warnings.at(-1)
  assert.ok(error instanceof BgpError, `expected a BgpError warning, got ${String(error)}`)
  assert.deepEqual([error.errorCode, error.subcode, error.received], [code, subcode, false])
}

// ------------------------------------------------------------------ tests

test('a router announces IPv4 and IPv6 routes with communities, changes and withdraws them', async (t) => {
  const h = await start(t)
  const changes: string[][] = []
  h.speaker.on('change', (routes) => changes.push(routes.map((r) => r.prefix)))
  const p = await h.establish()
  assert.equal(h.speaker.sessions()[0]!.peerId, '10.0.0.2')
  p.send(
    update({ attributes: [origin(), asPath(PEER_AS, 64510), nextHop('192.0.2.2'), communities([65000, 101]), largeCommunities([65000, 1, 2])], nlri: [...prefix4('10.1.0.0/16'), ...prefix4('10.2.128.0/17')] }),
    update({ attributes: [origin(), asPath(PEER_AS), mpReach6('2001:db8::2', '2001:db8:1::/48'), communities([65000, 201])] }),
  )
  await until(() => h.speaker.routes().length === 3, 'three routes')
  assert.deepEqual(summary(h), [
    '10.1.0.0/16 via 192.0.2.2 path 4200000002 64510 origin 64510 [65000:101 65000:1:2]',
    '10.2.128.0/17 via 192.0.2.2 path 4200000002 64510 origin 64510 [65000:101 65000:1:2]',
    '2001:db8:1::/48 via 2001:db8::2 path 4200000002 origin 4200000002 [65000:201]',
  ])
  const route = h.speaker.routes()[0]!
  assert.deepEqual([route.family, [...route.bytes], route.length, route.origin, route.peer], ['ipv4', [10, 1, 0, 0], 16, 0, '127.0.0.2'])

  // A new community replaces the route; a withdrawal of each family removes one.
  p.send(
    update({ attributes: [origin(), asPath(PEER_AS, 64510), nextHop('192.0.2.2'), communities([65000, 102])], nlri: prefix4('10.1.0.0/16') }),
    update({ withdrawn: prefix4('10.2.128.0/17') }),
    update({ attributes: [mpUnreach6('2001:db8:1::/48')] }),
  )
  await until(() => h.speaker.routes().length === 1, 'the withdrawals')
  assert.deepEqual(summary(h), ['10.1.0.0/16 via 192.0.2.2 path 4200000002 64510 origin 64510 [65000:102]'])
  assert.equal(changes.length, 0, 'nothing emitted before the debounce')
  h.clock.advance(500)
  assert.deepEqual(changes, [['10.1.0.0/16']])

  // End-of-RIB for both families (RFC 4724 §2), then the session reports them.
  p.send(update({}), update({ attributes: [attr(0x80, 15, [0, 2, 1])] }))
  await until(() => h.speaker.sessions()[0]!.endOfRib.length === 2, 'End-of-RIB')
  const status = h.speaker.sessions()[0]!
  assert.deepEqual([status.updates, status.routes, status.families], [7, 1, ['ipv4', 'ipv6']])
  assert.deepEqual(h.warnings, [])
})

test('a 2-byte AS router: AS_PATH with AS_TRANS is completed from AS4_PATH (RFC 6793 §4.2.3)', async (t) => {
  const h = await start(t)
  const p = await h.establish(peerOpen({ as: OLD_PEER_AS, capabilities: [mp(1)] }), '127.0.0.3')
  assert.deepEqual(h.speaker.sessions()[1]!.families, ['ipv4'])
  p.send(update({ attributes: [origin(2), asPath2(OLD_PEER_AS, AS_TRANS), nextHop('192.0.2.3'), as4Path(4200000009)], nlri: prefix4('198.51.100.0/24') }))
  await until(() => h.speaker.routes().length === 1, 'the route')
  assert.deepEqual(summary(h), ['198.51.100.0/24 via 192.0.2.3 path 64503 4200000009 origin 4200000009 []'])
  assert.equal(h.speaker.routes()[0]!.origin, 2)
})

test('routes of a family the session did not negotiate are ignored with a warning', async (t) => {
  const h = await start(t)
  const p = await h.establish(peerOpen({ capabilities: [mp(1), as4Cap(PEER_AS)] }))
  p.send(
    update({ attributes: [origin(), asPath(PEER_AS), mpReach6('2001:db8::2', '2001:db8:1::/48')] }),
    update({ attributes: [origin(), asPath(PEER_AS), nextHop('192.0.2.2')], nlri: prefix4('10.1.0.0/16') }),
  )
  await until(() => h.speaker.routes().length === 1, 'the IPv4 route')
  assert.deepEqual(summary(h), ['10.1.0.0/16 via 192.0.2.2 path 4200000002 origin 4200000002 []'])
  assert.match(h.warnings[0]!.message, /not negotiated/)
  assert.equal(h.state(), 'Established')
})

test('KEEPALIVEs every third of the negotiated hold time; silence past it is Hold Timer Expired', async (t) => {
  const h = await start(t, { holdTimeS: 9 })
  const p = await h.establish(peerOpen({ hold: 30 }))
  p.send(update({ attributes: [origin(), asPath(PEER_AS), nextHop('192.0.2.2')], nlri: prefix4('10.1.0.0/16') }))
  await until(() => h.speaker.routes().length === 1, 'the route')
  // Negotiated hold time: min(9, 30) = 9 s, so a KEEPALIVE every 3 s.
  h.clock.advance(2999)
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.deepEqual(p.drain(), [])
  h.clock.advance(1)
  assert.equal((await p.next()).type, 4)
  // The peer's KEEPALIVE at 8 s restarts the hold timer: the session survives 9 s.
  h.clock.advance(5000)
  p.send(encodeKeepalive())
  await new Promise((resolve) => setTimeout(resolve, 50))
  h.clock.advance(4000)
  assert.equal(h.state(), 'Established')
  // Then 9 s of silence.
  h.clock.advance(5000)
  assert.deepEqual(await p.notification(), [4, 0, []])
  assert.equal(h.state(), 'Active')
  assert.equal(h.speaker.routes().length, 0, "the peer's routes are gone")
  assert.match(h.speaker.sessions()[0]!.lastError!, /Hold Timer Expired/)
  sentWarning(h, 4, 0)
})

test('hold time 0 on either side: neither KEEPALIVEs nor a hold timer', async (t) => {
  const h = await start(t)
  const p = await h.establish(peerOpen({ hold: 0 }))
  h.clock.advance(3_600_000)
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.deepEqual(p.drain(), [])
  assert.equal(h.state(), 'Established')
})

test('a peer that never sends its OPEN is dropped after the 4-minute OpenSent hold time', async (t) => {
  const h = await start(t)
  const p = await h.peer()
  assert.equal((await p.next()).type, 1)
  h.clock.advance(239_000)
  assert.equal(h.state(), 'OpenSent')
  h.clock.advance(1000)
  assert.deepEqual(await p.notification(), [4, 0, []])
})

test('a connection from an address that is not a configured neighbor is refused with Cease/Connection Rejected', async (t) => {
  const h = await start(t)
  const p = await h.peer('127.0.0.9')
  assert.deepEqual(await p.notification(), [6, 5, []])
  sentWarning(h, 6, 5)
  assert.match(h.warnings[0]!.message, /127\.0\.0\.9/)
})

test('OPEN errors: each gets its NOTIFICATION and a closed connection', async (t) => {
  const h = await start(t)
  const cases: [string, Buffer, [number, number]][] = [
    ['wrong peer AS', peerOpen({ as: 64999 }), [2, 2]],
    ['4-byte AS without the capability', peerOpen({ capabilities: [mp(1)] }), [2, 2]],
    ['BGP identifier 0.0.0.0', peerOpen({ id: '0.0.0.0' }), [2, 3]],
    ['hold time 2', peerOpen({ hold: 2 }), [2, 6]],
    ['BGP version 3', peerOpen({ version: 3 }), [2, 1]],
    ['only IPv4 multicast', peerOpen({ capabilities: [mp(1, 2), as4Cap(PEER_AS)] }), [2, 7]],
    ['optional parameter type 1', encodeMessage(1, Buffer.from([4, ...u16(AS_TRANS), 0, 90, 10, 0, 0, 2, 4, 1, 2, 0, 0])), [2, 4]],
  ]
  for (const [what, open, expected] of cases) {
    const p = await h.peer()
    assert.equal((await p.next()).type, 1)
    p.send(open)
    const [code, subcode] = await p.notification()
    assert.deepEqual([code, subcode], expected, what)
    sentWarning(h, ...expected)
  }
  assert.equal(h.state(), 'Active', 'still waiting for a good connection')
  await h.establish()
})

test('message header errors: bad marker, bad length, unknown type', async (t) => {
  const h = await start(t)
  const badMarker = Buffer.from(encodeKeepalive())
  badMarker[0] = 0xfe
  const cases: [Buffer, [number, number, number[]]][] = [
    [badMarker, [1, 1, []]],
    [Buffer.from('ffffffffffffffffffffffffffffffff001104', 'hex'), [1, 2, [0, 0x11]]],
    [Buffer.from('ffffffffffffffffffffffffffffffff001309', 'hex'), [1, 3, [9]]],
    [Buffer.from('GET / HTTP/1.1\r\nHost: example\r\n\r\n'), [1, 1, []]],
  ]
  for (const [bytes, expected] of cases) {
    const p = await h.peer()
    await p.next()
    p.send(bytes)
    assert.deepEqual(await p.notification(), expected)
  }
  // The same errors once Established.
  const p = await h.establish()
  p.send(Buffer.from('ffffffffffffffffffffffffffffffff001406', 'hex'))
  assert.deepEqual(await p.notification(), [1, 3, [6]])
})

test('messages out of order are Finite State Machine Errors (RFC 6608)', async (t) => {
  const h = await start(t)
  const early = await h.peer()
  await early.next()
  early.send(update({}))
  assert.deepEqual(await early.notification(), [5, 1, [2]])
  const confirm = await h.peer()
  await confirm.next()
  confirm.send(peerOpen())
  await confirm.next()
  confirm.send(update({}))
  assert.deepEqual(await confirm.notification(), [5, 2, [2]])
  const established = await h.establish()
  established.send(peerOpen())
  assert.deepEqual(await established.notification(), [5, 3, [1]])
})

test("UPDATE errors end the session with their subcode and drop the peer's routes", async (t) => {
  const h = await start(t)
  const good = update({ attributes: [origin(), asPath(PEER_AS), nextHop('192.0.2.2')], nlri: prefix4('10.1.0.0/16') })
  const cases: [string, Buffer, [number, number]][] = [
    ['withdrawn length past the end', encodeMessage(2, Buffer.from([0, 9, 0, 0])), [3, 1]],
    ['attribute length past the end', update({ attributes: [Buffer.from([0x40, 1, 5, 0])] }), [3, 1]],
    ['ORIGIN twice', update({ attributes: [origin(), origin()] }), [3, 1]],
    ['NEXT_HOP missing', update({ attributes: [origin(), asPath(PEER_AS)], nlri: prefix4('10.3.0.0/16') }), [3, 3]],
    ['ORIGIN of 2 bytes', update({ attributes: [attr(0x40, 1, [0, 0]), asPath(PEER_AS), nextHop('192.0.2.2')], nlri: prefix4('10.3.0.0/16') }), [3, 5]],
    ['ORIGIN 7', update({ attributes: [origin(7), asPath(PEER_AS), nextHop('192.0.2.2')], nlri: prefix4('10.3.0.0/16') }), [3, 6]],
    ['ORIGIN flagged optional', update({ attributes: [attr(0xc0, 1, [0]), asPath(PEER_AS), nextHop('192.0.2.2')], nlri: prefix4('10.3.0.0/16') }), [3, 4]],
    ['AS_PATH segment overrun', update({ attributes: [origin(), attr(0x40, 2, [2, 3, 0, 0, 0, 1]), nextHop('192.0.2.2')], nlri: prefix4('10.3.0.0/16') }), [3, 11]],
    ['unknown well-known attribute', update({ attributes: [attr(0x40, 99, [1])] }), [3, 2]],
    ['prefix length 33', update({ attributes: [origin(), asPath(PEER_AS), nextHop('192.0.2.2')], nlri: [33, 10, 0, 0, 0, 0] }), [3, 10]],
    ['prefix bytes cut short', update({ attributes: [origin(), asPath(PEER_AS), nextHop('192.0.2.2')], nlri: [24, 10, 0] }), [3, 10]],
    ['COMMUNITIES of 5 bytes', update({ attributes: [origin(), asPath(PEER_AS), nextHop('192.0.2.2'), attr(0xc0, 8, [0, 0, 0, 0, 1])], nlri: prefix4('10.3.0.0/16') }), [3, 5]],
    ['MP_REACH next hop past its end', update({ attributes: [origin(), asPath(PEER_AS), attr(0x80, 14, [0, 2, 1, 40, 0])] }), [3, 9]],
  ]
  for (const [what, bad, expected] of cases) {
    const p = await h.establish()
    p.send(good)
    await until(() => h.speaker.routes().length === 1, 'the good route')
    p.send(bad)
    const [code, subcode] = await p.notification()
    assert.deepEqual([code, subcode], expected, what)
    sentWarning(h, ...expected)
    assert.equal(h.speaker.routes().length, 0, `${what}: routes dropped`)
  }
})

test("a peer's NOTIFICATION or a dropped connection ends the session and removes its routes", async (t) => {
  const h = await start(t)
  const events: string[] = []
  h.speaker.on('session', (e) => events.push(`${e.previous}->${e.state}${e.error ? ` ${e.error.errorCode}/${e.error.subcode}${e.error.received ? ' received' : ''}` : ''}`))
  const announce = update({ attributes: [origin(), asPath(PEER_AS), nextHop('192.0.2.2')], nlri: prefix4('10.1.0.0/16') })
  const p = await h.establish()
  p.send(announce)
  await until(() => h.speaker.routes().length === 1, 'the route')
  p.send(encodeMessage(3, Buffer.from([6, 2, 4, ...Buffer.from('bye!')])))
  await p.closed()
  await until(() => h.state() === 'Active', 'Active again')
  assert.equal(h.speaker.routes().length, 0)
  assert.match(h.speaker.sessions()[0]!.lastError!, /Cease\/Administrative Shutdown/)
  assert.deepEqual(events, ['Active->OpenSent', 'OpenSent->OpenConfirm', 'OpenConfirm->Established', 'Established->Active 6/2 received'])

  const again = await h.establish()
  again.send(announce)
  await until(() => h.speaker.routes().length === 1, 'the route again')
  again.socket.resetAndDestroy()
  await until(() => h.state() === 'Active', 'Active after the reset')
  assert.equal(h.speaker.routes().length, 0)
  assert.deepEqual(h.warnings, [])
})

test('closing the speaker sends Cease/Administrative Shutdown with a shutdown communication', async (t) => {
  const h = await start(t)
  const p = await h.establish()
  const closing = h.speaker.close()
  const [code, subcode, data] = await p.notification()
  await closing
  assert.deepEqual([code, subcode], [6, 2])
  assert.match(Buffer.from(data.slice(1)).toString(), /shutting down/)
  assert.equal(h.state(), 'Idle')
})

test('a second connection from a peer supersedes one still opening; an Established session wins over a newcomer', async (t) => {
  const h = await start(t)
  const first = await h.peer()
  await first.next()
  const second = await h.peer()
  assert.deepEqual(await first.notification(), [6, 7, []])
  await second.next()
  second.send(peerOpen(), encodeKeepalive())
  await until(() => h.state() === 'Established', 'Established')
  const third = await h.peer()
  await third.next()
  third.send(peerOpen())
  assert.deepEqual(await third.notification(), [6, 7, []])
  assert.equal(h.state(), 'Established')
  assert.equal(second.ended, false)
})

test('connection collision with a non-passive neighbor: the side with the higher BGP Identifier keeps the connection it opened (RFC 4271 §6.8)', async (t) => {
  for (const [peerId, survivor] of [['10.0.0.5', 'outbound'], ['200.0.0.5', 'inbound']] as const) {
    // The router listens (we connect to it) and connects to us at the same time.
    const accepted: RawPeer[] = []
    const router = createServer((socket) => accepted.push(new RawPeer(socket)))
    await new Promise<void>((resolve) => router.listen(0, '127.0.0.5', resolve))
    t.after(() => router.close())
    const h = await start(t, { neighbors: [{ address: '127.0.0.5', peerAs: PEER_AS, passive: false, port: (router.address() as { port: number }).port }], connectRetryS: 1 })
    await until(() => accepted.length === 1, 'our connection to the router')
    const outbound = accepted[0]!
    const inbound = await h.peer('127.0.0.5')
    assert.equal((await outbound.next()).type, 1)
    assert.equal((await inbound.next()).type, 1)
    inbound.send(peerOpen({ id: peerId }))
    // Our identifier is 192.0.2.1.
    const [loser, winner] = survivor === 'outbound' ? [inbound, outbound] : [outbound, inbound]
    assert.deepEqual(await loser.notification(), [6, 7, []], `peer ${peerId}`)
    if (survivor === 'outbound') winner.send(peerOpen({ id: peerId }))
    winner.send(encodeKeepalive())
    await until(() => h.state('127.0.0.5') === 'Established', `Established with peer ${peerId}`)
    winner.send(update({ attributes: [origin(), asPath(PEER_AS), nextHop('192.0.2.5')], nlri: prefix4('10.5.0.0/16') }))
    await until(() => h.speaker.routes().length === 1, 'the route')
    winner.destroy()
    await h.speaker.close()
  }
})

test('garbage and mutated messages never crash the speaker', async (t) => {
  const h = await start(t)
  let seed = 42
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed / 0x7fffffff
  }
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)))
  // Random bytes, and random bodies behind a valid marker, before the OPEN exchange.
  for (let i = 0; i < 40; i++) {
    const p = await h.peer()
    await p.next()
    const body = bytes(Math.floor(random() * 60))
    p.send(i % 2 === 0 ? bytes(1 + Math.floor(random() * 80)) : Buffer.concat([Buffer.alloc(16, 0xff), Buffer.from(u16(19 + body.length)), Buffer.from([1 + Math.floor(random() * 5)]), body]))
    await p.closed(100).catch(() => {})
    p.destroy()
  }
  // UPDATEs with random bytes flipped, on an Established session (re-established after each error).
  const template = update({
    withdrawn: prefix4('10.9.0.0/16'),
    attributes: [origin(), asPath(PEER_AS, 64510), nextHop('192.0.2.2'), communities([65000, 1]), largeCommunities([1, 2, 3]), mpReach6('2001:db8::2', '2001:db8:5::/48'), mpUnreach6('2001:db8:6::/48')],
    nlri: [...prefix4('10.1.0.0/16'), ...prefix4('10.2.0.0/15')],
  })
  let p = await h.establish()
  let errors = 0
  for (let i = 0; i < 150; i++) {
    const mutated = Buffer.from(template)
    for (let flips = 1 + Math.floor(random() * 3); flips > 0; flips--) mutated[19 + Math.floor(random() * (mutated.length - 19))] = Math.floor(random() * 256)
    p.send(mutated, encodeKeepalive())
    await new Promise((resolve) => setTimeout(resolve, 5))
    if (p.ended || h.state() !== 'Established') {
      errors++
      await p.closed()
      p = await h.establish()
    }
  }
  assert.ok(errors > 10, `some mutations must be errors (${errors})`)
  for (const route of h.speaker.routes()) assert.equal(route.peer, '127.0.0.2')
  // Still a working speaker: a clean UPDATE on a fresh session is taken.
  p.destroy()
  await until(() => h.state() === 'Active', 'the fuzzed session gone')
  p = await h.establish()
  p.send(update({ attributes: [origin(), asPath(PEER_AS), nextHop('192.0.2.2')], nlri: prefix4('10.77.0.0/16') }))
  await until(() => h.speaker.routes().some((r) => r.prefix === '10.77.0.0/16'), 'a clean route')
})
