/**
 * @module bench/tracker/children
 * The trackers under test, each in its own Node process, started by bench/lib/alto-child.ts
 * (read for their URLs, sampled for CPU time, always stopped, whatever happens to the bench).
 */
import { readFileSync } from 'node:fs'
import { startProcess } from '../lib/alto-child.ts'

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
export async function spawnTracker(options: SpawnOptions): Promise<TrackerChild> {
  const started = await startProcess([...(options.nodeFlags ?? []), ...options.args], {
    listening: /Tracker listening on (http:\/\/\S+) and (udp:\/\/\S+)/,
    timeoutMs: options.timeoutMs ?? 20_000,
  }).catch((error: Error) => {
    throw new Error(`${options.name}: ${error.message}`)
  })
  return {
    name: options.name,
    pid: started.pid,
    http: started.match[1]!,
    udp: started.match[2]!,
    stderr: started.stderr,
    cpuSeconds: started.cpuSeconds,
    stop: () => started.stop(5000),
  }
}
