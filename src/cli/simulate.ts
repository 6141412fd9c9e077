/**
 * @module cli/simulate
 * `alto simulate SCENARIO`: the simulator (src/sim) from the command line. A table on the
 * terminal, the whole result as JSON with --json, SVG charts and an index.html with --out, a
 * progress bar on stderr when it is a terminal. The same seed gives the same output.
 */
import { InvalidArgumentError, Option, type Command } from 'commander'
import type { CostType } from '../protocol/types.ts'
import { loadNetwork } from '../provisioning/load.ts'
import {
  DEFAULT_POLICIES,
  formatText,
  LIVE_POLICIES,
  parsePolicy,
  runBittorrent,
  runLiveStreaming,
  runServerLoad,
  runTrackerList,
  SCENARIOS,
  writeReport,
  type BittorrentOptions,
  type LivePolicy,
  type Progress,
  type ScenarioResult,
  type SimNetwork,
} from '../sim/index.ts'
import { parsePositiveInteger } from './client-options.ts'
import { EXIT, ExitError } from './exit.ts'
import { addSourceOptions, loadOptionsOf, type SourceFlags } from './options.ts'

interface CommonFlags {
  seed: number
  json?: boolean
  out?: string
}

interface NetworkFlags extends SourceFlags {
  costMetric: string
}

export function registerSimulate(program: Command): void {
  const simulate = program
    .command('simulate')
    .description('Run a simulation of ALTO-guided peer selection with ALTOkit\'s own ranking and tracker code')
    .addHelpText(
      'after',
      `
Scenarios:
${Object.entries(SCENARIOS).map(([name, line]) => `  ${name.padEnd(15)} ${line}`).join('\n')}
  all             every scenario with its defaults (for docs/results)

Every scenario takes --seed N (same seed, same output), --json and --out DIR (SVG charts, the JSON
and an index.html that shows them). Run \`alto simulate SCENARIO --help\` for its options.

Examples:
  alto simulate tracker-list
  alto simulate bittorrent --peers 10000 --out results/
  alto simulate bittorrent --config alto.yaml --policies random,tracker-alto-20 --json
  alto simulate live-streaming --loads 0.5,0.8,0.95 --out results/
  alto simulate server-load --peers 1000000 --max-age 600`,
    )

  common(simulate.command('tracker-list').description(SCENARIOS['tracker-list']))
    .option('--swarm <n>', 'peers in the swarm besides the requester', parsePositiveInteger, 10_000)
    .option('--favourable <n>', 'favourable peers among them (same PID as the requester)', parseCount, 100)
    .option('--list <n>', 'length of the tracker list', parsePositiveInteger, 100)
    .option('--trials <n>', 'Monte Carlo trials', parsePositiveInteger, 20_000)
    .addOption(new Option('--random-fractions <list>', 'tracker-side random shares to compare').argParser(parseFractions).default([0, 0.2], '0,0.2'))
    .option('--connect <n>', 'peers a peer-side client connects to after ranking its list', parsePositiveInteger, 20)
    .action((flags: CommonFlags & { swarm: number; favourable: number; list: number; trials: number; randomFractions: number[]; connect: number }) =>
      run(flags, (progress) =>
        runTrackerList({ swarm: flags.swarm, favourable: flags.favourable, list: flags.list, trials: flags.trials, randomFractions: flags.randomFractions, connect: flags.connect, seed: flags.seed, progress }),
      ),
    )

  network(common(simulate.command('bittorrent').description(SCENARIOS.bittorrent)))
    .option('--peers <n>', 'peers besides the super-seed', parsePositiveInteger, 1000)
    .addOption(new Option('--policies <list>', 'comma-separated: random, peer-alto[-PCT], tracker-alto[-PCT]').argParser(parsePolicies).default([...DEFAULT_POLICIES], DEFAULT_POLICIES.join(',')))
    .option('--file-size <MiB>', 'size of the shared file', parsePositive, 16)
    .option('--piece-size <KiB>', 'piece size', parsePositive, 256)
    .option('--numwant <n>', 'peers a peer connects to per announce', parsePositiveInteger, 20)
    .option('--tracker-list <n>', 'random list a peer-side ALTO client ranks', parsePositiveInteger, 50)
    .option('--arrival <s>', 'peers join within this many seconds', parseNonNegative, 60)
    .option('--max-time <s>', 'simulated time limit', parsePositive, 7200)
    .option('--super-seed-upload <kbit/s>', 'upload capacity of the super-seed', parsePositive, 10_000)
    .option('--pid-uplink <kbit/s>', 'capacity of each PID\'s links to other PIDs (0: unlimited)', parseNonNegative, 0)
    .option('--isp-pattern <regex>', 'first capture group of this pattern on a PID name names its ISP', '^([^-]+)-')
    .option('--workers <n>', 'worker threads for the policies (0: none; default: 2 or more for 2,000 peers or more)', parseCount)
    .addHelpText('after', '\nPeer classes follow seed 000 Table 1: 20% 128/784, 40% 384/1500, 25% 1000/3000, 15% 5000/10000 kbit/s up/down.')
    .action(
      (
        flags: CommonFlags &
          NetworkFlags &
          Required<Pick<BittorrentOptions, 'peers' | 'numwant' | 'trackerList' | 'arrival' | 'maxTime' | 'superSeedUpload' | 'pidUplink' | 'ispPattern'>> &
          Pick<BittorrentOptions, 'workers'> & {
            policies: string[]
            /** MiB. */
            fileSize: number
            /** KiB. */
            pieceSize: number
          },
      ) =>
        run(flags, (progress) =>
          runBittorrent({
            network: networkOf(flags),
            peers: flags.peers,
            policies: flags.policies,
            fileSize: Math.round(flags.fileSize * 2 ** 20),
            pieceSize: Math.round(flags.pieceSize * 2 ** 10),
            numwant: flags.numwant,
            trackerList: flags.trackerList,
            arrival: flags.arrival,
            maxTime: flags.maxTime,
            superSeedUpload: flags.superSeedUpload,
            pidUplink: flags.pidUplink,
            ispPattern: checkPattern(flags.ispPattern),
            ...(flags.workers === undefined ? {} : { workers: flags.workers }),
            seed: flags.seed,
            progress,
          }),
        ),
    )

  common(simulate.command('live-streaming').description(SCENARIOS['live-streaming']))
    .option('--peers <n>', 'viewers', parsePositiveInteger, 1000)
    .option('--ases <n>', 'autonomous systems', parsePositiveInteger, 100)
    .option('--as-skew <s>', 'Zipf exponent of AS sizes (0: equal)', parseNonNegative, 1)
    .option('--rate <kbit/s>', 'stream rate', parsePositive, 1000)
    .option('--chunk-ms <ms>', 'chunk length in ms of stream', parsePositive, 200)
    .option('--duration <s>', 'seconds of stream', parsePositive, 40)
    .option('--deadline <s>', 'playout deadline: later chunks are missed', parsePositive, 10)
    .option('--neighbours <n>', 'neighbours each peer picks', parsePositiveInteger, 10)
    .option('--candidates <n>', 'tracker list a peer picks them from', parsePositiveInteger, 100)
    .addOption(new Option('--loads <list>', 'loads (stream rate / mean upload)').argParser(parsePositives).default([0.5, 0.9], '0.5,0.9'))
    .option('--link-factor <f>', 'AS egress capacity as a share of its peers\' upload', parsePositive, 1)
    .addOption(new Option('--policies <list>', 'comma-separated, from the default').argParser(parseLivePolicies).default([...LIVE_POLICIES], LIVE_POLICIES.join(',')))
    .action(
      (
        flags: CommonFlags & {
          peers: number
          ases: number
          asSkew: number
          rate: number
          chunkMs: number
          duration: number
          deadline: number
          neighbours: number
          candidates: number
          loads: number[]
          linkFactor: number
          policies: LivePolicy[]
        },
      ) =>
        run(flags, (progress) =>
          runLiveStreaming({
            peers: flags.peers,
            ases: flags.ases,
            asSkew: flags.asSkew,
            rate: flags.rate,
            chunkMs: flags.chunkMs,
            duration: flags.duration,
            deadline: flags.deadline,
            neighbours: flags.neighbours,
            candidates: flags.candidates,
            loads: flags.loads,
            linkFactor: flags.linkFactor,
            policies: flags.policies,
            seed: flags.seed,
            progress,
          }),
        ),
    )

  network(common(simulate.command('server-load').description(SCENARIOS['server-load'])))
    .option('--peers <n>', 'peers present at any time', parsePositiveInteger, 10_000)
    .option('--swarms <n>', 'swarms (Zipf popularity)', parsePositiveInteger, 100)
    .option('--epoch <s>', 'epoch length', parsePositive, 30)
    .option('--duration <s>', 'simulated time', parsePositive, 1800)
    .option('--max-age <s>', 'Cache-Control max-age of the maps', parseNonNegative, 60)
    .option('--map-changes-per-hour <n>', 'new map versions per hour', parseNonNegative, 2)
    .option('--session <s>', 'mean session length (a leaving peer is replaced)', parsePositive, 1200)
    .option('--trackers <n>', 'trackers with their own guidance provider', parseCount, 1)
    .option('--candidates <n>', 'candidates per endpoint cost query', parsePositiveInteger, 50)
    .option('--server-capacity <req/s>', 'requests per second one server sustains (seed 000 §4.2.1)', parsePositive, 1000)
    .action(
      (
        flags: CommonFlags &
          NetworkFlags & { peers: number; swarms: number; epoch: number; duration: number; maxAge: number; mapChangesPerHour: number; session: number; trackers: number; candidates: number; serverCapacity: number },
      ) =>
        run(flags, (progress) =>
          runServerLoad({
            network: networkOf(flags),
            peers: flags.peers,
            swarms: flags.swarms,
            epoch: flags.epoch,
            duration: Math.round(flags.duration),
            maxAge: flags.maxAge,
            mapChangesPerHour: flags.mapChangesPerHour,
            session: flags.session,
            trackers: flags.trackers,
            candidates: flags.candidates,
            serverCapacity: flags.serverCapacity,
            seed: flags.seed,
            progress,
          }),
        ),
    )

  network(common(simulate.command('all').description('every scenario with its defaults (the network options apply to bittorrent and server-load)'))).action(
    async (flags: CommonFlags & NetworkFlags) => {
      const net = networkOf(flags)
      const runs: [string, (progress: Progress) => ScenarioResult | Promise<ScenarioResult>][] = [
        ['tracker-list', (progress) => runTrackerList({ seed: flags.seed, progress })],
        ['bittorrent', (progress) => runBittorrent({ network: net, seed: flags.seed, progress })],
        ['live-streaming', (progress) => runLiveStreaming({ seed: flags.seed, progress })],
        ['server-load', (progress) => runServerLoad({ network: net, seed: flags.seed, progress })],
      ]
      const results: ScenarioResult[] = []
      for (const [name, scenario] of runs) results.push(await measured(name, scenario))
      emit(flags, results)
    },
  )
}

function common(command: Command): Command {
  return command
    .option('--seed <n>', 'seed of every random choice (same seed, same result)', parseSeed, 1)
    .option('--json', 'print the whole result as JSON')
    .option('--out <dir>', 'write SVG charts, <scenario>.json and index.html into this folder')
}

function network(command: Command): Command {
  return addSourceOptions(command).option('--cost-metric <metric>', 'numerical cost map to use as guidance (and to weigh traffic)', 'routingcost')
}

/** The default network map of the loaded network, with its numerical cost map of the chosen metric. */
function networkOf(flags: NetworkFlags): SimNetwork {
  const { snapshot, source } = loadNetwork(loadOptionsOf(flags))
  const networkMap = snapshot.defaultNetworkMap
  const type: CostType = { 'cost-mode': 'numerical', 'cost-metric': flags.costMetric }
  const served = snapshot.findCostMap(networkMap.resourceId, type)
  if (!served) throw new ExitError(EXIT.usage, `no numerical ${flags.costMetric} cost map on network map ${networkMap.resourceId} (${source}); see --cost-metric`)
  return { networkMap, costMap: served.map, source }
}

async function run(flags: CommonFlags, scenario: (progress: Progress) => ScenarioResult | Promise<ScenarioResult>): Promise<void> {
  emit(flags, [await measured(undefined, scenario)])
}

/** Run with a progress bar on a terminal; report the wall time on stderr (never in the result). */
async function measured(name: string | undefined, scenario: (progress: Progress) => ScenarioResult | Promise<ScenarioResult>): Promise<ScenarioResult> {
  const bar = progressBar(name)
  const started = performance.now()
  let result: ScenarioResult
  try {
    result = await scenario(bar.update)
  } catch (error) {
    bar.clear()
    if (error instanceof RangeError) throw new ExitError(EXIT.usage, error.message)
    throw error
  }
  bar.clear()
  process.stderr.write(`${result.scenario}: ${((performance.now() - started) / 1000).toFixed(1)} s\n`)
  return result
}

function emit(flags: CommonFlags, results: ScenarioResult[]): void {
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(results.length === 1 ? results[0] : results, null, 2)}\n`)
  } else {
    process.stdout.write(results.map(formatText).join('\n'))
  }
  if (flags.out) {
    const files = writeReport(flags.out, results)
    process.stderr.write(`wrote ${files.length} files to ${flags.out} (open ${flags.out.replace(/\/$/, '')}/index.html)\n`)
  }
}

/** A one-line bar on stderr, redrawn at most ten times a second, only when stderr is a terminal. */
function progressBar(name: string | undefined): { update: Progress; clear(): void } {
  const tty = process.stderr.isTTY === true
  let last = 0
  let drawn = false
  return {
    update(done, label) {
      if (!tty) return
      const now = performance.now()
      if (now - last < 100 && done < 1) return
      last = now
      const width = 30
      const filled = Math.round(Math.min(1, Math.max(0, done)) * width)
      const text = `${name ? `${name} ` : ''}[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(done * 100)}%${label ? ` ${label}` : ''}`
      process.stderr.write(`\r${text.slice(0, (process.stderr.columns ?? 80) - 1).padEnd(Math.min(79, (process.stderr.columns ?? 80) - 1))}`)
      drawn = true
    },
    clear() {
      if (tty && drawn) process.stderr.write('\r\x1b[2K')
    },
  }
}

function parseSeed(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 0xffffffff) throw new InvalidArgumentError('an integer from 0 to 4294967295')
  return Number(value)
}

function parseCount(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected an integer >= 0')
  return Number(value)
}

function parsePositive(value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number > 0')
  return n
}

function parseNonNegative(value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number >= 0')
  return n
}

function parseFractions(value: string): number[] {
  const list = value.split(',').map((s) => Number(s.trim()))
  if (list.length === 0 || list.some((f) => !(f >= 0 && f <= 1))) throw new InvalidArgumentError('comma-separated fractions from 0 to 1, e.g. 0,0.2')
  return list
}

function parsePositives(value: string): number[] {
  return value.split(',').map((s) => parsePositive(s.trim()))
}

function parsePolicies(value: string): string[] {
  const list = value.split(',').map((s) => s.trim()).filter((s) => s !== '')
  try {
    for (const id of list) parsePolicy(id)
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message)
  }
  if (list.length === 0) throw new InvalidArgumentError('give at least one policy')
  return list
}

function parseLivePolicies(value: string): LivePolicy[] {
  const list = value.split(',').map((s) => s.trim()).filter((s) => s !== '')
  const unknown = list.filter((p) => !(LIVE_POLICIES as readonly string[]).includes(p))
  if (unknown.length > 0 || list.length === 0) throw new InvalidArgumentError(`comma-separated, from: ${LIVE_POLICIES.join(', ')}`)
  return list as LivePolicy[]
}

function checkPattern(pattern: string): string {
  try {
    new RegExp(pattern)
  } catch (error) {
    throw new ExitError(EXIT.usage, `--isp-pattern: ${(error as Error).message}`)
  }
  return pattern
}
