/**
 * `alto serve --workers N`: several processes on one port, as an operator runs them. Which worker
 * answered is read from the JSON logs (every line carries its process id), never from the ALTO port.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { get } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAlto, startAlto } from '../helpers/cli.ts'

type LogLine = { pid: number; msg: string; [key: string]: unknown }

/** The JSON log lines written so far (a last line still arriving is left for the next call). */
function logLines(stderr: string): LogLine[] {
  return stderr.split('\n').slice(0, -1).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine)
}

/** A GET on a connection of its own: the cluster hands each new connection to the next worker. */
function getFresh(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      let body = ''
      response.setEncoding('utf8').on('data', (d: string) => (body += d))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
    }).on('error', reject)
  })
}

async function until(what: string, predicate: () => boolean | Promise<boolean>, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await predicate()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  assert.fail(`gave up waiting for ${what}`)
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'altokit-workers-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const mapConfig = (prefix: string) => ['network-maps:', '  - id: m', '    pids:', `      A: { ipv4: [${prefix}] }`, '      B: { ipv4: [0.0.0.0/0] }', ''].join('\n')

test('`alto serve --workers 2`: two processes answer, reload on SIGHUP, a killed one is replaced, SIGTERM stops all', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'alto.yaml')
  writeFileSync(file, mapConfig('10.0.0.0/8'))
  const { child, url, stderr, exited } = await startAlto(['serve', '--config', file, '--port', '0', '--workers', '2', '--admin-port', '0'])
  t.after(() => child.kill('SIGKILL'))
  const primaryPid = child.pid!
  const logs = (since = 0) => logLines(stderr().slice(since))
  const workerPids = () => new Set(logs().filter((l) => l.msg === 'worker listening').map((l) => l.pid))
  // stderr is a pipe of its own: the log lines may come in after the listening line.
  const readyLine = () => logs().find((l) => l.msg === 'ready' && l.pid === primaryPid)
  await until('the primary to log ready', () => readyLine() !== undefined)
  const ready = readyLine()!
  const adminUrl = ready.admin as string
  const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(adminUrl)).text())?.[1])

  // Exactly one listening line on stdout, printed by the primary once both workers listen.
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
  await until('both workers to log', () => workerPids().size === 2)
  assert.ok(!workerPids().has(primaryPid))
  assert.equal(await metric('alto_workers'), 2)

  // Both workers answer (each on the shared port), and the IRD offers no update stream.
  const answeredBy = (since: number) => new Set(logs(since).filter((l) => l.msg === 'request').map((l) => l.pid))
  await until('answers from both workers', async () => {
    assert.equal((await getFresh(url)).status, 200)
    return answeredBy(0).size === 2
  })
  assert.deepEqual(answeredBy(0), workerPids())
  const ird = JSON.parse((await getFresh(url)).body) as { resources: Record<string, { 'media-type': string }> }
  assert.ok(Object.values(ird.resources).every((r) => r['media-type'] !== 'text/event-stream'), 'no update stream service')
  const requestsLogged = () => logs().filter((l) => l.msg === 'request').length
  await until('the metrics to add up the workers', async () => (await metric('alto_requests_total\\{kind="directory",status="200"\\}')) === requestsLogged())

  // SIGHUP to the primary reloads every worker; both then serve the new vtag.
  const vtag = async () => (JSON.parse((await getFresh(`${url}networkmap/m`)).body) as { meta: { vtag: { tag: string } } }).meta.vtag.tag
  const first = await vtag()
  writeFileSync(file, mapConfig('10.0.0.0/9'))
  let mark = stderr().length
  child.kill('SIGHUP')
  const reloadedBy = () => new Set(logs(mark).filter((l) => l.msg === 'network reloaded' && l.why === 'SIGHUP').map((l) => l.pid))
  await until('both workers reloading on SIGHUP', () => reloadedBy().size === 2)
  assert.deepEqual(reloadedBy(), workerPids())
  mark = stderr().length
  await until('answers from both workers after the reload', async () => {
    assert.notEqual(await vtag(), first)
    return answeredBy(mark).size === 2
  })

  // A worker killed outright is replaced, and service goes on.
  const [victim, survivor] = [...workerPids()]
  process.kill(victim!, 'SIGKILL')
  await until('a replacement worker', () => workerPids().size === 3)
  const replacement = [...workerPids()].find((pid) => pid !== victim && pid !== survivor)!
  assert.ok(logs().some((l) => l.msg === 'worker died; restarting it' && l.workerPid === victim && l.signal === 'SIGKILL'))
  await until('the replacement listening', async () => (await metric('alto_workers')) === 2)
  assert.equal(await metric('alto_worker_restarts_total'), 1)
  mark = stderr().length
  await until('answers from the replacement', async () => {
    const answer = await getFresh(`${url}networkmap/m`)
    assert.equal(answer.status, 200)
    return answeredBy(mark).has(replacement)
  })

  // SIGTERM: every worker stops, then the primary exits 0 and leaves no process behind.
  child.kill('SIGTERM')
  assert.equal(await exited, 0)
  for (const pid of [primaryPid, ...workerPids()]) assert.equal(isRunning(pid), false, `process ${pid} is gone`)
})

test('`server.workers` in the config; each worker gets its share of the rate limit', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'alto.yaml')
  writeFileSync(file, ['server:', '  workers: 2', '  limits:', '    rate-limit: { max: 4, window-ms: 600000 }', mapConfig('10.0.0.0/8')].join('\n'))
  const { child, url, stderr, exited } = await startAlto(['serve', '--config', file, '--port', '0'])
  t.after(() => child.kill('SIGKILL'))
  await until('both workers to log', () => new Set(logLines(stderr()).filter((l) => l.msg === 'worker listening').map((l) => l.pid)).size === 2)
  const statuses: number[] = []
  for (let i = 0; i < 12; i++) statuses.push((await getFresh(url)).status)
  const ok = statuses.filter((s) => s === 200).length
  // 2 per worker: at most 4 over both, however the connections were shared out.
  assert.ok(ok >= 2 && ok <= 4, `${ok} answers before 429`)
  assert.ok(statuses.includes(429))
  child.kill('SIGINT')
  assert.equal(await exited, 0)
})

test('`--workers` takes a count from 1 or auto; 0 and words are bad usage (exit 2)', async () => {
  for (const bad of ['0', 'x', '-1', '2.5']) {
    const result = await runAlto(['serve', '--port', '0', '--workers', bad])
    assert.equal(result.status, 2, `--workers ${bad}`)
    assert.match(result.stderr, /--workers/)
  }
  const help = await runAlto(['serve', '--help'])
  assert.match(help.stdout, /--workers <n>/)
})

test('several workers and a bgp: section are refused, from the flag or the config (exit 2)', async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'rules.yaml'), ['network-map: isp', 'default-pid: default', 'catch-all: true', 'rules: []', ''].join('\n'))
  const config = (server: string[]) => [
    ...server,
    'network-maps:',
    '  - id: isp',
    '    pids:',
    '      default: { ipv4: [0.0.0.0/0], ipv6: ["::/0"] }',
    'bgp:',
    '  listen: { host: 127.0.0.1, port: 0 }',
    '  local-as: 65000',
    '  router-id: 192.0.2.1',
    '  neighbors: [{ address: 127.0.0.2, peer-as: 65000 }]',
    '  network-map: isp',
    '  rules: rules.yaml',
    '',
  ].join('\n')
  const plain = join(dir, 'bgp.yaml')
  writeFileSync(plain, config([]))
  const fromFlag = await runAlto(['serve', '--config', plain, '--port', '0', '--workers', '2'])
  assert.equal(fromFlag.status, 2)
  assert.match(fromFlag.stderr, /--workers 2: .*bgp/)
  assert.doesNotMatch(fromFlag.stdout, /listening/)

  const withWorkers = join(dir, 'bgp-workers.yaml')
  writeFileSync(withWorkers, config(['server:', '  workers: auto']))
  for (const args of [['serve', '--config', withWorkers, '--port', '0'], ['check', '--config', withWorkers]]) {
    const result = await runAlto(args)
    assert.equal(result.status, 2, args[0])
    assert.match(result.stderr, new RegExp(`${withWorkers.replace(/[/.]/g, '\\$&')}:2: server\\.workers: must be 1 with a bgp: section`))
  }
})

test('a bad `server.workers` names file, line and field', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'alto.yaml')
  writeFileSync(file, ['server:', '  workers: 0', mapConfig('10.0.0.0/8')].join('\n'))
  const result = await runAlto(['serve', '--config', file, '--port', '0'])
  assert.equal(result.status, 2)
  assert.match(result.stderr, /alto\.yaml:2: server\.workers: must be an integer from 1 to \d+, or auto/)
})
