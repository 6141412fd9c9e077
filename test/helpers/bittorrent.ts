/**
 * @module
 * A lab for integration tests with real BitTorrent programs from Debian on loopback: a seeded payload,
 * `mktorrent`, `opentracker`, and the clients `aria2c`, `transmission-cli` and `ctorrent`, each bound to
 * its own 127.x.y.z source address (Linux routes all of 127/8 to `lo`) with DHT bootstrap, LPD, PEX and
 * UPnP/NAT-PMP off, so nothing leaves loopback.
 *
 * Every process runs in its own process group under `timeout(1)` (a lifetime cap that still holds if
 * the test runner itself is killed) and is stopped when the test ends, pass or fail; the lab directory
 * is then removed (set `ALTOKIT_KEEP_LAB=1` to keep it for a post-mortem).
 *
 * Who can feed whom, measured here (3 MiB, one seeder, one leecher, opentracker over http://):
 *
 * | seeder ↓ / leecher → | aria2 | transmission | ctorrent |
 * |---|---|---|---|
 * | aria2        | 2 s   | 15–17 s | 3 s |
 * | transmission | 14 s  | never   | 30 s or more |
 * | ctorrent     | never | 26 s    | <1 s |
 *
 * - Transmission 3.00 never dials 127/8 addresses ("martian" in its `tr_address_is_valid_for_peers`):
 *   it only accepts connections, so it needs a peer that learns of it from a later announce (hence
 *   aria2's short default `announceInterval`), and two Transmissions never meet. It then waits for its
 *   10-second rechoke pulse before it asks for pieces.
 * - ctorrent drops aria2's connections: aria2 sends a second `bitfield` mid-connection, which ctorrent
 *   treats as a protocol error ("close: receive"). Use aria2 as the seeder.
 *
 * @example
 * const lab = await createLab(t)
 * const payload = await lab.payload({ size: 3 * 1024 * 1024 })
 * const port = await freePort()
 * const torrent = await lab.torrent(payload, { announce: `http://127.0.0.1:${port}/announce` })
 * await lab.opentracker({ port, infoHashes: [torrent.infoHash] })
 * await (await lab.aria2(torrent, { address: '127.1.0.10', role: 'seeder' })).listening()
 * const leecher = await lab.transmission(torrent, { address: '127.3.0.10' })
 * await leecher.done()
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createCipheriv, createHash } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { createReadStream } from 'node:fs'
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export type ClientKind = 'aria2' | 'transmission' | 'ctorrent'
export type Role = 'seeder' | 'leecher'
/** How the `timeout(1)` wrapper ended: the client's own status, or code 124 when the lifetime cap ran out. */
export interface ExitStatus { code: number | null; signal: NodeJS.Signals | null }

/** Anything with node:test's `t.after`, where the lab registers its teardown. */
export interface TeardownHost { after(fn: () => unknown): void }

export interface LabOptions {
  /** Upper bound on each process's lifetime, enforced by `timeout(1)` outside this process. @default 300_000 */
  lifetimeMs?: number
  /** Keep the lab directory after teardown. @default process.env.ALTOKIT_KEEP_LAB === '1' */
  keep?: boolean
}

export interface PayloadOptions {
  /** @default 3 MiB */
  size?: number
  /** The same seed gives the same bytes. @default 1 */
  seed?: number
  /** File name, which is also the torrent's name. @default 'payload.bin' */
  name?: string
}

export interface Payload { path: string; name: string; size: number; sha1: string }

export interface TorrentOptions {
  /** Announce URLs, http:// or udp://; each element is its own tier (comma-join URLs to share a tier). */
  announce: string | readonly string[]
  /** log2 of the piece length, mktorrent `-l`. @default 16 (64 KiB: 48 pieces for 3 MiB) */
  pieceLength?: number
  /** Set the private flag (BEP 27). Note aria2 then turns DHT off, and so cannot use udp:// trackers. @default false */
  private?: boolean
}

export interface Torrent { path: string; infoHash: string; announce: readonly string[]; payload: Payload }

export interface ClientOptions {
  /** Source and listen address: the tracker sees it, peers connect to it. @example '127.2.0.10' */
  address: string
  /** A seeder starts from a copy of the payload and verifies it; a leecher starts empty. @default 'leecher' */
  role?: Role
  /** TCP port, also the UDP port where the client uses one (aria2 DHT, Transmission). @default await freePort(address) */
  port?: number
  /** A leecher keeps seeding after completion until stopped, instead of exiting. Seeders always do. @default false */
  keepSeeding?: boolean
  /**
   * Seconds between announces, aria2 only (`--bt-tracker-interval`, which overrides the tracker's
   * interval); the others obey the tracker. Short by default because Transmission 3.00 never dials
   * 127/8 peers (they are "martian" to it): it only gets data from peers that learn of it by announcing
   * after it did, and opentracker's interval is about 30 minutes. `0`: obey the tracker. @default 3
   */
  announceInterval?: number
  /** Upload cap in KiB/s, e.g. to make leechers fetch from several peers. @default unlimited */
  uploadLimitKiB?: number
  /** Label for the client's directory and for diagnostics; unique within the lab. @default `${kind}-${address}-${n}` */
  name?: string
  /** Extra command-line arguments, appended last (aria2, ctorrent) or before the torrent (transmission). */
  args?: readonly string[]
  /** Transmission only: entries merged over the lab's settings.json. */
  settings?: Record<string, unknown>
}

export interface ClientHandle {
  readonly kind: ClientKind
  readonly name: string
  readonly role: Role
  readonly address: string
  readonly port: number
  /** `address:port`, as a tracker lists it. */
  readonly endpoint: string
  /** Where the client keeps (or builds) the payload file. */
  readonly dataPath: string
  /** The `timeout(1)` wrapper, leader of the client's process group. */
  readonly process: ChildProcess
  readonly exited: Promise<ExitStatus>
  /** stdout and stderr interleaved (the last 256 KiB), repeated lines such as progress collapsed. */
  output(): string
  /** Resolves once `dataPath` has the payload's size and SHA-1; rejects on timeout or on an early exit. */
  done(timeoutMs?: number): Promise<void>
  /** Resolves once the listen port accepts a TCP connection. */
  listening(timeoutMs?: number): Promise<void>
  /** SIGTERM, then SIGKILL to the whole group after `graceMs`. Idempotent. */
  stop(graceMs?: number): Promise<ExitStatus>
}

export interface OpentrackerOptions {
  /** @default '127.0.0.1' */
  host?: string
  /** HTTP and UDP port. @default await freePort(host) */
  port?: number
  /** Info hashes (hex) to allow: Debian's opentracker is a whitelist build and refuses all others. */
  infoHashes: readonly string[]
}

export interface TrackerHandle {
  readonly host: string
  readonly port: number
  readonly httpAnnounce: string
  readonly udpAnnounce: string
  readonly process: ChildProcess
  readonly exited: Promise<ExitStatus>
  output(): string
  stop(graceMs?: number): Promise<ExitStatus>
}

const MiB = 1024 * 1024
const OUTPUT_CAP = 256 * 1024
const PROGRAMS = ['aria2c', 'transmission-cli', 'ctorrent', 'mktorrent', 'opentracker', 'timeout', 'stdbuf']

/** Create a lab in a fresh temporary directory; its teardown is registered on `t.after`. */
export async function createLab(t: TeardownHost, options: LabOptions = {}): Promise<Lab> {
  const lab = new Lab(await mkdtemp(join(tmpdir(), 'altokit-bt-')), options)
  t.after(() => lab.close())
  return lab
}

export class Lab {
  readonly dir: string
  readonly #lifetimeMs: number
  readonly #keep: boolean
  readonly #processes: LabProcess[] = []
  #count = 0
  #closed = false

  constructor(dir: string, options: LabOptions = {}) {
    this.dir = dir
    this.#lifetimeMs = options.lifetimeMs ?? 300_000
    this.#keep = options.keep ?? process.env.ALTOKIT_KEEP_LAB === '1'
  }

  /** Write a pseudo-random file (AES-128-CTR keystream keyed by the seed). */
  async payload({ size = 3 * MiB, seed = 1, name = 'payload.bin' }: PayloadOptions = {}): Promise<Payload> {
    const key = createHash('sha256').update(`altokit-lab-payload:${seed}`).digest().subarray(0, 16)
    const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16))
    const bytes = Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()])
    const dir = await this.#mkdir(`payload-${++this.#count}`)
    const path = join(dir, name)
    await writeFile(path, bytes)
    return { path, name, size, sha1: createHash('sha1').update(bytes).digest('hex') }
  }

  /** Make a single-file .torrent with mktorrent. */
  async torrent(payload: Payload, options: TorrentOptions): Promise<Torrent> {
    const announce = typeof options.announce === 'string' ? [options.announce] : [...options.announce]
    if (announce.length === 0) throw new Error('lab.torrent: at least one announce URL is needed')
    const path = join(this.dir, `torrent-${++this.#count}.torrent`)
    const args = ['-l', String(options.pieceLength ?? 16), '-o', path, ...announce.flatMap((url) => ['-a', url])]
    if (options.private) args.push('-p')
    await run('mktorrent', [...args, payload.path])
    return { path, infoHash: infoHashOf(await readFile(path)), announce, payload }
  }

  /** Start opentracker (HTTP and UDP on one port) and wait until it accepts the first info hash. */
  async opentracker(options: OpentrackerOptions): Promise<TrackerHandle> {
    const host = options.host ?? '127.0.0.1'
    const port = options.port ?? await freePort(host)
    // Started as root it chroots to -d and drops to `nobody`, so the directory and the whitelist must be
    // world-readable and the whitelist named relative to the chroot (it is re-read from there).
    const dir = await this.#mkdir(`opentracker-${++this.#count}`)
    await chmod(dir, 0o755)
    await writeFile(join(dir, 'whitelist.txt'), options.infoHashes.map((h) => `${h}\n`).join(''), { mode: 0o644 })
    const proc = this.#spawn(`opentracker-${port}`, 'opentracker',
      ['-i', host, '-p', String(port), '-P', String(port), '-d', dir, '-w', 'whitelist.txt'], dir)
    const httpAnnounce = `http://${host}:${port}/announce`
    await probeOpentracker(httpAnnounce, options.infoHashes[0], proc)
    return {
      host, port, httpAnnounce, udpAnnounce: `udp://${host}:${port}`,
      process: proc.child, exited: proc.exited, output: () => proc.output(), stop: (graceMs) => proc.stop(graceMs),
    }
  }

  /**
   * Start a client of `kind` on `options.address` in a directory of its own, `<lab>/<name>/`, with the
   * payload copied into `data/` for a seeder. The handle is returned as soon as the process is spawned.
   */
  start(kind: ClientKind, torrent: Torrent, options: ClientOptions): Promise<ClientHandle> {
    return this.#client(kind, torrent, options)
  }

  /** `start('aria2', …)`: http:// and udp:// trackers (DHT is switched on, locally, for udp://). */
  aria2(torrent: Torrent, options: ClientOptions): Promise<ClientHandle> { return this.#client('aria2', torrent, options) }
  /** `start('transmission', …)`: http:// and udp:// trackers; never dials loopback peers (see above). */
  transmission(torrent: Torrent, options: ClientOptions): Promise<ClientHandle> { return this.#client('transmission', torrent, options) }
  /** `start('ctorrent', …)`: http:// trackers only. */
  ctorrent(torrent: Torrent, options: ClientOptions): Promise<ClientHandle> { return this.#client('ctorrent', torrent, options) }

  /** The output of every process started so far, for a failure message. */
  diagnostics(): string {
    return this.#processes.map((p) => `--- ${p.name} (${p.status ? JSON.stringify(p.status) : 'running'})\n${tail(p.output(), 4000)}`).join('\n')
  }

  /** Stop every process (in parallel, bounded), then remove the lab directory. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.all(this.#processes.map((p) => p.stop(3000)))
    if (!this.#keep) await rm(this.dir, { recursive: true, force: true })
  }

  async #client(kind: ClientKind, torrent: Torrent, options: ClientOptions): Promise<ClientHandle> {
    if (!/^127\.\d+\.\d+\.\d+$/.test(options.address)) throw new Error(`not a loopback IPv4 address: ${options.address}`)
    const role = options.role ?? 'leecher'
    const port = options.port ?? await freePort(options.address)
    const name = options.name ?? `${kind}-${options.address}-${++this.#count}`
    const home = await this.#mkdir(name)
    const data = await this.#mkdir(join(name, 'data'))
    const dataPath = join(data, torrent.payload.name)
    if (role === 'seeder') await copyFile(torrent.payload.path, dataPath)
    // A private copy: ctorrent writes its bitfield file next to the .torrent.
    const torrentPath = join(home, 'client.torrent')
    await copyFile(torrent.path, torrentPath)
    const spec = { ...options, role, port, home, data, torrentPath, torrent, seeding: role === 'seeder' || options.keepSeeding === true }
    const [command, args, cwd] = kind === 'aria2' ? aria2Command(spec)
      : kind === 'transmission' ? await transmissionCommand(spec)
        : ctorrentCommand(spec)
    const proc = this.#spawn(name, command, args, cwd)
    const payload = torrent.payload
    return {
      kind, name, role, address: options.address, port, endpoint: `${options.address}:${port}`, dataPath,
      process: proc.child, exited: proc.exited,
      output: () => proc.output(),
      stop: (graceMs) => proc.stop(graceMs),
      done: (timeoutMs = 60_000) => waitUntil(`${name}: file complete`, timeoutMs, proc, () => fileMatches(dataPath, payload)),
      listening: (timeoutMs = 15_000) => waitUntil(`${name}: listening on ${options.address}:${port}`, timeoutMs, proc, () => accepts(options.address, port)),
    }
  }

  async #mkdir(relative: string): Promise<string> {
    const path = join(this.dir, relative)
    await mkdir(path, { recursive: true })
    return path
  }

  #spawn(name: string, command: string, args: readonly string[], cwd: string): LabProcess {
    if (this.#closed) throw new Error(`lab is closed; not starting ${name}`)
    const proc = new LabProcess(name, command, args, cwd, this.#lifetimeMs)
    this.#processes.push(proc)
    return proc
  }
}

interface CommandSpec extends ClientOptions {
  role: Role; port: number; home: string; data: string; torrentPath: string; torrent: Torrent; seeding: boolean
}
type Command = [command: string, args: string[], cwd: string]

function aria2Command(o: CommandSpec): Command {
  // aria2 sends udp:// announces from its DHT socket, so udp trackers need DHT on (it reports "udp is not
  // supported yet" otherwise). With no entry point and a fresh routing table it only ever learns of
  // nodes from its loopback peers. --interface binds the DHT socket too.
  const dht = o.torrent.announce.some((url) => url.startsWith('udp:'))
  const args = [
    '--no-conf=true', `--stop-with-process=${process.pid}`,
    `--interface=${o.address}`, `--listen-port=${o.port}`, '--disable-ipv6=true',
    `--enable-dht=${dht}`, '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false',
    ...(dht ? [`--dht-listen-port=${o.port}`, `--dht-file-path=${join(o.home, 'dht.dat')}`] : []),
    // --seed-ratio=0.0 means "ignore the ratio": seeding then ends only with --seed-time (minutes).
    '--seed-ratio=0.0', `--seed-time=${o.seeding ? 100_000 : 0}`,
    `--dir=${o.data}`, '--file-allocation=none', '--allow-overwrite=true', '--auto-file-renaming=false',
    '--summary-interval=0', '--enable-color=false', '--show-console-readout=false', '--console-log-level=notice',
  ]
  // Without -V, an existing file and no .aria2 control file would be downloaded again from scratch.
  if (o.role === 'seeder') args.push('--check-integrity=true')
  args.push(`--bt-tracker-interval=${o.announceInterval ?? 3}`)
  if (o.uploadLimitKiB !== undefined) args.push(`--max-overall-upload-limit=${o.uploadLimitKiB}K`)
  return ['aria2c', [...args, ...(o.args ?? []), o.torrentPath], o.home]
}

async function transmissionCommand(o: CommandSpec): Promise<Command> {
  const config = join(o.home, 'config')
  await mkdir(config, { recursive: true })
  const settings = {
    'dht-enabled': false, 'lpd-enabled': false, 'pex-enabled': false, 'utp-enabled': false,
    'port-forwarding-enabled': false, 'blocklist-enabled': false,
    'bind-address-ipv4': o.address, 'bind-address-ipv6': '::1',
    'peer-port': o.port, 'peer-port-random-on-start': false,
    'download-dir': o.data, 'incomplete-dir-enabled': false, 'rename-partial-files': false,
    // transmission-cli exits once a torrent stops, and a ratio limit of 0 stops it right at completion.
    'ratio-limit-enabled': !o.seeding, 'ratio-limit': 0, 'idle-seeding-limit-enabled': false,
    'speed-limit-up-enabled': o.uploadLimitKiB !== undefined, 'speed-limit-up': o.uploadLimitKiB ?? 100,
    ...o.settings,
  }
  // A fresh config dir per client: a leftover resume/ entry makes it resume as "done" and just pause.
  await writeFile(join(config, 'settings.json'), JSON.stringify(settings, null, 2))
  const args = ['-g', config, '-w', o.data, '-p', String(o.port), '-M']
  if (o.role === 'seeder') args.push('-v')
  return ['transmission-cli', [...args, ...(o.args ?? []), o.torrentPath], o.home]
}

function ctorrentCommand(o: CommandSpec): Command {
  if (!o.torrent.announce.some((url) => /^https?:/.test(url))) throw new Error('ctorrent speaks only http:// trackers')
  // -i binds both the tracker and the peer sockets; -e is the seeding time in hours (0: exit when complete).
  const args = ['-i', o.address, '-p', String(o.port), '-e', o.seeding ? '24' : '0']
  if (o.uploadLimitKiB !== undefined) args.push('-U', String(o.uploadLimitKiB))
  return ['ctorrent', [...args, ...(o.args ?? []), o.torrentPath], o.data]
}

/** Process groups still alive, killed if this process exits without a teardown (e.g. an uncaught error). */
const liveGroups = new Set<number>()
process.once('exit', () => { for (const pgid of liveGroups) killGroup(pgid, 'SIGKILL') })

class LabProcess {
  readonly child: ChildProcess
  readonly exited: Promise<ExitStatus>
  status: ExitStatus | undefined
  #output = ''

  constructor(readonly name: string, command: string, args: readonly string[], cwd: string, lifetimeMs: number) {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: cwd }
    // Clients (aria2, Transmission's curl) honour proxy variables, which would send announces off loopback.
    for (const key of Object.keys(env)) if (/_proxy$/i.test(key)) delete env[key]
    // stdbuf: line-buffered stdout keeps progress lines (transmission-cli) in step with stderr logs.
    this.child = spawn('timeout', ['-k', '5', `${Math.ceil(lifetimeMs / 1000)}`, 'stdbuf', '-oL', command, ...args],
      { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    const pid = this.child.pid
    if (pid !== undefined) liveGroups.add(pid)
    const collect = (chunk: Buffer): void => {
      this.#output += chunk.toString('utf8').replace(/\r(?!\n)/g, '\n')
      if (this.#output.length > OUTPUT_CAP) this.#output = this.#output.slice(-OUTPUT_CAP)
    }
    this.child.stdout!.on('data', collect)
    this.child.stderr!.on('data', collect)
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => { collect(Buffer.from(`spawn error: ${err.message}\n`)); this.#settle(resolve, { code: null, signal: null }) })
      this.child.once('close', (code, signal) => this.#settle(resolve, { code, signal }))
    })
  }

  output(): string { return collapseRepeats(this.#output) }

  async stop(graceMs = 5000): Promise<ExitStatus> {
    const pid = this.child.pid
    if (pid === undefined) return this.exited
    // SIGTERM to the wrapper only: timeout(1) forwards it once (a second one makes aria2 halt by force).
    if (!this.status) this.child.kill('SIGTERM')
    // Unref'd timers: a finished test must not wait out the grace period before its process can exit.
    const status = await Promise.race([this.exited, sleep(graceMs, undefined, { ref: false })])
    killGroup(pid, 'SIGKILL') // stragglers, or everything if the grace ran out
    liveGroups.delete(pid)
    return status ?? await Promise.race([this.exited, sleep(5000, { code: null, signal: 'SIGKILL' as const }, { ref: false })])
  }

  #settle(resolve: (s: ExitStatus) => void, status: ExitStatus): void {
    this.status ??= status
    resolve(this.status)
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try { process.kill(-pgid, signal) } catch { /* ESRCH: already gone */ }
}

/** Poll `check` every 200 ms; fail on timeout, or when the process has exited and `check` still fails. */
async function waitUntil(what: string, timeoutMs: number, proc: LabProcess, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const exitedBefore = proc.status
    if (await check()) return
    if (exitedBefore) throw new Error(`${what}: no, and ${proc.name} exited ${JSON.stringify(exitedBefore)}\n${tail(proc.output(), 3000)}`)
    if (Date.now() >= deadline) throw new Error(`${what}: timed out after ${timeoutMs} ms\n${tail(proc.output(), 3000)}`)
    await sleep(200)
  }
}

async function fileMatches(path: string, payload: Payload): Promise<boolean> {
  try {
    if ((await stat(path)).size !== payload.size) return false
  } catch {
    return false
  }
  const hash = createHash('sha1')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex') === payload.sha1
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1000 })
    const finish = (ok: boolean): void => { socket.destroy(); resolve(ok) }
    socket.once('connect', () => finish(true))
    socket.once('error', () => finish(false))
    socket.once('timeout', () => finish(false))
  })
}

/**
 * Announce a throwaway peer (`started`, then `stopped`) until opentracker answers without a failure
 * reason. It loads the whitelist on a thread of its own, so its first answers may still be refusals;
 * and a `stopped` alone is no probe, since it is answered even for hashes off the whitelist.
 */
async function probeOpentracker(announce: string, infoHash: string | undefined, proc: LabProcess): Promise<void> {
  const query = (event: string): string => `${announce}?info_hash=${(infoHash ?? '00'.repeat(20)).replace(/../g, '%$&')}` +
    `&peer_id=-LB0001-probeprobe01&port=9&uploaded=0&downloaded=0&left=0&numwant=0&compact=1&event=${event}`
  let answer = 'no answer'
  try {
    await waitUntil(`opentracker on ${announce}`, 10_000, proc, async () => {
      try {
        answer = Buffer.from(await (await fetch(query('started'))).arrayBuffer()).toString('latin1')
        return infoHash === undefined || !answer.includes('failure reason')
      } catch {
        return false // not listening yet
      }
    })
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast answer: ${answer}`, { cause: err })
  }
  await fetch(query('stopped')).then((r) => r.arrayBuffer())
}

/** A free TCP+UDP port on `host`, below Linux's ephemeral range so outgoing connections cannot take it. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    // Math.random, not a seeded generator: parallel test files must not pick the same sequence.
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    if (handedOut.has(port)) continue
    if (await canBindTcp(host, port) && await canBindUdp(host, port)) {
      handedOut.add(port)
      return port
    }
  }
  throw new Error(`no free port on ${host}`)
}
const handedOut = new Set<number>()

function canBindTcp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)))
  })
}

function canBindUdp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4')
    socket.once('error', () => { socket.close(); resolve(false) })
    socket.bind({ address: host, port, exclusive: true }, () => socket.close(() => resolve(true)))
  })
}

/** The programs among those the lab runs that are not on PATH. */
export async function missingPrograms(programs: readonly string[] = PROGRAMS): Promise<string[]> {
  const found = await Promise.all(programs.map((p) => run('sh', ['-c', `command -v ${p}`]).then(() => true, () => false)))
  return programs.filter((_, i) => !found[i])
}

/** SHA-1 of the bencoded `info` value exactly as it appears in the file (BEP 3), in hex. */
export function infoHashOf(torrent: Buffer): string {
  if (torrent[0] !== 0x64) throw new Error('not a bencoded dictionary')
  let pos = 1
  while (torrent[pos] !== 0x65) {
    const valueStart = skipValue(torrent, pos)
    const key = torrent.toString('latin1', torrent.indexOf(0x3a, pos) + 1, valueStart)
    const valueEnd = skipValue(torrent, valueStart)
    if (key === 'info') return createHash('sha1').update(torrent.subarray(valueStart, valueEnd)).digest('hex')
    pos = valueEnd
  }
  throw new Error('no info dictionary')
}

function skipValue(b: Buffer, pos: number): number {
  if (pos >= b.length) throw new Error('truncated bencoding')
  const c = b[pos]
  if (c === 0x69) { // i<digits>e
    const end = b.indexOf(0x65, pos)
    if (end < 0) throw new Error('bad bencoded integer')
    return end + 1
  }
  if (c === 0x6c || c === 0x64) { // l…e, d…e
    pos++
    while (b[pos] !== 0x65) pos = skipValue(b, pos)
    return pos + 1
  }
  const colon = b.indexOf(0x3a, pos) // <length>:<bytes>
  if (colon < 0) throw new Error('bad bencoded string')
  return colon + 1 + Number(b.toString('latin1', pos, colon))
}

function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 30_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${command} ${args.join(' ')}: ${err.message}\n${stderr}`)) : resolve(stdout))
  })
}

function collapseRepeats(text: string): string {
  const lines: string[] = []
  let repeats = 0
  for (const line of text.split('\n').map((l) => l.trimEnd())) {
    if (line === lines.at(-1)) { repeats++; continue }
    if (repeats > 0) lines.push(`  (×${repeats + 1})`)
    repeats = 0
    lines.push(line)
  }
  if (repeats > 0) lines.push(`  (×${repeats + 1})`)
  return lines.join('\n')
}

function tail(text: string, chars: number): string {
  return text.length > chars ? `…${text.slice(-chars)}` : text
}
