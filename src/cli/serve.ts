/**
 * @module cli/serve
 * `alto serve`: load, check, listen, print one `ALTO server listening on <URL>` line; reload the
 * network on SIGHUP; shut down gracefully on SIGTERM/SIGINT. With `--workers N` (N > 1) this
 * process is the primary of a cluster (server/cluster.ts) and the same command line, run again
 * by node:cluster, is each worker.
 */
import { availableParallelism } from 'node:os'
import { InvalidArgumentError, Option, type Command } from 'commander'
import { pino } from 'pino'
import { MAX_WORKERS } from '../provisioning/config.ts'
import { loadNetwork, type Loaded, type LoadOptions } from '../provisioning/load.ts'
import { watchFiles } from '../provisioning/watch.ts'
import { LiveNetwork } from '../provisioning/live.ts'
import type { AltoConfig } from '../provisioning/spec.ts'
import { createAltoServer, type AltoServer } from '../server/app.ts'
import { ClusterPrimary, clusterWorker, workerServerOptions, type ClusterWorker } from '../server/cluster.ts'
import { DEFAULTS, resolveLimits, type ServerOptions } from '../server/options.ts'
import { EXIT, ExitError } from './exit.ts'
import { addSourceOptions, LOG_LEVELS, loadOptionsOf, parsePort, type SourceFlags } from './options.ts'

interface ServeFlags extends SourceFlags {
  host?: string
  port?: number
  publicUrl?: string
  logLevel?: ServerOptions['logLevel']
  adminPort?: number
  workers?: number | 'auto'
}

function parseWorkers(value: string): number | 'auto' {
  if (value === 'auto') return value
  const n = Number(value)
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_WORKERS) throw new InvalidArgumentError(`workers is an integer from 1 to ${MAX_WORKERS}, or auto (one per core)`)
  return n
}

export function registerServe(program: Command): void {
  addSourceOptions(program.command('serve').description('Run an ALTO server. With no options it serves the embedded default network on http://127.0.0.1:8181/.'))
    .option('--host <address>', 'listen address (default 127.0.0.1, or the config file\'s)')
    .option('-p, --port <port>', 'listen port, 0 for any free port (default 8181)', parsePort)
    .option('--public-url <url>', 'base URL of the URIs in the IRD (default: from the request Host header)')
    .addOption(new Option('--log-level <level>', 'log level of the JSON logs on stderr').choices(LOG_LEVELS))
    .option('--admin-port <port>', 'serve Prometheus metrics on 127.0.0.1:<port>/metrics', parsePort)
    .option('--workers <n>', 'processes serving the port, or auto = one per core (default 1, or the config file\'s server.workers)', parseWorkers)
    .addHelpText(
      'after',
      `
Examples:
  alto serve                                   # the embedded default network
  alto serve --port 0                          # any free port; the URL is printed
  alto serve --network-map map.json --cost-map cost.json
  alto serve --config alto.yaml                # everything: TLS, users, access, limits, maps
  alto serve --config alto.yaml --workers auto # one worker process per core

Reloading: SIGHUP, or a change to any file the network was read from, reloads it (a bad file
keeps the old network serving);
SIGTERM and SIGINT finish in-flight requests and exit.

Several workers (--workers N): signal the primary (the process started); it passes SIGHUP to
every worker and restarts one that dies. Metrics (--admin-port) add up all workers. Each worker
gets 1/N of the per-client rate limit. Update streams (RFC 8895) are off, and a bgp: section
is refused (see docs/operator-guide.md).`,
    )
    .action(async (flags: ServeFlags) => serve(flags))
}

async function serve(flags: ServeFlags): Promise<void> {
  const worker = clusterWorker()
  if (worker) return serveWorker(flags, worker)

  const loadOptions = loadOptionsOf(flags)
  const loaded = loadNetwork(loadOptions)
  const options = serverOptionsOf(loaded.config, flags)
  const workers = workerCount(flags, loaded.config)
  if (workers > 1) return servePrimary(loaded, options, workers)

  const server = createAltoServer(loaded.snapshot, options)
  // A live BGP feed: each debounced routing change becomes a new snapshot (docs/bgp.md).
  const live = loaded.config.bgp ? new LiveNetwork({ ...loaded.config, bgp: loaded.config.bgp }, server.logger) : undefined
  live?.on('snapshot', (snapshot, counts) => {
    server.setSnapshot(snapshot)
    server.logger.info(counts, 'network map rebuilt from BGP')
  })
  live?.on('rejected', (error) => server.logger.error({ error: error.message }, 'routes give no valid network; still serving the previous one'))
  const url = await server.listen()
  const bgpAt = live ? await live.listen() : undefined
  process.stdout.write(`ALTO server listening on ${url}\n`)
  server.logger.info({ url, admin: server.adminUrl, source: loaded.source, bgp: bgpAt }, 'ready')
  await keepServing(server, loaded, loadOptions, { live, stopOn: ['SIGTERM', 'SIGINT'] })
}

function serverOptionsOf(config: AltoConfig, flags: ServeFlags): ServerOptions {
  const options: ServerOptions = { ...config.server }
  if (flags.host !== undefined) options.host = flags.host
  if (flags.port !== undefined) options.port = flags.port
  if (flags.publicUrl !== undefined) options.publicUrl = flags.publicUrl
  if (flags.logLevel !== undefined) options.logLevel = flags.logLevel
  if (flags.adminPort !== undefined) options.admin = { host: '127.0.0.1', port: flags.adminPort }
  return options
}

/** `--workers`, else `server.workers`, else 1; `auto` = one per core. */
function workerCount(flags: ServeFlags, config: AltoConfig): number {
  // A config with both is refused when it is loaded; this is the flag's turn.
  if (flags.workers !== undefined && flags.workers !== 1 && config.bgp) {
    throw new ExitError(EXIT.usage, `--workers ${flags.workers}: a config with a bgp: section serves from one process (one BGP session per server); use --workers 1`)
  }
  const setting = flags.workers ?? config.server.workers ?? 1
  return setting === 'auto' ? availableParallelism() : setting
}

/** The primary of a cluster: forks the workers, prints the one listening line, relays signals. */
async function servePrimary(loaded: Loaded, options: ServerOptions, workers: number): Promise<void> {
  const logger = pino({ level: options.logLevel ?? DEFAULTS.logLevel }, pino.destination(2))
  const primary = new ClusterPrimary({
    workers,
    port: options.port ?? DEFAULTS.port,
    logger,
    admin: options.admin,
    // A worker finishes its requests in flight, which take at most the request timeout.
    stopTimeoutMs: resolveLimits(options.limits).requestTimeoutMs + 5_000,
  })
  logger.info({ workers }, 'update streams (RFC 8895) are off with several workers: a stream and its control requests must reach one process')
  const url = await primary.start()
  process.stdout.write(`ALTO server listening on ${url}\n`)
  logger.info({ url, admin: primary.adminUrl, source: loaded.source, workers, workerPids: primary.pids }, 'ready')
  await new Promise<void>((resolve) => {
    const onHup = () => {
      logger.info('SIGHUP: reloading every worker')
      primary.reload()
    }
    const stop = (signal: string) => {
      process.off('SIGHUP', onHup)
      logger.info({ signal }, 'shutting down')
      primary.stop().then(resolve, (error: unknown) => {
        logger.error({ error: String(error) }, 'error while closing')
        resolve()
      })
    }
    process.on('SIGHUP', onHup)
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
  })
}

/** One worker of a cluster: the same server, told its port by the primary, reporting to it. */
async function serveWorker(flags: ServeFlags, link: ClusterWorker): Promise<void> {
  // A Ctrl-C reaches the whole process group: the primary decides when workers stop. A hangup
  // before the handlers are in place would end the worker; the primary passes reloads on.
  process.on('SIGINT', () => {})
  process.on('SIGHUP', () => {})
  try {
    const loadOptions = loadOptionsOf(flags)
    const loaded = loadNetwork(loadOptions)
    if (loaded.config.bgp) throw new ExitError(EXIT.usage, 'a config with a bgp: section serves from one process; use --workers 1')
    const server = createAltoServer(loaded.snapshot, workerServerOptions(serverOptionsOf(loaded.config, flags), link))
    link.serveMetrics(server.metrics.registry)
    const url = await server.listen()
    server.logger.info({ url, source: loaded.source }, 'worker listening')
    const serving = keepServing(server, loaded, loadOptions, { stopOn: ['SIGTERM'] })
    link.listening(url)
    await serving
  } finally {
    // The channel to the primary keeps a worker alive, also when it failed to start.
    link.leave()
  }
}

/**
 * Serve until a stop signal: reload on SIGHUP and when a file the network was read from changes (a
 * bad file keeps the old network serving). The handlers are in place when this returns.
 */
function keepServing(server: AltoServer, loaded: Loaded, loadOptions: LoadOptions, how: { live?: LiveNetwork | undefined; stopOn: NodeJS.Signals[] }): Promise<void> {
  const { live } = how
  return new Promise<void>((resolve) => {
    let watcher = watchFiles(loaded.files, (changed) => reload(`changed: ${changed.join(', ')}`))
    const reload = (why: string) => {
      try {
        const next = loadNetwork(loadOptions)
        if (live) live.setConfig(next.config)
        else server.setSnapshot(next.snapshot)
        watcher.close()
        watcher = watchFiles(next.files, (changed) => reload(`changed: ${changed.join(', ')}`))
        server.logger.info({ why }, 'network reloaded')
      } catch (error) {
        server.logger.error({ why, error: error instanceof Error ? error.message : String(error) }, 'reload failed; still serving the previous network')
      }
    }
    const onHup = () => reload('SIGHUP')
    let stopped = false
    const stop = (signal: string) => {
      if (stopped) return
      stopped = true
      watcher.close()
      process.off('SIGHUP', onHup)
      server.logger.info({ signal }, 'shutting down')
      Promise.all([live?.close(), server.close()]).then(() => resolve(), (error: unknown) => {
        server.logger.error({ error: String(error) }, 'error while closing')
        resolve()
      })
    }
    process.on('SIGHUP', onHup)
    for (const signal of how.stopOn) process.once(signal, () => stop(signal))
  })
}
