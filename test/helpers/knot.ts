/**
 * Test helper: a real authoritative DNS server, Knot DNS (`knotd`, Debian package `knot`), on a free
 * loopback port with generated config and zone files in a temp dir. `stop()` kills it and removes
 * the dir; an exit hook does the same if a test run dies first.
 *
 * `discoveryZones` is the zone set of the discovery tests: a forward domain for RFC 7286 and
 * in-addr.arpa / ip6.arpa trees for RFC 8686, with the fallbacks, empty names and faults they need.
 */
import { spawnSync, type ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { createServer } from 'node:net'
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import dnsPacket from 'dns-packet'
import { spawnDaemon } from './daemon.ts'

export interface KnotZones {
  /** origin (with or without the trailing dot) -> zone file text */
  zones: Record<string, string>
  /** Zones configured with a zone file Knot cannot load: it answers SERVFAIL for them. */
  brokenZones?: readonly string[]
}

export interface KnotServer {
  port: number
  /** `'127.0.0.1:PORT'`, as `UdpResolverOptions.servers` takes it. */
  server: string
  /** Knot's log so far (stderr), for failure messages. */
  log(): string
  stop(): Promise<void>
}

const START_ATTEMPTS = 3
const READY_TIMEOUT_MS = 10_000

export function knotdPath(): string {
  const candidates = [process.env.KNOTD, '/usr/sbin/knotd', '/usr/local/sbin/knotd'].filter((p): p is string => !!p)
  const found = candidates.find((p) => existsSync(p)) ?? spawnSync('sh', ['-c', 'command -v knotd'], { encoding: 'utf8' }).stdout.trim()
  if (!found) throw new Error('knotd not found: the discovery tests need Knot DNS (Debian: apt-get install knot), or set KNOTD=/path/to/knotd')
  return found
}

/** Start knotd with these zones; resolves once every loadable zone answers its SOA. */
export async function startKnot(spec: KnotZones): Promise<KnotServer> {
  const knotd = knotdPath()
  let lastError: Error | undefined
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const port = await freePort()
    try {
      return await startOn(knotd, port, spec)
    } catch (error) {
      lastError = error as Error
      // Another process took the port between our probe and knotd's bind: try another.
      if (!/address already in use/i.test(lastError.message)) throw lastError
    }
  }
  throw lastError!
}

async function startOn(knotd: string, port: number, spec: KnotZones): Promise<KnotServer> {
  const dir = mkdtempSync(join(tmpdir(), 'altokit-knot-'))
  const origins = Object.keys(spec.zones).map(fqdn)
  const broken = (spec.brokenZones ?? []).map(fqdn)
  for (const sub of ['run', 'db', 'zones']) mkdirSync(join(dir, sub))
  for (const [origin, text] of Object.entries(spec.zones)) writeFileSync(join(dir, 'zones', `${fqdn(origin)}zone`), text)
  for (const origin of broken) writeFileSync(join(dir, 'zones', `${origin}zone`), 'this is not a zone file !!\n')
  writeFileSync(join(dir, 'knot.conf'), knotConf(dir, port, [...origins, ...broken]))

  const daemon = spawnDaemon(knotd, ['-c', join(dir, 'knot.conf')], dir, 100_000)
  const stop = (): Promise<void> => daemon.stop('SIGTERM')

  try {
    const log = (): string => {
      const spawnError = daemon.spawnError()
      return spawnError ? `cannot run ${knotd}: ${spawnError.message}\n${daemon.log()}` : daemon.log()
    }
    await waitUntilReady(daemon.child, port, origins, log, () => daemon.spawnError() !== undefined)
  } catch (error) {
    await stop()
    throw error
  }
  return { port, server: `127.0.0.1:${port}`, log: daemon.log, stop }
}

function fqdn(name: string): string {
  return name.endsWith('.') ? name : `${name}.`
}

function knotConf(dir: string, port: number, origins: readonly string[]): string {
  return `server:
    rundir: "${dir}/run"
    listen: 127.0.0.1@${port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "${dir}/db"
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: "${dir}/zones"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
${origins.map((origin) => `  - domain: ${origin}`).join('\n')}
`
}

/** A port free for both UDP and TCP on 127.0.0.1 (Knot listens on both). */
async function freePort(): Promise<number> {
  for (;;) {
    const udp = createSocket('udp4')
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject)
      udp.bind(0, '127.0.0.1', () => resolve(udp.address().port))
    })
    const tcpFree = await new Promise<boolean>((resolve) => {
      const tcp = createServer()
      tcp.once('error', () => resolve(false))
      tcp.listen(port, '127.0.0.1', () => tcp.close(() => resolve(true)))
    })
    await new Promise<void>((resolve) => udp.close(() => resolve()))
    if (tcpFree) return port
  }
}

async function waitUntilReady(child: ChildProcess, port: number, origins: readonly string[], log: () => string, failed: () => boolean): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  const pending = new Set(origins)
  while (pending.size > 0) {
    if (failed() || child.exitCode !== null || child.signalCode !== null) throw new Error(`knotd exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${log()}`)
    if (Date.now() > deadline) throw new Error(`knotd did not serve ${[...pending].join(', ')} within ${READY_TIMEOUT_MS} ms:\n${log()}`)
    for (const origin of [...pending]) {
      if ((await soaRcode(port, origin)) === 0) pending.delete(origin)
    }
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** The RCODE of a SOA query, or -1 when nothing came back within 200 ms. */
function soaRcode(port: number, name: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4')
    const id = Math.floor(Math.random() * 0x10000)
    const done = (rcode: number): void => {
      clearTimeout(timer)
      socket.close()
      resolve(rcode)
    }
    const timer = setTimeout(() => done(-1), 200)
    socket.on('error', () => done(-1))
    socket.on('message', (message) => {
      try {
        const answer = dnsPacket.decode(message)
        if (answer.id === id) done((answer.flags ?? 0) & 0xf)
      } catch {
        // not an answer: keep waiting until the timer ends the probe
      }
    })
    socket.send(dnsPacket.encode({ type: 'query', id, questions: [{ type: 'SOA', name: name.replace(/\.$/, '') }] }), port, '127.0.0.1')
  })
}

export const SOA = '@ SOA ns.example.net. hostmaster.example.net. 1 3600 600 86400 60\n@ NS ns.example.net.\n'
export const alto = (owner: string, order: number, preference: number, uri: string, services = 'ALTO:https'): string =>
  `${owner} NAPTR ${order} ${preference} "u" "${services}" "!.*!${uri}!" .\n`

/**
 * The zones of the discovery tests. Negative TTL 60 s (SOA minimum), record TTL 300 s.
 * - example.net: RFC 7286's two records (order 100, preference 10 and 20), a higher order that
 *   must not be used, other services (SIP+D2U, ALTO:ftp) of lower order that must be ignored, a
 *   non-terminal chain to example.org, a loop, a name without NAPTR, an ALTO:http record, and
 *   `big` with 40 records (truncated over UDP, complete over TCP).
 * - 198.in-addr.arpa: records at R8 (198), R16 (51.198), R24 (100.51.198, RFC 8686's example) and
 *   R32 (3.100.51.198); 1.99.51.198 exists without NAPTR (NODATA) under an empty non-terminal.
 * - 203.in-addr.arpa: only R16 0.203 has records; 113.0.203.in-addr.arpa is a broken zone
 *   (SERVFAIL).
 * - 8.b.d.0.1.0.0.2.ip6.arpa (2001:db8::/32): R128 of 2001:db8::20, R64 of 2001:db8:0:1::/64,
 *   R56 of 2001:db8:2:ab00::/56, R48 of 2001:db8:1::/48, R40 of 2001:db8:ff00::/40, R32 at the apex.
 */
export const discoveryZones: KnotZones = {
  zones: {
    'example.net': `$ORIGIN example.net.\n$TTL 300\n${SOA}ns A 127.0.0.1\n` +
      alto('@', 100, 20, 'https://alto2.example.net/ird') +
      alto('@', 100, 10, 'https://alto1.example.net/ird') +
      alto('@', 200, 10, 'https://backup.example.net/ird') +
      '@ NAPTR 50 10 "u" "SIP+D2U" "!.*!sip:info@example.net!" .\n' +
      alto('@', 60, 10, 'ftp://alto.example.net/ird', 'ALTO:ftp') +
      'chain NAPTR 100 10 "" "ALTO:https" "" alto.example.org.\n' +
      'loop NAPTR 100 10 "" "ALTO:https" "" loop2.example.net.\n' +
      'loop2 NAPTR 100 10 "" "ALTO:https" "" loop.example.net.\n' +
      'plain A 192.0.2.10\n' +
      alto('http', 100, 10, 'http://alto.example.net/ird', 'ALTO:http') +
      Array.from({ length: 40 }, (_, i) => alto('big', 100, i + 1, `https://alto${i + 1}.example.net/a/long/path/to/the/information/resource/directory`)).join(''),
    'example.org': `$ORIGIN example.org.\n$TTL 300\n${SOA}` +
      alto('alto', 100, 10, 'https://alto.example.org/ird') +
      'alto NAPTR 100 20 "u" "ALTO:http:https" "#.*#https://alto-b.example.org/ird#" .\n',
    '198.in-addr.arpa': `$ORIGIN 198.in-addr.arpa.\n$TTL 300\n${SOA}` +
      alto('@', 100, 10, 'https://r8.example.net/ird') +
      alto('51', 100, 10, 'https://r16.example.net/ird') +
      alto('100.51', 100, 10, 'https://alto1.example.net/ird') +
      alto('100.51', 100, 20, 'https://alto2.example.net/ird') +
      alto('3.100.51', 100, 10, 'https://r32.example.net/ird') +
      '1.99.51 PTR host.example.net.\n',
    '203.in-addr.arpa': `$ORIGIN 203.in-addr.arpa.\n$TTL 300\n${SOA}` + alto('0', 100, 10, 'https://r16-203.example.net/ird'),
    '8.b.d.0.1.0.0.2.ip6.arpa': `$ORIGIN 8.b.d.0.1.0.0.2.ip6.arpa.\n$TTL 300\n${SOA}` +
      alto('@', 100, 10, 'https://r32.example.net/ird') +
      alto('0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0', 100, 10, 'https://r128.example.net/ird') +
      alto('1.0.0.0.0.0.0.0', 100, 10, 'https://r64.example.net/ird') +
      alto('b.a.2.0.0.0', 100, 10, 'https://r56.example.net/ird') +
      alto('1.0.0.0', 100, 10, 'https://r48.example.net/ird') +
      alto('f.f', 100, 10, 'https://r40.example.net/ird'),
  },
  brokenZones: ['113.0.203.in-addr.arpa'],
}
