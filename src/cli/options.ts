/**
 * @module cli/options
 * Parsers for option values, failing with a usage error that names the option.
 */
import { InvalidArgumentError } from 'commander'

export function parsePort(value: string): number {
  const port = Number(value)
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('a port is an integer from 0 to 65535 (0 = any free port)')
  return port
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
