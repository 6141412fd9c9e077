/**
 * @module cli/client-options
 * What the client commands (`query`, `rank`) share: where the ALTO server is and how to reach it
 * (--server, --ca, --user, --timeout), the cost type options, value parsers that fail as usage
 * errors, and JSON printing.
 */
import { readFileSync } from 'node:fs'
import { InvalidArgumentError, Option, type Command } from 'commander'
import { Agent } from 'undici'
import { AltoClient } from '../client/client.ts'
import { parsePeerAddress, type PeerAddress } from '../client/peer-address.ts'
import type { TransportOptions } from '../client/transport.ts'
import { COST_MODES } from '../protocol/cost-types.ts'
import type { CostMode, CostType } from '../protocol/types.ts'
import { EXIT, ExitError } from './exit.ts'

/** The connection flags, after commander has parsed them. */
export interface ClientFlags {
  server: string
  ca?: string
  user?: string
  timeout?: number
}

/** A client to one server, on a connection pool of its own. */
export interface Connection {
  client: AltoClient
  close(): Promise<void>
}

const DEFAULT_TIMEOUT_MS = 10_000

export function addClientOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--server <url>', 'URI of the ALTO server\'s IRD, e.g. http://127.0.0.1:8181/')
        .env('ALTO_SERVER')
        .argParser(parseServerUrl)
        .makeOptionMandatory(),
    )
    .option('--ca <file>', 'PEM file with the CA certificate(s) to trust for HTTPS, e.g. an ISP\'s private CA')
    .addOption(
      new Option('--user <name[:password]>', 'HTTP Basic credentials; without ":password" the password is read from $ALTO_PASSWORD').env('ALTO_USER'),
    )
    .option('--timeout <ms>', `time allowed to connect, for the answer's headers and between body chunks (default ${DEFAULT_TIMEOUT_MS})`, parsePositiveInteger)
}

export function addCostTypeOptions(command: Command): Command {
  return command
    .addOption(new Option('--cost-type <name>', 'cost type by its IRD name, e.g. num-routingcost, ord-routingcost').conflicts(['costMode', 'costMetric']))
    .addOption(new Option('--cost-mode <mode>', 'cost mode (with --cost-metric; default numerical)').choices(COST_MODES))
    .option('--cost-metric <metric>', 'cost metric, e.g. routingcost, hopcount (with --cost-mode; default routingcost)')
}

export interface CostTypeFlags {
  costType?: string
  costMode?: CostMode
  costMetric?: string
}

/** The cost type the flags name: an IRD name, a mode/metric pair, or undefined when none given. */
export function costTypeOf(flags: CostTypeFlags): string | CostType | undefined {
  if (flags.costType !== undefined) return flags.costType
  if (flags.costMode === undefined && flags.costMetric === undefined) return undefined
  return { 'cost-mode': flags.costMode ?? 'numerical', 'cost-metric': flags.costMetric ?? 'routingcost' }
}

/**
 * Open a connection as the flags say. Credentials: `--user NAME:PASSWORD`, or `--user NAME` (or
 * $ALTO_USER) with the password in $ALTO_PASSWORD, so that it need not be on the command line.
 */
export function connect(flags: ClientFlags, env: NodeJS.ProcessEnv = process.env): Connection {
  const timeoutMs = flags.timeout ?? DEFAULT_TIMEOUT_MS
  const ca = flags.ca === undefined ? undefined : readCa(flags.ca)
  const options: TransportOptions = { timeoutMs }
  const credentials = credentialsOf(flags.user, env)
  if (credentials) options.credentials = credentials
  // Our own agent: --timeout also bounds connecting, and closing it lets the process exit at once.
  const agent = new Agent({ connect: { timeout: timeoutMs, ...(ca === undefined ? {} : { ca }) } })
  options.dispatcher = agent
  const client = new AltoClient(flags.server, options)
  return {
    client,
    async close() {
      await client.close()
      await agent.close()
    },
  }
}

export function credentialsOf(user: string | undefined, env: NodeJS.ProcessEnv): { username: string; password: string } | undefined {
  if (user === undefined || user === '') return undefined
  const colon = user.indexOf(':')
  const username = colon < 0 ? user : user.slice(0, colon)
  const password = colon < 0 ? env.ALTO_PASSWORD : user.slice(colon + 1)
  if (username === '') throw new ExitError(EXIT.usage, '--user needs a user name: --user NAME or --user NAME:PASSWORD')
  if (password === undefined) throw new ExitError(EXIT.usage, `no password for user ${username}: set ALTO_PASSWORD or give --user NAME:PASSWORD`)
  return { username, password }
}

function readCa(file: string): string {
  let pem: string
  try {
    pem = readFileSync(file, 'utf8')
  } catch (error) {
    throw new ExitError(EXIT.usage, `cannot read --ca ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ExitError(EXIT.usage, `--ca ${file} holds no PEM certificate`)
  return pem
}

export function parseServerUrl(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidArgumentError('give the IRD URI, e.g. http://127.0.0.1:8181/')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('the IRD URI must be http:// or https://')
  return url.href
}

export function parsePositiveInteger(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('expected a positive integer')
  return Number(value)
}

/** `a,b` -> [a, b]; a repeated option adds to the list; an empty value is an empty list. */
export function parseList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter((s) => s !== '')]
}

/** Parse addresses given on the command line; a bad one is a usage error naming the option. */
export function parseAddresses(inputs: readonly string[], option: string, { ports }: { ports: boolean }): PeerAddress[] {
  return inputs.map((input) => {
    const parsed = parsePeerAddress(input)
    if (!parsed) throw new ExitError(EXIT.usage, `${option}: not an IPv4 or IPv6 address: ${JSON.stringify(input)}`)
    if (!ports && parsed.port !== undefined) throw new ExitError(EXIT.usage, `${option}: an endpoint address has no port: ${JSON.stringify(input)}`)
    return parsed
  })
}

/** Compact JSON on one line when asked (--json) or when stdout is not a terminal; else indented. */
export function printJson(value: unknown, compact: boolean): void {
  process.stdout.write(`${compact ? JSON.stringify(value) : JSON.stringify(value, null, 2)}\n`)
}

export function compactOutput(flags: { json?: boolean }): boolean {
  return flags.json === true || !process.stdout.isTTY
}
