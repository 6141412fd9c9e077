/**
 * @module bench/tracker/children
 * The trackers under test, each in its own Node process: started, read for their URLs, sampled
 * for CPU time (/proc, Linux) and always stopped, whatever happens to the bench.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
const live = new Set<ChildProcess>()

function killAll(): void {
  for (const child of live) child.kill('SIGKILL')
}
process.on('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll()
    process.exit(130)
  })
}

export interface TrackerChild {
  name: string
  pid: number
  http: string
  udp: string
  stderr: () => string
  /** User + system CPU seconds the process has used so far (NaN off Linux). */
  cpuSeconds: () => number
  stop: () => Promise<void>
}

let ticks: number | undefined
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100
    } catch {
      ticks = 100
    }
  }
  return ticks
}

function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // After "pid (comm) ": state is field 3, utime 14 and stime 15 (1-based, proc(5)).
    return (Number(fields[11]) + Number(fields[12])) / clockTicks()
  } catch {
    return Number.NaN
  }
}

/**
 * Seconds some runnable task waited for a CPU so far (Linux PSI, /proc/pressure/cpu "some"; NaN
 * where unavailable): a measure of how contended the machine was during a run.
 */
export function cpuPressureSeconds(): number {
  try {
    const m = /^some .*total=(\d+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'))
    return m ? Number(m[1]) / 1e6 : Number.NaN
  } catch {
    return Number.NaN
  }
}

export interface SpawnOptions {
  name: string
  /** Arguments after `node`: a script and its flags. */
  args: string[]
  /** Extra Node flags, e.g. --cpu-prof. */
  nodeFlags?: string[]
  timeoutMs?: number
}

/** Start a tracker process and wait for its `Tracker listening on <http> and <udp>` line. */
export function spawnTracker(options: SpawnOptions): Promise<TrackerChild> {
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), ...options.args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(child)
  let stderr = ''
  let stdout = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < 20_000) stderr += chunk
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => (live.delete(child), resolve())))
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${options.name}: not listening after ${options.timeoutMs ?? 20_000} ms`)), options.timeoutMs ?? 20_000)
    let settled = false
    const fail = (error: Error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(new Error(`${error.message}\n${stderr}`))
    }
    child.once('exit', (code, signal) => fail(new Error(`${options.name} exited (${code ?? signal}) before listening`)))
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      const m = /Tracker listening on (http:\/\/\S+) and (udp:\/\/\S+)/.exec(stdout)
      if (!m || settled) return
      settled = true
      clearTimeout(timer)
      child.stdout!.removeAllListeners('data')
      child.stdout!.resume()
      resolve({ name: options.name, pid: child.pid!, http: m[1]!, udp: m[2]!, stderr: () => stderr, cpuSeconds: () => cpuSecondsOf(child.pid!), stop })
    })
  })
}
