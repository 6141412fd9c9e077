/**
 * @module cli/rank
 * `alto rank`: rank candidate peers for a peer at `--self`, best first, with the library's
 * rankPeers (map mode: local ranking from cached maps; ecs mode: one endpoint cost query). ALTO is
 * advisory: without guidance the candidates are still printed, in random order, with a warning
 * on stderr and exit status 0 (1 with --strict).
 */
import { InvalidArgumentError, Option, type Command } from 'commander'
import type { RankedPeer, RankPeersOptions } from '../client/rank-peers.ts'
import { seededRng } from '../cost/rank.ts'
import {
  addClientOptions,
  addCostTypeOptions,
  connect,
  costTypeOf,
  parseAddresses,
  parsePositiveInteger,
  type ClientFlags,
  type CostTypeFlags,
} from './client-options.ts'
import { EXIT, ExitError } from './exit.ts'

interface RankFlags extends ClientFlags, CostTypeFlags {
  self: string
  mode: 'map' | 'ecs'
  randomFraction?: number
  networkMap?: string
  limit?: number
  seed?: number
  json?: boolean
  strict?: boolean
}

export function registerRank(program: Command): void {
  addCostTypeOptions(addClientOptions(program.command('rank').description('Rank candidate peers for a peer at --self, best first, with ALTO guidance')))
    .argument('<candidates...>', 'candidate peers: 192.0.2.1, 192.0.2.1:6881, 2001:db8::1, [2001:db8::1]:6881 or ipv4:192.0.2.1')
    .requiredOption('--self <address>', 'the address of the peer that asks (the source of the costs)')
    .addOption(new Option('--mode <mode>', 'map: rank locally from the network and cost maps; ecs: ask the endpoint cost service').choices(['map', 'ecs']).default('map'))
    .option('--random-fraction <f>', 'share of places given to random lower-ranked candidates, against over-localization (0 to 1)', parseFraction, 0.2)
    .option('--network-map <id>', 'network map to rank on (default: the IRD\'s default)')
    .option('--limit <n>', 'print at most this many', parsePositiveInteger)
    .option('--seed <n>', 'seed the randomness (tie order, random picks) for a reproducible ranking', parseSeed)
    .option('--json', 'print [{"peer","address","port","pid","cost","random"}, …] best first')
    .option('--strict', 'exit 1 when ALTO guidance was not available (the default is a warning and exit 0)')
    .addHelpText(
      'after',
      `
Default cost type: numerical routingcost. Marked * in the table: placed at random, not by cost.
Without guidance (server unreachable, no such cost type…) the candidates are printed in random
order with a warning on stderr; the exit status is 0 because ALTO is advisory, 1 with --strict.

Examples:
  alto rank --server http://127.0.0.1:8181/ --self 10.1.2.3 10.2.0.9:6881 10.7.0.9:6881 203.0.113.7:6881
  alto rank --server http://127.0.0.1:8181/ --self 10.1.2.3 --mode ecs --random-fraction 0 --json 10.2.0.9 10.7.0.9`,
    )
    .action((candidates: string[], flags: RankFlags) => rank(candidates, flags))
}

async function rank(candidates: string[], flags: RankFlags): Promise<void> {
  // Bad addresses are bad input (exit 2), found before any request is sent.
  parseAddresses([flags.self], '--self', { ports: true })
  parseAddresses(candidates, 'candidate', { ports: true })
  const options: RankPeersOptions = { mode: flags.mode }
  const costType = costTypeOf(flags)
  if (costType !== undefined) options.costType = costType
  if (flags.networkMap !== undefined) options.networkMap = flags.networkMap
  if (flags.randomFraction !== undefined) options.randomFraction = flags.randomFraction
  if (flags.limit !== undefined) options.limit = flags.limit
  if (flags.seed !== undefined) options.rng = seededRng(flags.seed)

  const connection = connect(flags)
  let ranking
  try {
    ranking = await connection.client.rankPeers(flags.self, candidates, options)
  } finally {
    await connection.close()
  }

  if (flags.json) {
    const rows = ranking.peers.map((p) => ({ peer: p.peer, address: p.address, port: p.port ?? null, pid: p.pid ?? null, cost: p.cost, random: p.random }))
    process.stdout.write(`${JSON.stringify(rows)}\n`)
  } else {
    const where = ranking.selfPid === undefined ? '' : ` in ${ranking.selfPid}`
    process.stdout.write(`self ${flags.self}${where}, ${ranking.mode} mode\n${table(ranking.peers)}`)
  }
  if (!ranking.guided) {
    const message = `no ALTO guidance (${ranking.reason ?? 'unknown reason'}); candidates are in random order`
    if (flags.strict) throw new ExitError(EXIT.failed, message)
    process.stderr.write(`alto: warning: ${message}\n`)
  }
}

function table(peers: readonly RankedPeer[]): string {
  const rows = [
    ['#', 'PEER', 'PID', 'COST', ''],
    ...peers.map((p, i) => [String(i + 1), p.peer, p.pid ?? '-', p.cost === null ? '-' : String(p.cost), p.random ? '*' : '']),
  ]
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)))
  const lines = rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd())
  if (peers.some((p) => p.random)) lines.push('* placed at random, not by cost (against over-localization)')
  return `${lines.join('\n')}\n`
}

function parseFraction(value: string): number {
  const fraction = Number(value)
  if (value.trim() === '' || !(fraction >= 0 && fraction <= 1)) throw new InvalidArgumentError('a fraction from 0 to 1, e.g. 0.2')
  return fraction
}

function parseSeed(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 0xffffffff) throw new InvalidArgumentError('an integer from 0 to 4294967295')
  return Number(value)
}
