/**
 * @module cli/tracker
 * `alto tracker`: run the ALTO-guided BitTorrent tracker until SIGTERM/SIGINT.
 */
import { InvalidArgumentError, Option, type Command } from 'commander'
import { pino } from 'pino'
import { AltoClient } from '../client/client.ts'
import { GuidanceProvider } from '../tracker/guidance.ts'
import { AltoServerLocator } from '../client/discover.ts'
import { DiscoveredGuidanceSource, SingleGuidanceSource, type GuidanceSource } from '../tracker/guidance-source.ts'
import { AltoTracker } from '../tracker/tracker.ts'
import { EXIT, ExitError } from './exit.ts'
import { collect, parsePort } from './options.ts'

interface TrackerFlags {
  host: string
  port: number
  udpPort?: number
  noUdp?: boolean
  alto?: string
  discover?: boolean
  dns?: string[]
  allowHttp?: boolean
  costType?: string
  randomFraction: number
  numwant: number
  interval: number
  refresh: number
  logLevel: string
}

function parseFraction(value: string): number {
  const n = Number(value)
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('a fraction from 0 to 1')
  return n
}

function parseCount(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number of at least 1')
  return n
}

export function registerTracker(program: Command): Command {
  return program
    .command('tracker')
    .description('Run a BitTorrent tracker (HTTP and UDP) that gives each peer the peers ALTO says are close, plus a random share')
    .option('--host <address>', 'listen address for HTTP and UDP', '127.0.0.1')
    .option('-p, --port <port>', 'HTTP port (0 = any free port)', parsePort, 8000)
    .option('--udp-port <port>', 'UDP port (default: the HTTP port number)', parsePort)
    .option('--no-udp', 'serve HTTP only')
    .addOption(new Option('--alto <url>', 'IRD URI of the ALTO server whose guidance every peer gets').conflicts('discover'))
    .option('--discover', 'find each peer\'s ALTO server by DNS (RFC 8686), once per /24 or /48; peers of networks without one get random peers')
    .option('--dns <host:port>', 'with --discover: DNS server to ask (repeatable; default: the system\'s)', collect)
    .option('--allow-http', 'with --discover: accept ALTO:http URIs (default: https only)')
    .option('--cost-type <name>', 'cost type to rank by (IRD name, default numerical routingcost)')
    .option('--random-fraction <f>', 'share of each peer list drawn at random from the swarm', parseFraction, 0.2)
    .option('--numwant <n>', 'peers per answer when the client does not say, and the most it may ask for', parseCount, 50)
    .option('--interval <s>', 'seconds between announces told to clients', parseCount, 1800)
    .option('--refresh <s>', 'seconds between revalidations of the ALTO maps', parseCount, 30)
    .option('--log-level <level>', 'log level of the JSON logs on stderr', 'info')
    .addHelpText(
      'after',
      `
Without --alto the tracker selects peers at random. With it, the maps are fetched once and
revalidated in the background: announces never wait for ALTO, and if the ALTO server goes away
announces go on (with the last maps for 10 minutes, then at random) until it is back.

Examples:
  alto tracker --port 6969 --alto http://127.0.0.1:8181/
  alto tracker --port 6969 --discover --dns 127.0.0.1:53    # each peer's own ISP's ALTO server
  alto tracker --port 0 --random-fraction 0.1 --numwant 30`,
    )
    .action(async (flags: TrackerFlags) => {
      const logger = pino({ level: flags.logLevel }, pino.destination(2))
      let guidance: GuidanceSource | undefined
      if (flags.alto) {
        let client: AltoClient
        try {
          client = new AltoClient(flags.alto, { timeoutMs: 5000, retries: 1 })
        } catch {
          throw new ExitError(EXIT.usage, `--alto ${flags.alto}: not a URL`)
        }
        const options = { client, refreshMs: flags.refresh * 1000, logger, ...(flags.costType ? { costType: flags.costType } : {}) }
        guidance = new SingleGuidanceSource(new GuidanceProvider(options))
      } else if (flags.discover) {
        const locator = new AltoServerLocator({ allowHttp: flags.allowHttp ?? false, client: { timeoutMs: 5000, retries: 1 }, ...(flags.dns ? { dns: flags.dns } : {}) })
        guidance = new DiscoveredGuidanceSource({ locator, logger, provider: { refreshMs: flags.refresh * 1000, logger, ...(flags.costType ? { costType: flags.costType } : {}) } })
      }
      const tracker = new AltoTracker({
        host: flags.host,
        port: flags.port,
        udpPort: flags.noUdp ? false : flags.udpPort,
        randomFraction: flags.randomFraction,
        numwant: flags.numwant,
        interval: flags.interval,
        logger,
        ...(guidance ? { guidance } : {}),
      })
      const urls = await tracker.listen()
      process.stdout.write(`Tracker listening on ${urls.http}${urls.udp ? ` and ${urls.udp}` : ''}\n`)
      await new Promise<void>((resolve) => {
        const stop = () => void tracker.close().then(resolve, resolve)
        process.once('SIGTERM', stop)
        process.once('SIGINT', stop)
      })
    })
}
