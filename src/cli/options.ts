/**
 * @module cli/options
 * Parsers for option values, failing with a usage error that names the option.
 */
import { InvalidArgumentError, type Command } from 'commander'
import type { LoadOptions } from '../provisioning/load.ts'

export function parsePort(value: string): number {
  const port = Number(value)
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('a port is an integer from 0 to 65535 (0 = any free port)')
  return port
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** The options that say where the network comes from, shared by `serve` and `check`. */
export interface SourceFlags {
  config?: string
  networkMap?: string[]
  costMap?: string[]
}

export function addSourceOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'YAML config file (see docs/config.md); `alto init` writes one')
    .option('--network-map <file>', 'RFC 7285 network map JSON body; repeat for several maps', collect)
    .option('--cost-map <file>', 'RFC 7285 cost map JSON body (numerical); repeat for several', collect)
}

export function loadOptionsOf(flags: SourceFlags): LoadOptions {
  const options: LoadOptions = {}
  if (flags.config) options.config = flags.config
  if (flags.networkMap) options.networkMaps = flags.networkMap
  if (flags.costMap) options.costMaps = flags.costMap
  return options
}
