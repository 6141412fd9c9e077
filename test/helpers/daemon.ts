/**
 * Test helper: a server process (BIRD, knotd) run in the foreground for a test, with its output kept
 * for error messages and a temp dir that goes with it. `stop()` sends a signal, then SIGKILL if it
 * lingers, and removes the dir; an exit hook does the same if a test run dies first.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'

const STOP_TIMEOUT_MS = 5_000

export interface Daemon {
  child: ChildProcess
  /** stdout and stderr so far, up to about `maxLog` characters. */
  log(): string
  /** Set when the command could not be started. */
  spawnError(): Error | undefined
  /** Started and not exited yet. */
  running(): boolean
  /** Ends it with `signal` (SIGKILL after a grace period) and removes `dir`. */
  stop(signal: NodeJS.Signals): Promise<void>
}

/** Spawns `command`; `dir` is its temp dir, removed when it stops. */
export function spawnDaemon(command: string, args: readonly string[], dir: string, maxLog: number): Daemon {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  const append = (chunk: Buffer): void => {
    if (log.length < maxLog) log += chunk.toString()
  }
  child.stdout!.on('data', append)
  child.stderr!.on('data', append)
  let spawnError: Error | undefined
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.once('error', (error) => {
      spawnError = error
      resolve()
    })
  })
  const running = (): boolean => spawnError === undefined && child.exitCode === null && child.signalCode === null
  const killOnExit = (): void => {
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
  process.once('exit', killOnExit)

  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    process.removeListener('exit', killOnExit)
    if (running()) {
      child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  return { child, log: () => log, spawnError: () => spawnError, running, stop }
}
