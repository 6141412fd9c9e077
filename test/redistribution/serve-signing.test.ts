/**
 * Signing wired into `alto serve` from the config file, as an operator sets it up: `alto keygen`,
 * `server.signing.key`, then a sharing peer obtains bundles that `alto verify` accepts.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fixturePath } from '../helpers/rfc-server.ts'
import { runAlto, startAlto } from '../helpers/cli.ts'

test('alto serve signs with the configured key; shared bundles verify, a tampered one does not', { timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'altokit-sign-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  assert.equal((await runAlto(['keygen', '-o', join(dir, 'key.json')])).status, 0)
  writeFileSync(join(dir, 'alto.yaml'), [
    'server:',
    '  signing:',
    '    key: key.json',
    '    lifetime-s: 60',
    'network-maps:',
    `  - file: ${fixturePath('rfc7285/network-map.json')}`,
    'cost-maps:',
    `  - file: ${fixturePath('rfc7285/cost-map.json')}`,
    '',
  ].join('\n'))
  const alto = await startAlto(['serve', '--config', join(dir, 'alto.yaml'), '--port', '0'])
  t.after(() => alto.child.kill('SIGTERM'))
  const ird = await (await fetch(alto.url)).json()
  assert.equal(ird.resources['attestation-keys'].uri, `${alto.url}attestation-keys`)
  const keys = await (await fetch(`${alto.url}attestation-keys`)).json()
  assert.equal(keys.keys.length, 1)
  assert.equal(keys.keys[0].crv, 'Ed25519')
  assert.ok(!('d' in keys.keys[0]), 'never the private part')
  const map = await fetch(`${alto.url}networkmap/my-default-network-map`)
  assert.match(map.headers.get('alto-attestation') ?? '', /^[\w-]+\.[\w-]+\.[\w-]+$/)

  const saved = join(dir, 'bundles')
  const share = await runAlto(['share', '--server', alto.url, '--once', '--save', saved, '--log-level', 'warn'], { timeoutMs: 60_000 })
  assert.equal(share.status, 0, share.stderr)
  const files = readdirSync(saved)
  assert.ok(files.includes('my-default-network-map.bundle.json'), files.join(', '))
  const bundle = join(saved, 'my-default-network-map.bundle.json')
  const ok = await runAlto(['verify', bundle, '--server', alto.url])
  assert.equal(ok.status, 0, ok.stderr)
  // One flipped byte of the response: rejected, with the reason.
  const tampered = JSON.parse(readFileSync(bundle, 'utf8'))
  const response = Buffer.from(tampered.response.body, 'base64')
  response[response.indexOf('PID1') + 3] = '9'.charCodeAt(0)
  tampered.response.body = response.toString('base64')
  writeFileSync(join(dir, 'tampered.json'), JSON.stringify(tampered))
  const bad = await runAlto(['verify', join(dir, 'tampered.json'), '--server', alto.url])
  assert.equal(bad.status, 1)
  assert.match(bad.stderr + bad.stdout, /response-digest/)
  alto.child.kill('SIGTERM')
  assert.equal(await alto.exited, 0)
})
