/**
 * Test helper: a real BGP router, BIRD 2 (Debian package `bird2`), on loopback. It runs in the
 * foreground with a generated bird.conf and its own control socket in a temp dir, announces static
 * routes (with communities, large communities and AS-path prepends) over one `protocol bgp` session
 * with IPv4 and IPv6 unicast channels, and changes them at runtime by rewriting the config and
 * running `birdc configure`. `stop()` ends BIRD (Cease, then SIGKILL if it lingers) and removes
 * the dir; an exit hook does the same if a test run dies first.
 */
import { execFile, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnDaemon } from './daemon.ts'

/** A static route BIRD announces. */
export interface BirdRoute {
  /** `10.1.0.0/16` or `2001:db8:1::/48`. */
  prefix: string
  /** RFC 1997 communities, as `[asn, value]`. */
  communities?: [number, number][]
  /** RFC 8092 large communities, as `[global, local1, local2]`. */
  largeCommunities?: [number, number, number][]
  /** ASes prepended before BIRD's own AS (so the origin AS is the last of these). */
  prepend?: number[]
}

export interface BirdOptions {
  /** BIRD's session address; any 127.0.0.0/8 address works on Linux without setup. @default '127.0.0.2' */
  localAddress?: string
  localAs: number
  /** @default localAddress */
  routerId?: string
  /** Our speaker, as BIRD connects to it. */
  neighbor: { address: string; port: number; as: number }
  /** @default 90 */
  holdTimeS?: number
  /** BIRD only waits for connections (on its own port, see {@link BirdRouter.port}). @default false */
  passive?: boolean
  /**
   * Next hop of IPv6 routes. (BIRD reads `::ffff:a.b.c.d` as IPv4, so it cannot be the mapped
   * session address.) @default `2001:db8::N` for local address 127.0.0.N
   */
  ipv6NextHop?: string
  /** @default both */
  channels?: ('ipv4' | 'ipv6')[]
  routes: BirdRoute[]
}

export interface BirdRouter {
  /** BIRD's BGP listening port (where a non-passive speaker connects). */
  port: number
  localAddress: string
  /** Announce exactly these routes from now on (rewrites bird.conf, `birdc configure`). */
  setRoutes(routes: BirdRoute[]): Promise<void>
  /** Run a birdc command; resolves with its output. */
  birdc(...args: string[]): Promise<string>
  /** The BGP protocol's state as `show protocols` gives it: `Established`, `Active`, `Connect`, ... */
  bgpState(): Promise<string>
  /** Wait until the BGP protocol is in `state` (bounded). */
  waitForState(state: string | RegExp, timeoutMs?: number): Promise<void>
  /** BIRD's log so far (stderr). */
  log(): string
  /** Terminate BIRD (SIGTERM: it sends Cease to its peers), then remove the temp dir. */
  stop(): Promise<void>
  /** SIGKILL BIRD: the connection closes without a NOTIFICATION. */
  kill(): Promise<void>
}

const READY_TIMEOUT_MS = 10_000
const BIRDC_TIMEOUT_MS = 5_000

function findBinary(name: string, env: string | undefined): string {
  const candidates = [env, `/usr/sbin/${name}`, `/usr/local/sbin/${name}`].filter((p): p is string => !!p)
  const found = candidates.find((p) => existsSync(p)) ?? spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim()
  if (!found) throw new Error(`${name} not found: the BGP tests need BIRD 2 (Debian: apt-get install bird2), or set ${name.toUpperCase()}=/path/to/${name}`)
  return found
}

/** Start BIRD; resolves once its control socket answers. */
export async function startBird(options: BirdOptions): Promise<BirdRouter> {
  const bird = findBinary('bird', process.env.BIRD)
  const birdcPath = findBinary('birdc', process.env.BIRDC)
  const localAddress = options.localAddress ?? '127.0.0.2'
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'altokit-bird-'))
  const conf = join(dir, 'bird.conf')
  const socketPath = join(dir, 'bird.ctl')
  let routes = options.routes
  writeFileSync(conf, birdConf({ ...options, localAddress }, port, routes))

  const daemon = spawnDaemon(bird, ['-f', '-c', conf, '-s', socketPath], dir, 200_000)
  const { child, running } = daemon

  const birdc = (...args: string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      execFile(birdcPath, ['-s', socketPath, ...args], { timeout: BIRDC_TIMEOUT_MS, encoding: 'utf8' }, (error, stdout, stderr) => {
        if (error) reject(new Error(`birdc ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`))
        else resolve(stdout)
      })
    })

  const end = daemon.stop

  const bgpState = async (): Promise<string> => {
    const out = await birdc('show', 'protocols', 'alto')
    const line = out.split('\n').find((l) => l.startsWith('alto '))
    return line?.trim().split(/\s+/).slice(5).join(' ') ?? ''
  }

  const router: BirdRouter = {
    port,
    localAddress,
    async setRoutes(next) {
      routes = next
      writeFileSync(conf, birdConf({ ...options, localAddress }, port, routes))
      const out = await birdc('configure')
      if (!/Reconfigur/.test(out)) throw new Error(`birdc configure did not reconfigure:\n${out}\n${daemon.log()}`)
    },
    birdc,
    bgpState,
    async waitForState(state, timeoutMs = 10_000) {
      const wanted = typeof state === 'string' ? new RegExp(`^${state}`) : state
      const deadline = Date.now() + timeoutMs
      let last = ''
      while (Date.now() < deadline) {
        last = await bgpState().catch((error: Error) => error.message)
        if (wanted.test(last)) return
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      throw new Error(`BIRD's session did not reach ${String(state)} within ${timeoutMs} ms (last: ${last})\n${daemon.log()}`)
    },
    log: daemon.log,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
  }

  try {
    const deadline = Date.now() + READY_TIMEOUT_MS
    for (;;) {
      if (!running()) throw new Error(`bird exited (${child.exitCode ?? child.signalCode ?? daemon.spawnError()?.message}) before it was ready:\n${daemon.log()}`)
      if (existsSync(socketPath) && (await birdc('show', 'status').then(() => true, () => false))) break
      if (Date.now() > deadline) throw new Error(`bird did not answer on its control socket within ${READY_TIMEOUT_MS} ms:\n${daemon.log()}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  } catch (error) {
    await end('SIGKILL')
    throw error
  }
  return router
}

/** The generated bird.conf: two static protocols (one per family) and one BGP session. */
export function birdConf(options: BirdOptions & { localAddress: string }, port: number, routes: readonly BirdRoute[]): string {
  const channels = options.channels ?? ['ipv4', 'ipv6']
  const staticRoutes = (family: 'ipv4' | 'ipv6'): string =>
    routes
      .filter((r) => r.prefix.includes(':') === (family === 'ipv6'))
      .map((r) => `  route ${r.prefix} blackhole${routeAttributes(r)};`)
      .join('\n')
  const { neighbor } = options
  return `# generated by test/helpers/bird.ts
router id ${options.routerId ?? options.localAddress};
log stderr all;
protocol device { }
protocol static static4 {
  ipv4;
${staticRoutes('ipv4')}
}
protocol static static6 {
  ipv6;
${staticRoutes('ipv6')}
}
protocol bgp alto {
  local ${options.localAddress} port ${port} as ${options.localAs};
  neighbor ${neighbor.address} port ${neighbor.port} as ${neighbor.as};
  # Our speaker is on a loopback address BIRD does not see as directly connected.
  multihop;
  hold time ${options.holdTimeS ?? 90};
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 2;
${options.passive ? '  passive on;\n' : ''}${channels.map((c) => `  ${c} { import none; export all;${c === 'ipv6' ? ` next hop address ${ipv6NextHop(options)};` : ''} };`).join('\n')}
}
`
}

/** The IPv6 next hop BIRD announces: over an IPv4 session it has no IPv6 address of its own to use. */
export function ipv6NextHop(options: Pick<BirdOptions, 'ipv6NextHop' | 'localAddress'>): string {
  return options.ipv6NextHop ?? `2001:db8::${(options.localAddress ?? '127.0.0.2').split('.').pop()}`
}

function routeAttributes(route: BirdRoute): string {
  const statements = [
    ...(route.prepend ?? []).slice().reverse().map((asn) => `bgp_path.prepend(${asn});`),
    ...(route.communities ?? []).map(([a, b]) => `bgp_community.add((${a}, ${b}));`),
    ...(route.largeCommunities ?? []).map(([a, b, c]) => `bgp_large_community.add((${a}, ${b}, ${c}));`),
  ]
  return statements.length === 0 ? '' : ` { ${statements.join(' ')} }`
}

/** A free TCP port (for BIRD's own listening socket). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '0.0.0.0', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
