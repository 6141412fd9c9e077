/**
 * @module cli/share
 * `alto share`: run a sharing peer (redistribution/sharing-peer.ts) for one ALTO server: keep
 * its IRD, full network maps and full cost maps as signed bundles, announce them on a
 * BitTorrent DHT that is joined only through the nodes given, and serve them to other peers.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { isIPv4 } from 'node:net'
import { join } from 'node:path'
import { InvalidArgumentError, Option, type Command } from 'commander'
import { pino } from 'pino'
import { encodeBundle } from '../redistribution/bundle.ts'
import { parseBootstrap } from '../redistribution/dht-node.ts'
import { SharingPeer, type Obtained } from '../redistribution/sharing-peer.ts'
import { LOG_LEVELS, parsePort } from './options.ts'

interface ShareFlags {
  server: string
  dhtBootstrap: string[]
  host: string
  port: number
  jwks?: string
  refresh: number
  save?: string
  once?: boolean
  logLevel: (typeof LOG_LEVELS)[number]
}

function parseSeconds(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('seconds, a whole number of at least 1')
  return n
}

function parseIpv4(value: string): string {
  if (!isIPv4(value)) throw new InvalidArgumentError('an IPv4 address (BEP 5 peer records are IPv4)')
  return value
}

function parseNodes(value: string, previous: string[] = []): string[] {
  try {
    return [...previous, ...parseBootstrap(value)]
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message)
  }
}

export function registerShare(program: Command): void {
  program
    .command('share')
    .description('Share an ALTO server\'s IRD, full network maps and full cost maps with other peers over a BitTorrent DHT, verified by every receiver')
    .requiredOption('--server <url>', 'the authoritative ALTO server\'s IRD URI (it must sign its answers)')
    .option('--dht-bootstrap <host:port,...>', 'DHT nodes to join through (other `alto share` peers); none: start a new DHT', parseNodes, [])
    .option('--host <ipv4>', 'address of both the DHT socket and the bundle HTTP server', parseIpv4, '127.0.0.1')
    .option('-p, --port <port>', 'HTTP port; the DHT uses the same number over UDP (0: any)', parsePort, 0)
    .option('--jwks <url>', 'the server\'s JWKS URI (default: the one its IRD lists)')
    .option('--refresh <seconds>', 'look at every resource again this often (expired bundles are fetched anew)', parseSeconds, 30)
    .option('--save <dir>', 'also write each bundle obtained to DIR/<resource-id>.bundle.json (for `alto verify`)')
    .option('--once', 'obtain every resource once, print a summary and exit')
    .addOption(new Option('--log-level <level>', 'log level of the JSON logs on stderr').choices(LOG_LEVELS).default('info'))
    .addHelpText(
      'after',
      `
Examples:
  alto share --server http://127.0.0.1:8181/                          # the first peer
  alto share --server http://127.0.0.1:8181/ --dht-bootstrap 127.0.0.1:40001 --port 0

Prints one line "ALTO sharing peer listening on http://HOST:PORT/"; other peers join with
--dht-bootstrap HOST:PORT. The DHT never contacts public routers: it knows only the nodes given.
Endpoint cost and property answers are never shared. See docs/redistribution.md.`,
    )
    .action(async (flags: ShareFlags) => share(flags))
}

async function share(flags: ShareFlags): Promise<void> {
  const log = pino({ level: flags.logLevel }, pino.destination(2))
  const peer = await SharingPeer.start({
    server: flags.server,
    bootstrap: flags.dhtBootstrap,
    host: flags.host,
    port: flags.port,
    ...(flags.jwks ? { jwksUri: flags.jwks } : {}),
  })
  peer.on('warning', (warning: Error & { reason?: string; holder?: string }) => log.warn({ reason: warning.reason, holder: warning.holder, error: warning.message }, 'warning'))
  if (flags.save) mkdirSync(flags.save, { recursive: true })

  const round = async (): Promise<Obtained[]> => {
    const obtained: Obtained[] = []
    const ird = await peer.ird()
    obtained.push(ird)
    const resources = await peer.resources()
    for (const resource of resources) {
      const wanted = { uri: resource.uri, mediaType: resource.mediaType, ...(resource.costType ? { costType: resource.costType } : {}) }
      obtained.push(await peer.obtain(wanted))
    }
    const ids = new Map([[peer.serverUri, 'ird'], ...resources.map((r) => [r.uri, r.id] as const)])
    for (const o of obtained) {
      if (o.source === 'local') continue
      const id = ids.get(o.verified.claims.req.uri) ?? 'resource'
      log.info({ id, uri: o.verified.claims.req.uri, source: o.source, holder: o.holder, expires: new Date(o.verified.expiresAt).toISOString() }, 'obtained')
      if (flags.save) writeFileSync(join(flags.save, `${id}.bundle.json`), encodeBundle(o.verified.bundle))
    }
    return obtained
  }

  if (flags.once) {
    try {
      const obtained = await round()
      process.stdout.write(`${JSON.stringify({ peer: peer.url, obtained: obtained.map((o) => ({ uri: o.verified.claims.req.uri, source: o.source })), stats: peer.stats })}\n`)
    } finally {
      await peer.close()
    }
    return
  }

  process.stdout.write(`ALTO sharing peer listening on ${peer.url}\n`)
  log.info({ url: peer.url, dht: peer.dhtAddress, server: peer.serverUri, bootstrap: flags.dhtBootstrap }, 'ready')
  const safeRound = () =>
    round().catch((error: unknown) => {
      log.error({ error: error instanceof Error ? error.message : String(error) }, 'round failed; trying again at the next refresh')
      return []
    })
  await safeRound()
  const timer = setInterval(() => void safeRound(), flags.refresh * 1000)
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      clearInterval(timer)
      log.info({ signal, stats: peer.stats }, 'shutting down')
      peer.close().then(resolve, resolve)
    }
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
  })
}
