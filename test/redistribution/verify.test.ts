import assert from 'node:assert/strict'
import { createPrivateKey } from 'node:crypto'
import { test } from 'node:test'
import { SignJWT } from 'jose'
import { decodeBundle, encodeBundle, type Bundle } from '../../src/redistribution/bundle.ts'
import { httpGet } from '../../src/redistribution/http.ts'
import { JwksKeys, ServerKeys } from '../../src/redistribution/keys.ts'
import { REJECT_REASONS, type RejectReason } from '../../src/redistribution/reasons.ts'
import { verifyBundle, type VerifyOptions, type Wanted } from '../../src/redistribution/verify.ts'
import { AttestationSigner, generateSigningKey, type PrivateJwk } from '../../src/server/signing.ts'
import { injectBundle, MT, startSigningServer, TestClock, wireSigning } from './helpers.ts'
import { rfcServer } from '../helpers/rfc-server.ts'

const NETWORK_MAP = '/networkmap/my-default-network-map'
const NUM_COSTS = '/costmap/costmap-num-routingcost'
const ORD_COSTS = '/costmap/costmap-ord-routingcost'
const NUMERICAL = { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' } as const
const uri = (path: string) => `http://localhost${path}`

async function rejects(promise: Promise<unknown>, reason: RejectReason, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: { code?: string; reason?: string; message: string }) => {
    assert.equal(error.code, 'ALTO_ERR_BUNDLE_REJECTED')
    assert.equal(error.reason, reason, error.message)
    if (message) assert.match(error.message, message)
    return true
  })
}

async function setup(t: { after(fn: () => unknown): void }) {
  const clock = new TestClock()
  const alto = await startSigningServer({ listen: false, now: clock.now, lifetimeS: 60 })
  t.after(() => alto.close())
  const options: VerifyOptions = { keys: new JwksKeys(alto.signer.jwks, { issuer: 'http://localhost/' }), now: clock.now }
  return { clock, alto, options }
}

function flipByte(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes)
  copy[at] = copy[at]! ^ 0x01
  return copy
}

/** Sign a bundle's claims again with another key and header: what a forger can do. */
async function forge(bundle: Bundle, key: PrivateJwk, header: Record<string, unknown>): Promise<Bundle> {
  const claims = JSON.parse(Buffer.from(bundle.attestation.split('.')[1]!, 'base64url').toString())
  const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.x, d: key.d }, format: 'jwk' })
  const attestation = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', typ: 'alto-attestation+jwt', ...header }).sign(privateKey)
  return { ...bundle, attestation }
}

test('a bundle of the server\'s answer verifies, and carries the exact bytes through encoding', async (t) => {
  const { alto, options } = await setup(t)
  const bundle = await injectBundle(alto.server, NETWORK_MAP, { accept: MT.networkMap })
  const decoded = decodeBundle(encodeBundle(bundle))
  assert.deepEqual(decoded, bundle)
  const verified = await verifyBundle(encodeBundle(bundle), { uri: uri(NETWORK_MAP), mediaType: MT.networkMap }, options)
  assert.equal(verified.kid, alto.signer.kid)
  assert.deepEqual(verified.claims.vtag, { 'resource-id': 'my-default-network-map', tag: (verified.json as any).meta.vtag.tag })
  assert.equal(verified.expiresAt - verified.issuedAt, 60_000)
  assert.ok(verified.bundle.response.body.equals(bundle.response.body))
})

test('a flipped byte in the response is rejected: response-digest', async (t) => {
  const { alto, options } = await setup(t)
  const bundle = await injectBundle(alto.server, NUM_COSTS, { accept: MT.costMap })
  const tampered = { ...bundle, response: { ...bundle.response, body: flipByte(bundle.response.body, 40) } }
  await rejects(verifyBundle(tampered, { uri: uri(NUM_COSTS), costType: NUMERICAL }, options), 'response-digest')
})

test('a changed request body is rejected: request-digest', async (t) => {
  const { alto, options } = await setup(t)
  const body = '{"cost-type":{"cost-mode":"numerical","cost-metric":"routingcost"},"pids":{"srcs":["PID1"],"dsts":["PID2"]}}'
  const bundle = await injectBundle(alto.server, '/costmap/filtered-costmap', { accept: MT.costMap, post: { contentType: MT.costMapFilter, body } })
  const wanted: Wanted = { uri: uri('/costmap/filtered-costmap'), request: JSON.parse(body), costType: NUMERICAL }
  await verifyBundle(bundle, wanted, options)
  const tampered = { ...bundle, request: { ...bundle.request, body: Buffer.from(body.replace('PID2', 'PID3')) } }
  await rejects(verifyBundle(tampered, wanted, options), 'request-digest')
})

test('a bundle answering another request is rejected: wrong-request', async (t) => {
  const { alto, options } = await setup(t)
  const networkMap = await injectBundle(alto.server, NETWORK_MAP, { accept: MT.networkMap })
  await rejects(verifyBundle(networkMap, { uri: uri(NUM_COSTS), mediaType: MT.costMap, costType: NUMERICAL }, options), 'wrong-request', /answers GET http:\/\/localhost\/networkmap/)
  await rejects(verifyBundle(networkMap, { uri: uri('/networkmap/another-map') }, options), 'wrong-request')
  await rejects(verifyBundle(networkMap, { uri: uri(NETWORK_MAP), method: 'POST' }, options), 'wrong-request')
  // Same resource, other parameters: other PIDs.
  const body = '{"cost-type":{"cost-mode":"numerical","cost-metric":"routingcost"},"pids":{"srcs":["PID1"],"dsts":["PID2","PID3"]}}'
  const filtered = await injectBundle(alto.server, '/costmap/filtered-costmap', { accept: MT.costMap, post: { contentType: MT.costMapFilter, body } })
  const wanted = JSON.parse(body)
  await verifyBundle(filtered, { uri: uri('/costmap/filtered-costmap'), request: { ...wanted, pids: { dsts: ['PID3', 'PID2'], srcs: ['PID1'] } } }, options)
  await rejects(verifyBundle(filtered, { uri: uri('/costmap/filtered-costmap'), request: { ...wanted, pids: { srcs: ['PID1'], dsts: ['PID2'] } } }, options), 'wrong-request')
})

test('a cost map for another cost type is rejected: wrong-cost-type', async (t) => {
  const { alto, options } = await setup(t)
  const ordinal = await injectBundle(alto.server, ORD_COSTS, { accept: MT.costMap })
  await rejects(verifyBundle(ordinal, { uri: uri(NUM_COSTS), mediaType: MT.costMap, costType: NUMERICAL }, options), 'wrong-cost-type', /for cost type ordinal routingcost, not the wanted numerical routingcost/)
  const body = '{"cost-type":{"cost-mode":"ordinal","cost-metric":"routingcost"},"pids":{"srcs":["PID1"],"dsts":["PID2"]}}'
  const filtered = await injectBundle(alto.server, '/costmap/filtered-costmap', { accept: MT.costMap, post: { contentType: MT.costMapFilter, body } })
  const wanted = { ...JSON.parse(body), 'cost-type': NUMERICAL }
  await rejects(verifyBundle(filtered, { uri: uri('/costmap/filtered-costmap'), request: wanted, costType: NUMERICAL }, options), 'wrong-cost-type')
})

test('an expired attestation is rejected: expired; one from the future: not-yet-valid', async (t) => {
  const { clock, alto, options } = await setup(t)
  const bundle = await injectBundle(alto.server, NETWORK_MAP, { accept: MT.networkMap })
  const wanted = { uri: uri(NETWORK_MAP) }
  clock.advance(60_000)
  await verifyBundle(bundle, wanted, options)
  clock.advance(6_000) // past exp and the 5 s tolerance
  await rejects(verifyBundle(bundle, wanted, options), 'expired', /expired at .*\(now /)
  clock.advance(-120_000)
  await rejects(verifyBundle(bundle, wanted, options), 'not-yet-valid')
})

test('a key the server does not publish is rejected: unknown-key', async (t) => {
  const { alto, options } = await setup(t)
  const bundle = await injectBundle(alto.server, NETWORK_MAP, { accept: MT.networkMap })
  const stranger = generateSigningKey()
  await rejects(verifyBundle(await forge(bundle, stranger, { kid: stranger.kid }), { uri: uri(NETWORK_MAP) }, options), 'unknown-key', new RegExp(stranger.kid))
  await rejects(verifyBundle(await forge(bundle, stranger, {}), { uri: uri(NETWORK_MAP) }, options), 'unknown-key', /names no kid/)
})

test('a key the sender supplies is refused, never used: sender-key', async (t) => {
  const { alto, options } = await setup(t)
  const bundle = await injectBundle(alto.server, NETWORK_MAP, { accept: MT.networkMap })
  const forger = generateSigningKey()
  const { d: _d, ...forgerPublic } = forger
  // The forger's public key in the JWS header, even under the server's own kid.
  await rejects(verifyBundle(await forge(bundle, forger, { kid: alto.signer.kid, jwk: forgerPublic }), undefined, options), 'sender-key', /JWS header jwk/)
  await rejects(verifyBundle(await forge(bundle, forger, { kid: forger.kid, jku: 'http://evil.example/keys' }), undefined, options), 'sender-key')
  // Or next to the bundle.
  const envelope = JSON.parse(encodeBundle(await forge(bundle, forger, { kid: forger.kid })).toString())
  envelope.jwks = { keys: [forgerPublic] }
  await rejects(verifyBundle(JSON.stringify(envelope), undefined, options), 'sender-key', /member jwks/)
})

test('issuer, algorithm, signature and envelope are each checked with their own reason', async (t) => {
  const { alto, options } = await setup(t)
  const bundle = await injectBundle(alto.server, NETWORK_MAP, { accept: MT.networkMap })
  await rejects(verifyBundle(bundle, undefined, { ...options, keys: new JwksKeys(alto.signer.jwks, { issuer: 'https://alto.other.example/' }) }), 'wrong-issuer', /issued by http:\/\/localhost\/, not by .*alto\.other/)

  const [header, payload, signature] = bundle.attestation.split('.') as [string, string, string]
  const hs256 = Buffer.from(JSON.stringify({ alg: 'HS256', kid: alto.signer.kid, typ: 'alto-attestation+jwt' })).toString('base64url')
  await rejects(verifyBundle({ ...bundle, attestation: `${hs256}.${payload}.${signature}` }, undefined, options), 'bad-algorithm', /HS256 is not allowed/)
  const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'alto-attestation+jwt' })).toString('base64url')
  await rejects(verifyBundle({ ...bundle, attestation: `${none}.${payload}.` }, undefined, options), 'bad-algorithm')

  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString())
  claims.res.cd = 'sha-256=:AAAA:'
  const otherPayload = Buffer.from(JSON.stringify(claims)).toString('base64url')
  await rejects(verifyBundle({ ...bundle, attestation: `${header}.${otherPayload}.${signature}` }, undefined, options), 'bad-signature')
  const flipped = signature[0] === 'A' ? `B${signature.slice(1)}` : `A${signature.slice(1)}`
  await rejects(verifyBundle({ ...bundle, attestation: `${header}.${payload}.${flipped}` }, undefined, options), 'bad-signature')

  await rejects(verifyBundle({ ...bundle, request: { ...bundle.request, uri: uri(NUM_COSTS) } }, undefined, options), 'envelope-mismatch')
  await rejects(verifyBundle({ ...bundle, response: { ...bundle.response, contentType: MT.costMap } }, undefined, options), 'envelope-mismatch')
})

test('unreadable bundles are rejected: malformed', async (t) => {
  const { alto, options } = await setup(t)
  const bundle = JSON.parse(encodeBundle(await injectBundle(alto.server, NETWORK_MAP, { accept: MT.networkMap })).toString())
  await rejects(verifyBundle('not json', undefined, options), 'malformed', /not JSON/)
  await rejects(verifyBundle(JSON.stringify({ ...bundle, 'alto-bundle': 2 }), undefined, options), 'malformed')
  await rejects(verifyBundle(JSON.stringify({ ...bundle, response: { ...bundle.response, body: '!!not base64' } }), undefined, options), 'malformed', /response\/body/)
  await rejects(verifyBundle(JSON.stringify({ ...bundle, attestation: 'abc' }), undefined, options), 'malformed')
  const typ = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: alto.signer.kid, typ: 'JWT' })).toString('base64url')
  await rejects(verifyBundle(JSON.stringify({ ...bundle, attestation: `${typ}.${bundle.attestation.split('.').slice(1).join('.')}` }), undefined, options), 'malformed', /typ is JWT/)
})

test('every rejection reason is documented in docs/redistribution.md', async () => {
  const { readFileSync } = await import('node:fs')
  const docs = readFileSync(new URL('../../docs/redistribution.md', import.meta.url), 'utf8')
  for (const reason of Object.keys(REJECT_REASONS)) assert.ok(docs.includes(`\`${reason}\``), `${reason} is missing from docs/redistribution.md`)
})

test('server keys: the JWKS is found through the server\'s IRD, cached, and refetched for a rotated-in key', async (t) => {
  const clock = new TestClock()
  const first = generateSigningKey()
  const alto = await startSigningServer({ key: JSON.stringify(first), now: clock.now })
  t.after(() => alto.close())
  const keys = new ServerKeys({ issuer: alto.url, now: clock.now, minRefetchMs: 10_000 })
  const networkMapUri = `${alto.url}networkmap/my-default-network-map`
  const bundleOf = async (signer: AttestationSigner): Promise<Bundle> => {
    const { body } = await httpGet(networkMapUri, MT.networkMap)
    const attestation = await signer.attestCached({ issuer: alto.url, method: 'GET', uri: networkMapUri, requestContentType: null, responseContentType: MT.networkMap, responseBody: body })
    return { attestation, request: { method: 'GET', uri: networkMapUri, contentType: null, body: Buffer.alloc(0) }, response: { contentType: MT.networkMap, body } }
  }
  await verifyBundle(await bundleOf(alto.signer), { uri: networkMapUri }, { keys, now: clock.now })
  await verifyBundle(await bundleOf(alto.signer), { uri: networkMapUri }, { keys, now: clock.now })
  assert.equal(alto.counts.get('/'), 1, 'the IRD was read once, from the server, for the JWKS URI')
  assert.equal(alto.counts.get('/attestation-keys'), 1, 'the JWKS is cached')

  // Rotation: a new key signs; the old one stays published for the overlap.
  const second = generateSigningKey()
  const rotated = new AttestationSigner({ key: JSON.stringify(second), previousKeys: [JSON.stringify(first)], now: clock.now })
  const server2 = wireSigning(rfcServer({ host: '127.0.0.1', port: Number(new URL(alto.url).port) }), rotated)
  const oldBundle = await bundleOf(alto.signer)
  await alto.close()
  await server2.listen()
  t.after(() => server2.close())
  const newBundle = await bundleOf(rotated)
  await rejects(verifyBundle(newBundle, undefined, { keys, now: clock.now }), 'unknown-key', /not published/) // refetch rate-limited
  clock.advance(10_000)
  await verifyBundle(newBundle, undefined, { keys, now: clock.now })
  await verifyBundle(oldBundle, undefined, { keys, now: clock.now })
})

test('server keys that cannot be fetched give keys-unavailable', async (t) => {
  const { alto } = await setup(t)
  const bundle = await injectBundle(alto.server, NETWORK_MAP, { accept: MT.networkMap })
  const keys = new ServerKeys({ issuer: 'http://localhost/', jwksUri: 'http://127.0.0.1:9/attestation-keys', timeoutMs: 1000 })
  await rejects(verifyBundle(bundle, undefined, { keys }), 'keys-unavailable', /cannot get the signing keys of http:\/\/localhost\//)
})

test('a JWKS hint from an unverified IRD is taken only on the issuer\'s origin', () => {
  const keys = new ServerKeys({ issuer: 'https://alto.example/' })
  const ird = (keysUri: string) => Buffer.from(JSON.stringify({ meta: {}, resources: { k: { uri: keysUri, 'media-type': 'application/jwk-set+json' } } }))
  keys.noteIrd(ird('https://evil.example/keys'), false)
  assert.equal(keys.description, 'the JWKS listed in https://alto.example/')
  keys.noteIrd(ird('https://alto.example/attestation-keys'), false)
  assert.equal(keys.description, 'https://alto.example/attestation-keys')
  keys.forgetHint()
  assert.equal(keys.description, 'the JWKS listed in https://alto.example/')
})
