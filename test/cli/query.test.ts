/**
 * `alto query` and `alto rank` as a user runs them: the real program as a child process, against
 * a real server on the RFC 7285 §11 example network (PID1 = 192.0.2.0/24 + 198.51.100.0/25,
 * PID2 = 198.51.100.128/25, PID3 = the rest; PID1 -> PID1 1, -> PID2 5, -> PID3 10).
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashPassword } from '../../src/server/passwords.ts'
import { runAlto, type Finished } from '../helpers/cli.ts'
import { fixture, rfcServer } from '../helpers/rfc-server.ts'
import { selfSignedCertificate } from '../helpers/tls.ts'

const server = rfcServer({ port: 0 })
let url = ''

before(async () => {
  url = await server.listen()
})
after(() => server.close())

function alto(...args: string[]): Promise<Finished> {
  return runAlto(args, { timeoutMs: 20_000 })
}

/** Run, expect exit 0 and one compact JSON line on stdout (stdout is a pipe), return it parsed. */
async function json(...args: string[]): Promise<any> {
  const run = await alto(...args)
  assert.equal(run.status, 0, `alto ${args.join(' ')} exited ${run.status}: ${run.stderr}`)
  assert.equal(run.stdout.trim().split('\n').length, 1, 'compact JSON on one line when stdout is not a terminal')
  return JSON.parse(run.stdout)
}

/** Run several, one after another (each child is CPU-bound while it starts; in parallel they only contend). */
async function inTurn(argsList: readonly string[][]): Promise<Finished[]> {
  const runs: Finished[] = []
  for (const args of argsList) runs.push(await alto(...args))
  return runs
}

async function served(path: string): Promise<any> {
  return (await fetch(new URL(path, url))).json()
}

function assertNoStack(run: Finished): void {
  assert.doesNotMatch(run.stderr, /\n\s+at .+:\d+/, `no stack trace: ${run.stderr}`)
}

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as { port: number }
  await new Promise((resolve) => probe.close(resolve))
  return port
}

/** Set environment variables for the children started inside `body`, then restore them. */
async function withEnv<T>(vars: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  Object.assign(process.env, vars)
  try {
    return await body()
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

test('query ird prints the IRD the server serves', async () => {
  const ird = await json('query', 'ird', '--server', url)
  assert.deepEqual(ird, await served('/'))
  assert.equal(ird.meta['default-alto-network-map'], 'my-default-network-map')
})

test('query network-map prints the default network map, also when named by --network-map or --resource', async () => {
  const expected = fixture('rfc7285/network-map.json')
  assert.deepEqual(await json('query', 'network-map', '--server', url), expected)
  assert.deepEqual(await json('query', 'network-map', '--server', url, '--network-map', 'my-default-network-map'), expected)
  assert.deepEqual(await json('query', 'network-map', '--server', url, '--resource', 'my-default-network-map', '--json'), expected)
})

test('query filtered-network-map returns the PIDs and address types asked for', async () => {
  const all = fixture('rfc7285/network-map.json')['network-map']
  const body = await json('query', 'filtered-network-map', '--server', url, '--pids', 'PID1,PID2')
  assert.deepEqual(body['network-map'], { PID1: all.PID1, PID2: all.PID2 })
  const ipv6 = await json('query', 'filtered-network-map', '--server', url, '--pids', 'PID3', '--address-types', 'ipv6')
  assert.deepEqual(ipv6['network-map'], { PID3: { ipv6: ['::/0'] } })
  const everything = await json('query', 'filtered-network-map', '--server', url)
  assert.deepEqual(everything['network-map'], all)
})

test('query cost-map picks the cost map by cost type name, by mode and metric, or by resource id', async () => {
  const numerical = await json('query', 'cost-map', '--server', url, '--cost-type', 'num-routingcost')
  assert.deepEqual(numerical['cost-map'], fixture('rfc7285/cost-map.json')['cost-map'])
  assert.deepEqual(numerical, await served('/costmap/costmap-num-routingcost'))
  assert.deepEqual(await json('query', 'cost-map', '--server', url), numerical, 'numerical routingcost by default')
  const ordinal = await json('query', 'cost-map', '--server', url, '--cost-mode', 'ordinal', '--cost-metric', 'routingcost')
  assert.deepEqual(ordinal.meta['cost-type'], { 'cost-mode': 'ordinal', 'cost-metric': 'routingcost' })
  assert.deepEqual(ordinal['cost-map'].PID1, { PID1: 1, PID2: 2, PID3: 3 })
  assert.deepEqual(await json('query', 'cost-map', '--server', url, '--resource', 'costmap-ord-routingcost'), ordinal)
})

test('query filtered-cost-map filters by source and destination PIDs and by constraints', async () => {
  const body = await json('query', 'filtered-cost-map', '--server', url, '--srcs', 'PID1', '--dsts', 'PID1,PID2,PID3')
  assert.deepEqual(body['cost-map'], fixture('rfc7285/filtered-cost-map.response.json')['cost-map'])
  const constrained = await json('query', 'filtered-cost-map', '--server', url, '--srcs', 'PID1', '--constraint', 'le 5')
  assert.deepEqual(constrained['cost-map'], { PID1: { PID1: 1, PID2: 5 } })
  const both = await json('query', 'filtered-cost-map', '--server', url, '--srcs', 'PID1', '--constraint', 'ge 2', '--constraint', 'le 10')
  assert.deepEqual(both['cost-map'], { PID1: { PID2: 5, PID3: 10 } })
  const ordinal = await json('query', 'filtered-cost-map', '--server', url, '--resource', 'filtered-costmap', '--cost-type', 'ord-routingcost', '--srcs', 'PID2')
  assert.deepEqual(ordinal['cost-map'], { PID2: { PID1: 2, PID2: 1, PID3: 4 } })
})

test('query endpoint-props accepts plain and typed addresses and defaults to the PID property', async () => {
  const body = await json(
    'query', 'endpoint-props', '--server', url,
    '--endpoints', '192.0.2.34,ipv4:203.0.113.129',
    '--properties', 'my-default-network-map.pid,priv:ietf-example-prop',
  )
  assert.deepEqual(body['endpoint-properties'], fixture('rfc7285/endpoint-prop.response.json')['endpoint-properties'])
  const pids = await json('query', 'endpoint-props', '--server', url, '--endpoints', '198.51.100.200', '--endpoints', '2001:db8::1')
  assert.deepEqual(pids['endpoint-properties'], {
    'ipv4:198.51.100.200': { 'my-default-network-map.pid': 'PID2' },
    'ipv6:2001:db8::1': { 'my-default-network-map.pid': 'PID3' },
  })
})

test('query endpoint-costs gives the costs from each source to each destination', async () => {
  const args = ['query', 'endpoint-costs', '--server', url, '--srcs', '192.0.2.2', '--dsts', '192.0.2.89,198.51.100.200,ipv4:203.0.113.45,2001:db8::1']
  const numerical = await json(...args)
  assert.deepEqual(numerical['endpoint-cost-map'], {
    'ipv4:192.0.2.2': { 'ipv4:192.0.2.89': 1, 'ipv4:198.51.100.200': 5, 'ipv4:203.0.113.45': 10, 'ipv6:2001:db8::1': 10 },
  })
  const ordinal = await json(...args, '--cost-type', 'ord-routingcost')
  assert.deepEqual(ordinal.meta['cost-type'], { 'cost-mode': 'ordinal', 'cost-metric': 'routingcost' })
  const row = ordinal['endpoint-cost-map']['ipv4:192.0.2.2']
  assert.ok(row['ipv4:192.0.2.89'] < row['ipv4:198.51.100.200'] && row['ipv4:198.51.100.200'] < row['ipv4:203.0.113.45'])
  const constrained = await json(...args, '--constraint', 'lt 10')
  assert.deepEqual(constrained['endpoint-cost-map'], { 'ipv4:192.0.2.2': { 'ipv4:192.0.2.89': 1, 'ipv4:198.51.100.200': 5 } })
})

test('an ALTO error from the server is shown with its code, field and value, and exits 1', async () => {
  const args = ['query', 'filtered-cost-map', '--server', url, '--resource', 'filtered-costmap', '--cost-metric', 'latency']
  const run = await alto(...args)
  assert.equal(run.status, 1)
  assert.match(run.stderr, /^alto: .*E_INVALID_FIELD_VALUE.*cost-type\/cost-metric.*latency/m)
  assert.equal(run.stdout, '')
  assertNoStack(run)
  const withJson = await alto(...args, '--json')
  assert.equal(withJson.status, 1)
  assert.deepEqual(JSON.parse(withJson.stdout), { meta: { code: 'E_INVALID_FIELD_VALUE', field: 'cost-type/cost-metric', value: 'latency' } })
})

test('a resource the IRD does not offer exits 1 saying what is missing', async () => {
  const noCostType = await alto('query', 'filtered-cost-map', '--server', url, '--cost-metric', 'latency')
  assert.equal(noCostType.status, 1)
  assert.match(noCostType.stderr, /IRD offers no filtered cost map of numerical\/latency/)
  const wrongKind = await alto('query', 'cost-map', '--server', url, '--resource', 'my-default-network-map')
  assert.equal(wrongKind.status, 1)
  assert.match(wrongKind.stderr, /no cost map with id my-default-network-map/)
  const unknownName = await alto('query', 'cost-map', '--server', url, '--cost-type', 'num-hopcount')
  assert.equal(unknownName.status, 1)
  assert.match(unknownName.stderr, /no cost type named num-hopcount \(known: num-routingcost, ord-routingcost\)/)
  for (const run of [noCostType, wrongKind, unknownName]) assertNoStack(run)
})

test('an unreachable server exits 1 with a message, not a stack trace', async () => {
  const dead = `http://127.0.0.1:${await closedPort()}/`
  const run = await alto('query', 'network-map', '--server', dead)
  assert.equal(run.status, 1)
  assert.match(run.stderr, new RegExp(`^alto: cannot reach the ALTO server at ${dead.replace(/[.]/g, '\\.')}: .*ECONNREFUSED`, 'im'))
  assertNoStack(run)
})

test('bad addresses and bad options exit 2 before anything is sent', async () => {
  const cases: [string[], RegExp][] = [
    [['query', 'endpoint-costs', '--server', url, '--dsts', '300.1.2.3'], /--dsts: not an IPv4 or IPv6 address: "300\.1\.2\.3"/],
    [['query', 'endpoint-costs', '--server', url, '--dsts', '192.0.2.1:6881'], /an endpoint address has no port/],
    [['query', 'endpoint-props', '--server', url, '--endpoints', 'ipv4:2001:db8::1'], /--endpoints: not an IPv4 or IPv6 address/],
    [['query', 'filtered-cost-map', '--server', url, '--constraint', 'below 5'], /--constraint "below 5"/],
    [['query', 'filtered-network-map', '--server', url, '--address-types', 'ipx'], /address types are ipv4 and ipv6/],
    [['query', 'cost-map', '--server', url, '--cost-type', 'num-routingcost', '--cost-mode', 'ordinal'], /cannot be used with/],
    [['query', 'cost-map', '--server', url, '--resource', 'costmap-num-routingcost', '--cost-type', 'num-routingcost'], /--resource or a cost type, not both/],
    [['query', 'network-map', '--server', url, '--timeout', 'soon'], /--timeout/],
    [['query', 'network-map', '--server', 'ftp://example.net/'], /http:\/\/ or https:\/\//],
    [['query', 'network-map'], /required option '--server <url>'/],
    [['query', 'tea'], /unknown kind of resource: tea/],
    [['query'], /name the kind of resource/],
    [['query', 'ird', '--server', url, '--user', 'alice'], /no password for user alice/],
    [['rank', '--server', url, '--self', 'me', '192.0.2.1'], /--self: not an IPv4 or IPv6 address: "me"/],
    [['rank', '--server', url, '--self', '192.0.2.2', '192.0.2.1:70000'], /candidate: not an IPv4 or IPv6 address/],
    [['rank', '--server', url, '--self', '192.0.2.2', '--random-fraction', '1.5', '192.0.2.1'], /fraction from 0 to 1/],
    [['rank', '--server', url, '--self', '192.0.2.2', '--mode', 'dht', '192.0.2.1'], /choices/],
    [['rank', '--server', url, '--self', '192.0.2.2'], /missing required argument 'candidates'/],
  ]
  const runs = await inTurn(cases.map(([args]) => args))
  for (const [i, [args, message]] of cases.entries()) {
    const run = runs[i]!
    assert.equal(run.status, 2, `alto ${args.join(' ')}: ${run.stderr}`)
    assert.match(run.stderr, message)
    assert.equal(run.stdout, '')
    assertNoStack(run)
  }
})

test('--help describes query, every kind, and rank', async () => {
  const kinds = ['ird', 'network-map', 'filtered-network-map', 'cost-map', 'filtered-cost-map', 'endpoint-props', 'endpoint-costs']
  const [query, rank, ...helps] = await inTurn([['query', '--help'], ['rank', '--help'], ...kinds.map((kind) => ['query', kind, '--help'])])
  assert.equal(query!.status, 0)
  for (const [i, kind] of kinds.entries()) {
    assert.match(query!.stdout, new RegExp(`^  ${kind} `, 'm'))
    const help = helps[i]!
    assert.equal(help.status, 0)
    assert.match(help.stdout, new RegExp(`Usage: alto query ${kind} \\[options\\]`))
    assert.match(help.stdout, /--server <url>/)
  }
  assert.equal(rank!.status, 0)
  for (const option of ['--self', '--mode', '--random-fraction', '--cost-type', '--limit', '--seed', '--json', '--strict']) assert.ok(rank!.stdout.includes(option), option)
})

// Three candidates in three PIDs: costs 1, 5 and 10 from 192.0.2.2 (PID1), no ties.
const SELF = '192.0.2.2'
const CANDIDATES = ['203.0.113.9', '198.51.100.200:6881', '192.0.2.77']

test('rank gives the same order in map and ecs mode; --json has address, pid and cost best first', async () => {
  const byMap = await json('rank', '--server', url, '--self', SELF, '--random-fraction', '0', '--json', ...CANDIDATES)
  const byEcs = await json('rank', '--server', url, '--self', SELF, '--random-fraction', '0', '--json', '--mode', 'ecs', ...CANDIDATES)
  assert.deepEqual(byMap, [
    { peer: '192.0.2.77', address: 'ipv4:192.0.2.77', port: null, pid: 'PID1', cost: 1, random: false },
    { peer: '198.51.100.200:6881', address: 'ipv4:198.51.100.200', port: 6881, pid: 'PID2', cost: 5, random: false },
    { peer: '203.0.113.9', address: 'ipv4:203.0.113.9', port: null, pid: 'PID3', cost: 10, random: false },
  ])
  assert.deepEqual(
    byEcs.map((p: any) => [p.peer, p.cost]),
    byMap.map((p: any) => [p.peer, p.cost]),
  )
  assert.ok(byEcs.every((p: any) => p.pid === null), 'the endpoint cost service names no PIDs')
  const ordinal = await json('rank', '--server', url, '--self', SELF, '--random-fraction', '0', '--json', '--cost-type', 'ord-routingcost', '--limit', '2', ...CANDIDATES)
  assert.deepEqual(ordinal.map((p: any) => [p.peer, p.cost]), [['192.0.2.77', 1], ['198.51.100.200:6881', 2]])
})

test('rank prints a table best first, marks random picks, and is reproducible with --seed', async () => {
  const plain = await alto('rank', '--server', url, '--self', SELF, '--random-fraction', '0', ...CANDIDATES)
  assert.equal(plain.status, 0, plain.stderr)
  const lines = plain.stdout.trimEnd().split('\n')
  assert.equal(lines[0], 'self 192.0.2.2 in PID1, map mode')
  assert.match(lines[1]!, /^#\s+PEER\s+PID\s+COST$/)
  assert.match(lines[2]!, /^1\s+192\.0\.2\.77\s+PID1\s+1$/)
  assert.match(lines[3]!, /^2\s+198\.51\.100\.200:6881\s+PID2\s+5$/)
  assert.match(lines[4]!, /^3\s+203\.0\.113\.9\s+PID3\s+10$/)
  assert.equal(lines.length, 5)

  const many = ['192.0.2.10', '192.0.2.11', '192.0.2.12', '198.51.100.130', '198.51.100.131', '203.0.113.1', '203.0.113.2']
  const args = ['rank', '--server', url, '--self', SELF, '--random-fraction', '0.5', '--seed', '42', ...many]
  const first = await alto(...args)
  const second = await alto(...args)
  assert.equal(first.status, 0, first.stderr)
  assert.equal(first.stdout, second.stdout, 'same seed, same ranking')
  assert.match(first.stdout, /\*$/m)
  assert.match(first.stdout, /^\* placed at random/m)
})

test('without guidance rank still prints the candidates, warns, and exits 0 (1 with --strict)', async () => {
  const dead = `http://127.0.0.1:${await closedPort()}/`
  const run = await alto('rank', '--server', dead, '--self', SELF, '--json', ...CANDIDATES)
  assert.equal(run.status, 0)
  assert.match(run.stderr, /^alto: warning: no ALTO guidance \(cannot reach the ALTO server/im)
  const peers = JSON.parse(run.stdout)
  assert.deepEqual(peers.map((p: any) => p.peer).sort(), [...CANDIDATES].sort())
  assert.ok(peers.every((p: any) => p.cost === null && p.pid === null))
  const strict = await alto('rank', '--server', dead, '--self', SELF, '--strict', ...CANDIDATES)
  assert.equal(strict.status, 1)
  assert.match(strict.stderr, /^alto: no ALTO guidance/m)
  assertNoStack(strict)
})

test('--user takes the password from ALTO_PASSWORD; a refused login exits 1', async (t) => {
  const passwordHash = await hashPassword('correct horse', { N: 1024, r: 8, p: 1 })
  const guarded = rfcServer({ port: 0, auth: { realm: 'ISP ALTO', users: [{ name: 'alice', passwordHash }] } })
  t.after(() => guarded.close())
  const guardedUrl = await guarded.listen()
  const refused = await alto('query', 'ird', '--server', guardedUrl)
  assert.equal(refused.status, 1)
  assert.match(refused.stderr, /401/)
  assertNoStack(refused)
  const inline = await json('query', 'ird', '--server', guardedUrl, '--user', 'alice:correct horse')
  assert.ok(inline.resources['my-default-network-map'])
  await withEnv({ ALTO_PASSWORD: 'correct horse' }, async () => {
    const fromEnv = await json('query', 'network-map', '--server', guardedUrl, '--user', 'alice')
    assert.deepEqual(fromEnv, fixture('rfc7285/network-map.json'))
  })
  await withEnv({ ALTO_USER: 'alice', ALTO_PASSWORD: 'correct horse', ALTO_SERVER: guardedUrl }, async () => {
    const ranked = await json('rank', '--self', SELF, '--random-fraction', '0', '--json', ...CANDIDATES)
    assert.deepEqual(ranked.map((p: any) => p.pid), ['PID1', 'PID2', 'PID3'])
  })
})

test('--ca trusts a private CA for HTTPS; without it the certificate is refused', async (t) => {
  const tls = selfSignedCertificate()
  const secure = rfcServer({ tls, port: 0 })
  t.after(() => secure.close())
  const secureUrl = await secure.listen()
  const dir = mkdtempSync(join(tmpdir(), 'altokit-ca-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const caFile = join(dir, 'ca.pem')
  writeFileSync(caFile, tls.cert)
  const ird = await json('query', 'ird', '--server', secureUrl, '--ca', caFile)
  assert.match(ird.resources['my-default-network-map'].uri, /^https:\/\//)
  const untrusted = await alto('query', 'ird', '--server', secureUrl)
  assert.equal(untrusted.status, 1)
  assert.match(untrusted.stderr, /cannot reach the ALTO server.*(self-signed|SELF_SIGNED|unable to verify)/i)
  const missing = await alto('query', 'ird', '--server', secureUrl, '--ca', join(dir, 'nope.pem'))
  assert.equal(missing.status, 2)
  assert.match(missing.stderr, /cannot read --ca .*ENOENT/)
})
