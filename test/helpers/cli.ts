/**
 * Run the real `alto` program as a child process, as a user would.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const ALTO_BIN = fileURLToPath(new URL('../../bin/alto.js', import.meta.url))

export interface Finished {
  status: number | null
  stdout: string
  stderr: string
}

/** Run `alto ARGS` to completion (bounded by a timeout), with optional standard input. */
export function runAlto(args: readonly string[], options: { input?: string; cwd?: string; timeoutMs?: number } = {}): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ALTO_BIN, ...args], { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
    child.on('error', reject)
    child.on('close', (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    })
    child.stdin.end(options.input ?? '')
  })
}

/** Start a long-running `alto` command and wait for its `... listening on <URL>` line. */
export function startAlto(args: readonly string[]): Promise<{ child: ChildProcess; url: string; stderr: () => string; exited: Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ALTO_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    const exited = new Promise<number | null>((done) => child.on('close', (status) => done(status)))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`no "listening on" line within 30 s; stderr: ${stderr}`))
    }, 30_000)
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d
      const match = / listening on (\S+)\n/.exec(stdout)
      if (match) {
        clearTimeout(timer)
        resolve({ child, url: match[1]!, stderr: () => stderr, exited })
      }
    })
    child.on('close', (status) => {
      clearTimeout(timer)
      reject(new Error(`alto exited with ${status} before listening; stderr: ${stderr}`))
    })
  })
}
