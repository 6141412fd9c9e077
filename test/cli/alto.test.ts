/**
 * The `alto` program as a user meets it: a child process, real HTTP, signals and exit statuses.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fixturePath } from '../helpers/rfc-server.ts'
import { runAlto, startAlto } from '../helpers/cli.ts'

test('`alto serve --port 0` serves the default network until SIGTERM, then exits 0', async () => {
  const { child, url, stderr, exited } = await startAlto(['serve', '--port', '0'])
  try {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
    const irdResponse = await fetch(url, { headers: { accept: 'application/alto-directory+json' } })
    assert.equal(irdResponse.status, 200)
    assert.equal(irdResponse.headers.get('content-type'), 'application/alto-directory+json')
    const ird = await irdResponse.json()
    // Follow the IRD: the default network map, then an endpoint cost query from its PIDs.
    const mapEntry = ird.resources[ird.meta['default-alto-network-map']]
    const map = await (await fetch(mapEntry.uri)).json()
    assert.ok(Object.keys(map['network-map']).length >= 14)
    const ecsId = Object.keys(ird.resources).find((id) => ird.resources[id].accepts === 'application/alto-endpointcostparams+json')!
    const ecs = await fetch(ird.resources[ecsId].uri, {
      method: 'POST',
      headers: { 'content-type': 'application/alto-endpointcostparams+json' },
      body: JSON.stringify({ 'cost-type': { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' }, endpoints: { srcs: ['ipv4:10.0.0.1'], dsts: ['ipv4:8.8.8.8', 'ipv6:2001:db8:ff00::1'] } }),
    })
    assert.equal(ecs.status, 200)
    const costs = (await ecs.json())['endpoint-cost-map']['ipv4:10.0.0.1']
    assert.equal(Object.keys(costs).length, 2)
    for (const value of Object.values(costs)) assert.ok(typeof value === 'number' && value >= 0)
    // Logs are JSON lines on stderr.
    const lines = stderr().trim().split('\n').filter((l) => l.startsWith('{'))
    assert.ok(lines.length > 0 && lines.every((l) => typeof JSON.parse(l).level === 'number'))
  } finally {
    child.kill('SIGTERM')
  }
  assert.equal(await exited, 0)
})

test('`alto serve --network-map --cost-map` serves RFC 7285 files unchanged', async () => {
  const { child, url, exited } = await startAlto([
    'serve', '--port', '0',
    '--network-map', fixturePath('rfc7285/network-map.json'),
    '--cost-map', fixturePath('rfc7285/cost-map.json'),
  ])
  try {
    const ird = await (await fetch(url)).json()
    const served = await (await fetch(ird.resources['my-default-network-map'].uri)).json()
    assert.deepEqual(served, JSON.parse(readFileSync(fixturePath('rfc7285/network-map.json'), 'utf8')))
  } finally {
    child.kill('SIGINT')
  }
  assert.equal(await exited, 0)
})

test('a bad config exits 2 naming file, line and field, without a stack trace', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'altokit-cli-'))
  try {
    const file = join(dir, 'bad.yaml')
    writeFileSync(file, ['network-maps:', '  - id: m', '    pids:', '      A: { ipv4: [10.0.0.0/8] }', '      B: { ipv4: [10.0.0.0/8] }', ''].join('\n'))
    const result = await runAlto(['serve', '--config', file, '--port', '0'])
    assert.equal(result.status, 2)
    assert.match(result.stderr, new RegExp(`${file.replace(/[/.]/g, '\\$&')}:5: .*10\\.0\\.0\\.0/8`))
    assert.doesNotMatch(result.stderr, /\n\s+at /)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('`alto init` writes a config that `alto check` accepts; bad usage exits 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'altokit-cli-'))
  try {
    const file = join(dir, 'alto.yaml')
    assert.equal((await runAlto(['init', '-o', file])).status, 0)
    assert.equal((await runAlto(['init', '-o', file])).status, 1, 'refuses to overwrite')
    const checked = await runAlto(['check', '--config', file, '--json'])
    assert.equal(checked.status, 0, checked.stderr)
    const summary = JSON.parse(checked.stdout)
    assert.equal(summary.networkMaps[0].id, 'default-network-map')
    assert.equal(summary.networkMaps[0].coversEverything, true)
    assert.equal((await runAlto(['serve', '--port', 'seventy'])).status, 2)
    assert.equal((await runAlto(['frobnicate'])).status, 2)
    const help = await runAlto(['serve', '--help'])
    assert.equal(help.status, 0)
    assert.match(help.stdout, /--network-map <file>/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('`alto hash-password` prints a hash the server accepts', async () => {
  const result = await runAlto(['hash-password'], { input: 's3cret\n' })
  assert.equal(result.status, 0)
  const hash = result.stdout.trim()
  assert.match(hash, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/)
  const { verifyPassword } = await import('../../src/server/passwords.ts')
  assert.equal(await verifyPassword('s3cret', hash), true)
  assert.equal(await verifyPassword('s3cret ', hash), false)
  assert.equal((await runAlto(['hash-password'], { input: '' })).status, 2)
})

test('SIGHUP reloads the network; a broken file keeps the old one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'altokit-cli-'))
  const file = join(dir, 'alto.yaml')
  const config = (prefix: string) => ['network-maps:', '  - id: m', '    pids:', `      A: { ipv4: [${prefix}] }`, '      B: { ipv4: [0.0.0.0/0] }', ''].join('\n')
  writeFileSync(file, config('10.0.0.0/8'))
  const { child, url, stderr, exited } = await startAlto(['serve', '--config', file, '--port', '0'])
  const mapUrl = `${url}networkmap/m`
  const vtagNow = async () => (await (await fetch(mapUrl)).json()).meta.vtag.tag as string
  const waitFor = async (predicate: () => Promise<boolean>) => {
    for (let i = 0; i < 100 && !(await predicate()); i++) await new Promise((r) => setTimeout(r, 50))
  }
  try {
    const first = await vtagNow()
    writeFileSync(file, config('10.0.0.0/9'))
    child.kill('SIGHUP')
    await waitFor(async () => (await vtagNow()) !== first)
    const second = await vtagNow()
    assert.notEqual(second, first)
    writeFileSync(file, config('10.0.0.1/8'))
    child.kill('SIGHUP')
    await waitFor(async () => stderr().includes('reload failed'))
    assert.match(stderr(), /reload failed/)
    assert.equal(await vtagNow(), second, 'still serving the last good network')
  } finally {
    child.kill('SIGTERM')
    rmSync(dir, { recursive: true, force: true })
  }
  assert.equal(await exited, 0)
})

test('a change to the config, or to a map file it names, reloads the network without a signal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'altokit-cli-'))
  const file = join(dir, 'alto.yaml')
  const mapFile = join(dir, 'map.json')
  const body = (prefix: string) => JSON.stringify({ meta: { vtag: { 'resource-id': 'm', tag: `t-${prefix.replace(/\W/g, '')}` } }, 'network-map': { A: { ipv4: [prefix] }, B: { ipv4: ['0.0.0.0/0'] } } })
  writeFileSync(mapFile, body('10.0.0.0/8'))
  writeFileSync(file, 'network-maps:\n  - file: map.json\n')
  const { child, url, stderr, exited } = await startAlto(['serve', '--config', file, '--port', '0'])
  const vtagNow = async () => (await (await fetch(`${url}networkmap/m`)).json()).meta.vtag.tag as string
  const waitFor = async (predicate: () => Promise<boolean>) => {
    for (let i = 0; i < 100 && !(await predicate()); i++) await new Promise((r) => setTimeout(r, 50))
  }
  try {
    assert.equal(await vtagNow(), 't-100008')
    writeFileSync(mapFile, body('10.0.0.0/9'))
    await waitFor(async () => (await vtagNow()) !== 't-100008')
    assert.equal(await vtagNow(), 't-100009')
    writeFileSync(file, 'network-maps:\n  - file: map.json\n    vtag: from-config\n')
    await waitFor(async () => (await vtagNow()) === 'from-config')
    assert.equal(await vtagNow(), 'from-config')
    assert.match(stderr(), /network reloaded/)
  } finally {
    child.kill('SIGTERM')
    rmSync(dir, { recursive: true, force: true })
  }
  assert.equal(await exited, 0)
})
