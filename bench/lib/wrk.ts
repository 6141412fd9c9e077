/**
 * @module bench/lib/wrk
 * HTTP load from `wrk` (Debian package `wrk`), a C load generator: it takes far less CPU per
 * request than a Node one, which matters when it shares the machine's two cores with the server.
 * A Lua script sets the method, headers and body, and prints wrk's summary as one JSON line.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface WrkOptions {
  url: string
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  /** A file of request bodies, one per line, sent in turn (instead of `body` on every request). */
  bodiesFile?: string
  /**
   * Lua source defining `body()`, which returns the body of each request (made per request, after
   * `math.randomseed(<thread number>)`), instead of `body` or `bodiesFile`.
   */
  bodyLua?: string
  /** Count answers by status (a Lua callback per answer: costs the generator some speed). */
  countStatuses?: boolean
  connections: number
  threads?: number
  durationS: number
  timeoutS?: number
  /** Run wrk on these CPUs only (`taskset -c`, e.g. `1`). */
  cpus?: string
}

export interface WrkResult {
  requests: number
  durationS: number
  requestsPerSecond: number
  /** Latency percentiles in milliseconds. */
  p50Ms: number
  p99Ms: number
  meanMs: number
  /** Connect, read, write and timeout errors. */
  errors: number
  /** Answers whose status was not 2xx or 3xx. */
  non2xx3xx: number
  /** Answers by status, with `countStatuses`. */
  statuses?: Record<string, number>
  bytesPerResponse: number
}

/** A Lua string literal: long brackets need no escaping. */
export function luaString(text: string): string {
  if (text.includes(']==]')) throw new Error('cannot quote for Lua')
  return `[==[${text}]==]`
}

function script(options: WrkOptions): string {
  const lines = [`wrk.method = ${luaString(options.method ?? 'GET')}`]
  if (options.body !== undefined || options.bodyLua !== undefined || options.bodiesFile !== undefined) lines.push(`wrk.method = "POST"`)
  if (options.body !== undefined) lines.push(`wrk.body = ${luaString(options.body)}`)
  for (const [name, value] of Object.entries(options.headers ?? {})) lines.push(`wrk.headers[ ${luaString(name)} ] = ${luaString(value)}`)
  if (options.bodiesFile !== undefined) {
    lines.push(
      'local bodies = {}',
      'local turn = 0',
      `function load_bodies() for line in io.lines(${luaString(options.bodiesFile)}) do table.insert(bodies, line) end turn = math.random(#bodies) end`,
      'function request() turn = turn % #bodies + 1 return wrk.format(nil, nil, nil, bodies[turn]) end',
    )
  }
  if (options.bodyLua !== undefined) {
    lines.push(options.bodyLua, 'function request() return wrk.format(nil, nil, nil, body()) end')
  }
  // Threads are numbered, so that each seeds its random numbers differently.
  lines.push(
    'local threads = {}',
    'function setup(thread) table.insert(threads, thread) thread:set("number", #threads) end',
    `function init(args) statuses = {} math.randomseed(number) ${options.bodiesFile !== undefined ? 'load_bodies()' : ''} end`,
  )
  // Without countStatuses, no response() callback: it makes wrk run Lua for every answer. wrk
  // counts answers whose status is not 2xx or 3xx itself (errors.status).
  if (options.countStatuses) lines.push('function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end')
  lines.push(
    'function done(summary, latency, requests)',
    '  local parts = {}',
    '  local total = {}',
    '  for _, thread in ipairs(threads) do',
    '    for status, n in pairs(thread:get("statuses")) do total[status] = (total[status] or 0) + n end',
    '  end',
    '  for status, n in pairs(total) do table.insert(parts, string.format(\'"%d":%d\', status, n)) end',
    '  local e = summary.errors',
    '  io.write(string.format("WRK-JSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"bytes\\":%d,\\"p50_us\\":%d,\\"p99_us\\":%d,\\"mean_us\\":%f,\\"errors\\":%d,\\"non2xx3xx\\":%d,\\"statuses\\":{%s}}\\n",',
    '    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(99), latency.mean,',
    '    e.connect + e.read + e.write + e.timeout, e.status, table.concat(parts, ",")))',
    'end',
  )
  return `${lines.join('\n')}\n`
}

/** Run wrk once; rejects when wrk is missing or fails. */
export function runWrk(options: WrkOptions): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), 'alto-wrk-'))
  const file = join(dir, 'load.lua')
  writeFileSync(file, script(options))
  const args = [
    `-t${options.threads ?? 1}`,
    `-c${options.connections}`,
    `-d${options.durationS}s`,
    `--timeout`, `${options.timeoutS ?? 5}s`,
    '-s', file,
    options.url,
  ]
  return new Promise((resolve, reject) => {
    const [command, argv] = options.cpus === undefined ? ['wrk', args] : ['taskset', ['-c', options.cpus, 'wrk', ...args]]
    execFile(command, argv, { timeout: (options.durationS + 30) * 1000 }, (error, stdout, stderr) => {
      rmSync(dir, { recursive: true, force: true })
      if (error) {
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT'
        reject(new Error(missing ? 'wrk is not installed (apt-get install wrk)' : `wrk failed: ${error.message} ${stderr}`))
        return
      }
      const line = /WRK-JSON (\{.*\})/.exec(stdout)
      if (!line) {
        reject(new Error(`wrk printed no summary: ${stdout} ${stderr}`))
        return
      }
      const raw = JSON.parse(line[1]!) as { requests: number; duration_us: number; bytes: number; p50_us: number; p99_us: number; mean_us: number; errors: number; non2xx3xx: number; statuses: Record<string, number> }
      const durationS = raw.duration_us / 1e6
      resolve({
        requests: raw.requests,
        durationS,
        requestsPerSecond: raw.requests / durationS,
        p50Ms: raw.p50_us / 1000,
        p99Ms: raw.p99_us / 1000,
        meanMs: raw.mean_us / 1000,
        errors: raw.errors,
        non2xx3xx: raw.non2xx3xx,
        ...(options.countStatuses ? { statuses: raw.statuses } : {}),
        bytesPerResponse: raw.requests > 0 ? raw.bytes / raw.requests : 0,
      })
    })
  })
}
