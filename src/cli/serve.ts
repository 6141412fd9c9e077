/**
 * @module cli/serve
 * `alto serve`: load, check, listen, print one `ALTO server listening on <URL>` line; reload the
 * network on SIGHUP; shut down gracefully on SIGTERM/SIGINT.
 */
import { Option, type Command } from 'commander'
import { loadNetwork } from '../provisioning/load.ts'
import { watchFiles } from '../provisioning/watch.ts'
import { LiveNetwork } from '../provisioning/live.ts'
import { createAltoServer } from '../server/app.ts'
import type { ServerOptions } from '../server/options.ts'
import { addSourceOptions, LOG_LEVELS, loadOptionsOf, parsePort, type SourceFlags } from './options.ts'

interface ServeFlags extends SourceFlags {
  host?: string
  port?: number
  publicUrl?: string
  logLevel?: ServerOptions['logLevel']
  adminPort?: number
}

export function registerServe(program: Command): void {
  addSourceOptions(program.command('serve').description('Run an ALTO server. With no options it serves the embedded default network on http://127.0.0.1:8181/.'))
    .option('--host <address>', 'listen address (default 127.0.0.1, or the config file\'s)')
    .option('-p, --port <port>', 'listen port, 0 for any free port (default 8181)', parsePort)
    .option('--public-url <url>', 'base URL of the URIs in the IRD (default: from the request Host header)')
    .addOption(new Option('--log-level <level>', 'log level of the JSON logs on stderr').choices(LOG_LEVELS))
    .option('--admin-port <port>', 'serve Prometheus metrics on 127.0.0.1:<port>/metrics', parsePort)
    .addHelpText(
      'after',
      `
Examples:
  alto serve                                   # the embedded default network
  alto serve --port 0                          # any free port; the URL is printed
  alto serve --network-map map.json --cost-map cost.json
  alto serve --config alto.yaml                # everything: TLS, users, access, limits, maps

Reloading: SIGHUP, or a change to any file the network was read from, reloads it (a bad file
keeps the old network serving);
SIGTERM and SIGINT finish in-flight requests and exit.`,
    )
    .action(async (flags: ServeFlags) => serve(flags))
}

async function serve(flags: ServeFlags): Promise<void> {
  const loadOptions = loadOptionsOf(flags)
  const loaded = loadNetwork(loadOptions)

  const options: ServerOptions = { ...loaded.config.server }
  if (flags.host !== undefined) options.host = flags.host
  if (flags.port !== undefined) options.port = flags.port
  if (flags.publicUrl !== undefined) options.publicUrl = flags.publicUrl
  if (flags.logLevel !== undefined) options.logLevel = flags.logLevel
  if (flags.adminPort !== undefined) options.admin = { host: '127.0.0.1', port: flags.adminPort }

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

  await new Promise<void>((resolve) => {
    // Reload on SIGHUP and when a file the network was read from changes; a bad file keeps the
    // old network serving.
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
    const stop = (signal: string) => {
      watcher.close()
      process.off('SIGHUP', onHup)
      server.logger.info({ signal }, 'shutting down')
      Promise.all([live?.close(), server.close()]).then(() => resolve(), (error: unknown) => {
        server.logger.error({ error: String(error) }, 'error while closing')
        resolve()
      })
    }
    process.on('SIGHUP', onHup)
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
  })
}
