/**
 * @module bench/lib/alto-child
 * Servers under test, each in its own process so that the load generator, the server and the
 * bench do not share an event loop: the real ALTO server (`node bin/alto.js serve`) and the bare
 * `node:http` ceiling (bench/lib/ceiling-server.ts). Each is started, timed until its
 * `listening on <URL>` line, sampled for memory and CPU time (/proc, Linux; a cluster's workers
 * included), and always stopped, whatever happens to the bench (exit, signals, a failed start).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
const CEILING = fileURLToPath(new URL('./ceiling-server.ts', import.meta.url))
const live = new Set<ChildProcess>()

const logDirs = new Set<string>()
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL')
  for (const dir of logDirs) rmSync(dir, { recursive: true, force: true })
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => process.exit(130))
}

export interface AltoChild {
  pid: number
  /** Base URL, e.g. `http://127.0.0.1:40123/`. */
  url: string
  /** Milliseconds from spawn to the listening line. */
  startMs: number
  /** Resident and peak resident set size now, in MB (NaN off Linux). */
  memory(): { rssMb: number; peakMb: number }
  /** User + system CPU seconds used so far, with its child processes' (NaN off Linux). */
  cpuSeconds(): number
  stderr(): string
  /**
   * Freeze the process and its children (SIGSTOP) while other servers are measured, so that its
   * timers (e.g. the overload guard's 10 ms event-loop sampling) take no CPU from them; `resume`
   * (SIGCONT) thaws it. Stopping a server always resumes it first.
   */
  pause(): void
  resume(): void
  /**
   * Run the process and its children, every thread, on these CPUs only (`taskset -a -p -c`, e.g.
   * `0`), or on all of them again with no argument. See `canPin`.
   */
  pin(cpus?: string): void
  /** SIGTERM (graceful: a --cpu-prof profile is written), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>
}

export interface StartOptions {
  /** Arguments after `alto serve`. */
  args: string[]
  /** Node flags, e.g. `--cpu-prof`. */
  nodeFlags?: string[]
  /** The checkout whose `bin/alto.js` runs, e.g. another version to compare with. @default this one */
  root?: string
  /** @default 120000 */
  timeoutMs?: number
}

export function startAltoServer(options: StartOptions): Promise<AltoChild> {
  return startServer([...(options.nodeFlags ?? []), 'bin/alto.js', 'serve', ...options.args], options.root ?? root, options.timeoutMs)
}

/**
 * A bare node:http server answering every request with `bodyFile`'s bytes; WORKERS > 1: a cluster;
 * `batched`: writing the answers of each event-loop turn together, as the fast lane does.
 */
export function startCeiling(bodyFile: string, workers = 1, batched = false): Promise<AltoChild> {
  return startServer(['--import', 'tsx', CEILING, bodyFile, String(workers), ...(batched ? ['batched'] : [])], root)
}

function startServer(argv: string[], cwd: string, timeoutMs = 120_000): Promise<AltoChild> {
  return startProcess(argv, { cwd, timeoutMs, listening: / listening on (\S+)\n/ }).then(({ match, ...server }) => ({ ...server, url: match[1]! }))
}

export interface StartedProcess extends Omit<AltoChild, 'url'> {
  /** The match of `listening` in what the process printed. */
  match: RegExpExecArray
}

/**
 * `node ARGV` in `cwd` (default: this checkout), up when its standard output matches `listening`
 * (within `timeoutMs`, default 120 s). The trackers of bench/tracker start this way too.
 */
export function startProcess(argv: string[], options: { listening: RegExp; cwd?: string; timeoutMs?: number }): Promise<StartedProcess> {
  const { cwd = root, timeoutMs = 120_000 } = options
  const started = performance.now()
  // stderr (the server's JSON logs) goes to a file: reading it through a pipe would cost this
  // process CPU on the machine being measured.
  const logDir = mkdtempSync(join(tmpdir(), 'alto-bench-log-'))
  const logFile = join(logDir, 'stderr.log')
  const logFd = openSync(logFile, 'w')
  logDirs.add(logDir)
  const child = spawn(process.execPath, argv, { cwd, stdio: ['ignore', 'pipe', logFd] })
  closeSync(logFd)
  live.add(child)
  const stderr = () => {
    try {
      return readFileSync(logFile, 'utf8').slice(-20_000)
    } catch {
      return ''
    }
  }
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      live.delete(child)
      resolve()
    }),
  )
  const signalAll = (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    for (const pid of [child.pid!, ...childrenOf(child.pid!)]) {
      try {
        process.kill(pid, signal)
      } catch {
        // gone meanwhile
      }
    }
  }
  const pin = (cpus = `0-${availableParallelism() - 1}`) => {
    for (const pid of [child.pid!, ...childrenOf(child.pid!)]) spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' })
  }
  const pause = () => signalAll('SIGSTOP')
  const resume = () => signalAll('SIGCONT')
  const stop = async (graceMs = 10_000) => {
    if (child.exitCode === null && child.signalCode === null) {
      resume()
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    }
  }
  return new Promise((resolve, reject) => {
    let stdout = ''
    let settled = false
    const fail = (error: Error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(new Error(`${error.message}\n${stderr()}`))
    }
    const timer = setTimeout(() => fail(new Error(`${argv.join(' ')}: not listening after ${timeoutMs} ms`)), timeoutMs)
    child.once('error', fail)
    child.once('exit', (code, signal) => fail(new Error(`${argv.join(' ')} exited (${code ?? signal}) before listening`)))
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      const m = options.listening.exec(stdout)
      if (!m || settled) return
      settled = true
      clearTimeout(timer)
      const startMs = performance.now() - started
      child.stdout!.removeAllListeners('data')
      child.stdout!.resume()
      const pid = child.pid!
      resolve({ pid, match: m, startMs, memory: () => memoryOf(pid), cpuSeconds: () => cpuSecondsOf(pid), stderr, pause, resume, pin, stop })
    })
  })
}

/**
 * Whether servers and the load generator can be given CPUs of their own: two CPUs or more, and
 * util-linux's `taskset` (Linux).
 */
export function canPin(): boolean {
  return availableParallelism() >= 2 && spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0
}

function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN)
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 }
  } catch {
    return { rssMb: Number.NaN, peakMb: Number.NaN }
  }
}

function cpuSecondsOf(pid: number): number {
  try {
    return [pid, ...childrenOf(pid)].reduce((sum, p) => sum + ownCpuSeconds(p), 0)
  } catch {
    return Number.NaN
  }
}

function ownCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // After "pid (comm) ": utime and stime are fields 14 and 15 (1-based, proc(5)), in clock
    // ticks: 100 per second on every Linux this runs on.
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return 0 // gone meanwhile
  }
}

function childrenOf(pid: number): number[] {
  try {
    const list = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
    return list === '' ? [] : list.split(' ').map(Number)
  } catch {
    return []
  }
}
