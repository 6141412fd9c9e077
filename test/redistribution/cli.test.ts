/**
 * `alto keygen`, `alto share` and `alto verify` as a user runs them: the real program as a child
 * process, against a real signing server on the RFC 7285 example network.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { runAlto, startAlto, type Finished } from '../helpers/cli.ts'
import { startSigningServer, type SigningServer } from './helpers.ts'

let alto: SigningServer
const dir = mkdtempSync(join(tmpdir(), 'alto-redistribution-'))

before(async () => {
  alto = await startSigningServer({ lifetimeS: 120 })
})
after(async () => {
  await alto.close()
  rmSync(dir, { recursive: true, force: true })
})

function run(...args: string[]): Promise<Finished> {
  return runAlto(args, { timeoutMs: 30_000 })
}

test('alto keygen writes a private key file (mode 0600) and prints its key id', async () => {
  const file = join(dir, 'key.json')
  const made = await run('keygen', '-o', file)
  assert.equal(made.status, 0, made.stderr)
  const jwk = JSON.parse(readFileSync(file, 'utf8'))
  assert.equal(jwk.crv, 'Ed25519')
  assert.equal(typeof jwk.d, 'string')
  assert.equal(made.stdout, `wrote Ed25519 signing key ${jwk.kid} to ${file}\n`)
  assert.equal(statSync(file).mode & 0o777, 0o600)
  const again = await run('keygen', '-o', file)
  assert.equal(again.status, 2)
  assert.match(again.stderr, /exists; pass --force/)
  const pem = await run('keygen', '-o', join(dir, 'key.pem'), '--pem', '--json')
  assert.equal(pem.status, 0, pem.stderr)
  assert.match(readFileSync(join(dir, 'key.pem'), 'utf8'), /^-----BEGIN PRIVATE KEY-----/)
  assert.equal(JSON.parse(pem.stdout).d, undefined, 'only the public key is printed')
})

test('alto share fetches and saves bundles that alto verify accepts, and rejects with the reason when they are wrong', async () => {
  const saved = join(dir, 'bundles')
  const shared = await run('share', '--server', alto.url, '--once', '--save', saved, '--log-level', 'silent')
  assert.equal(shared.status, 0, shared.stderr)
  const summary = JSON.parse(shared.stdout)
  assert.deepEqual(summary.obtained.map((o: { source: string }) => o.source), ['server', 'server', 'server', 'server'])

  const networkMap = join(saved, 'my-default-network-map.bundle.json')
  const valid = await run('verify', networkMap, '--server', alto.url)
  assert.equal(valid.status, 0, valid.stderr)
  assert.match(valid.stdout, /^valid: GET http:\/\/127\.0\.0\.1:\d+\/networkmap\/my-default-network-map -> application\/alto-networkmap\+json \(vtags: my-default-network-map\/[^)]+\); issued by http:\/\/127\.0\.0\.1:\d+\/ with key \S+ at .+, expires .+\n$/)

  const asJson = await run('verify', networkMap, '--server', alto.url, '--resource', 'my-default-network-map', '--json')
  assert.equal(asJson.status, 0, asJson.stderr)
  assert.equal(JSON.parse(asJson.stdout).valid, true)

  // A flipped byte in the response.
  const bundle = JSON.parse(readFileSync(networkMap, 'utf8'))
  const body = Buffer.from(bundle.response.body, 'base64')
  body[20] = body[20]! ^ 0x01
  const tampered = join(dir, 'tampered.json')
  writeFileSync(tampered, JSON.stringify({ ...bundle, response: { ...bundle.response, body: body.toString('base64') } }))
  const rejected = await run('verify', tampered, '--server', alto.url, '--json')
  assert.equal(rejected.status, 1)
  assert.equal(JSON.parse(rejected.stdout).reason, 'response-digest')
  assert.match(rejected.stderr, /^alto: bundle rejected \(response-digest\): /)

  const otherRequest = await run('verify', networkMap, '--server', alto.url, '--resource', 'costmap-num-routingcost')
  assert.equal(otherRequest.status, 1)
  assert.match(otherRequest.stderr, /\(wrong-request\)/)
  const otherCostType = await run('verify', join(saved, 'costmap-num-routingcost.bundle.json'), '--server', alto.url, '--cost-type', 'ordinal/routingcost', '--uri', `${alto.url}costmap/costmap-num-routingcost`)
  assert.equal(otherCostType.status, 1)
  assert.match(otherCostType.stderr, /\(wrong-cost-type\)/)

  const jwksFile = join(dir, 'jwks.json')
  writeFileSync(jwksFile, alto.signer.jwksBytes)
  const withFile = await run('verify', networkMap, '--jwks', jwksFile, '--issuer', alto.url)
  assert.equal(withFile.status, 0, withFile.stderr)
  const wrongIssuer = await run('verify', networkMap, '--jwks', jwksFile, '--issuer', 'https://alto.other.example/')
  assert.equal(wrongIssuer.status, 1)
  assert.match(wrongIssuer.stderr, /\(wrong-issuer\)/)

  const noAnchor = await run('verify', networkMap)
  assert.equal(noAnchor.status, 2)
  assert.match(noAnchor.stderr, /say which keys to trust/)
  const missing = await run('verify', join(dir, 'nope.json'), '--server', alto.url)
  assert.equal(missing.status, 2)
})

test('alto share peers find each other through --dht-bootstrap and take the maps from one another', { timeout: 60_000 }, async (t) => {
  const before = alto.counts.get('/networkmap/my-default-network-map') ?? 0
  const first = await startAlto(['share', '--server', alto.url, '--log-level', 'silent'])
  t.after(() => first.child.kill('SIGKILL'))
  const { port } = new URL(first.url)
  // The first peer obtains everything right after it prints its line; wait until it holds the maps.
  const deadline = Date.now() + 20_000
  while ((alto.counts.get('/costmap/costmap-ord-routingcost') ?? 0) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))

  const second = await run('share', '--server', alto.url, '--dht-bootstrap', `127.0.0.1:${port}`, '--once', '--log-level', 'silent')
  assert.equal(second.status, 0, second.stderr)
  assert.deepEqual(JSON.parse(second.stdout).obtained.map((o: { source: string }) => o.source), ['peer', 'peer', 'peer', 'peer'])
  assert.equal(alto.counts.get('/networkmap/my-default-network-map'), before + 1, 'the server was asked once, by the first peer')

  // A bundle the first peer serves, verified straight from its URL.
  const key = (await import('../../src/redistribution/sharing-peer.ts')).resourceKey(`${alto.url}networkmap/my-default-network-map`).toString('hex')
  const fromPeer = await run('verify', `${first.url}alto-bundles/${key}`, '--server', alto.url)
  assert.equal(fromPeer.status, 0, fromPeer.stderr)

  first.child.kill('SIGTERM')
  assert.equal(await first.exited, 0)
})

test('alto share refuses public-router style bootstrap entries', async () => {
  const bad = await run('share', '--server', alto.url, '--dht-bootstrap', 'router.bittorrent.com:6881', '--once')
  assert.equal(bad.status, 2)
  assert.match(bad.stderr, /IPV4:PORT/)
})
