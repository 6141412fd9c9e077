import assert from 'node:assert/strict'
import { createPublicKey, generateKeyPairSync } from 'node:crypto'
import { test } from 'node:test'
import { gunzipSync } from 'node:zlib'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import {
  AttestationSigner,
  ATTESTATION_HEADER,
  contentDigest,
  generateSigningKey,
  jwkThumbprint,
  parseSigningKey,
  privateJwkToPem,
} from '../../src/server/signing.ts'
import { contentDigest as bundleDigest } from '../../src/redistribution/bundle.ts'
import { buildSnapshot } from '../../src/provisioning/snapshot.ts'
import { MT, startSigningServer, TestClock } from './helpers.ts'

test('keygen writes an Ed25519 private JWK whose kid is its RFC 7638 thumbprint', () => {
  const jwk = generateSigningKey()
  assert.equal(jwk.kty, 'OKP')
  assert.equal(jwk.crv, 'Ed25519')
  assert.equal(jwk.alg, 'EdDSA')
  assert.equal(typeof jwk.d, 'string')
  assert.equal(jwk.kid, jwkThumbprint(jwk))
  // RFC 7638 §3.1 example procedure, checked against node's own export of the same key.
  const exported = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' }).export({ format: 'jwk' })
  assert.equal(exported.x, jwk.x)
})

test('signing keys load from JWK and PEM files; other keys are refused with the file named', () => {
  const jwk = generateSigningKey()
  const fromJwk = new AttestationSigner({ key: JSON.stringify(jwk) })
  const fromPem = new AttestationSigner({ key: privateJwkToPem(jwk) })
  assert.equal(fromJwk.kid, jwk.kid)
  assert.equal(fromPem.kid, jwk.kid)
  assert.throws(() => parseSigningKey('hello', 'signing.key'), { code: 'ALTO_ERR_CONFIG', message: /signing\.key: not a usable key/ })
  const { x, kty, crv } = jwk
  assert.throws(() => new AttestationSigner({ key: JSON.stringify({ kty, crv, x }) }), { code: 'ALTO_ERR_CONFIG', message: /must be a private key/ })
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }) as string
  assert.throws(() => parseSigningKey(rsa, 'signing.previous-keys[0]', false), { code: 'ALTO_ERR_CONFIG', message: /previous-keys\[0\]: an Ed25519 key is needed, this is rsa/ })
  assert.throws(() => new AttestationSigner({ key: JSON.stringify(jwk), lifetimeS: 0 }), { code: 'ALTO_ERR_CONFIG' })
})

test('the JWKS publishes the current key first and previous keys (public parts only) for a rotation overlap', () => {
  const old = generateSigningKey()
  const current = generateSigningKey()
  const { d: _d, ...oldPublic } = old
  const signer = new AttestationSigner({ key: JSON.stringify(current), previousKeys: [JSON.stringify(oldPublic), privateJwkToPem(old)] })
  assert.deepEqual(signer.jwks.keys.map((k) => k.kid), [current.kid, old.kid])
  assert.ok(signer.jwks.keys.every((k) => !('d' in k)))
  assert.deepEqual(JSON.parse(signer.jwksBytes.toString()), signer.jwks)
})

test('an attestation binds issuer, method, URI, both content types and digests, vtag, iat and exp', async () => {
  const clock = new TestClock()
  const signer = new AttestationSigner({ key: JSON.stringify(generateSigningKey()), lifetimeS: 120, now: clock.now })
  const body = Buffer.from('{"meta":{"vtag":{"resource-id":"m","tag":"t1"}},"network-map":{}}')
  const jws = await signer.attest({
    issuer: 'https://alto.example/',
    method: 'post',
    uri: 'https://alto.example/networkmap/m-filtered',
    requestContentType: MT.networkMapFilter,
    requestBody: Buffer.from('{"pids":["PID1"]}'),
    responseContentType: MT.networkMap,
    responseBody: body,
    vtag: { 'resource-id': 'm', tag: 't1' },
  })
  assert.deepEqual(decodeProtectedHeader(jws), { alg: 'EdDSA', kid: signer.kid, typ: 'alto-attestation+jwt' })
  const claims = decodeJwt(jws)
  assert.equal(claims.iss, 'https://alto.example/')
  assert.equal(claims.iat, Math.floor(clock.t / 1000))
  assert.equal(claims.exp, Math.floor(clock.t / 1000) + 120)
  assert.deepEqual(claims.req, { method: 'POST', uri: 'https://alto.example/networkmap/m-filtered', ct: MT.networkMapFilter, cd: contentDigest(Buffer.from('{"pids":["PID1"]}')) })
  assert.deepEqual(claims.res, { status: 200, ct: MT.networkMap, cd: contentDigest(body) })
  assert.deepEqual(claims.vtag, { 'resource-id': 'm', tag: 't1' })
  assert.match(contentDigest(body), /^sha-256=:[A-Za-z0-9+/]+=*:$/)
  assert.equal(contentDigest(body), bundleDigest(body), 'server and redistribution compute the same digest')
})

test('a full map is signed once per version and URI, and again once half its lifetime has passed', async () => {
  const clock = new TestClock()
  const signer = new AttestationSigner({ key: JSON.stringify(generateSigningKey()), lifetimeS: 60, now: clock.now })
  const body = Buffer.from('{"meta":{"dependent-vtags":[{"resource-id":"m","tag":"t1"}],"cost-type":{"cost-mode":"numerical","cost-metric":"routingcost"}},"cost-map":{}}')
  const input = { issuer: 'http://a/', method: 'GET', uri: 'http://a/costmap/x', requestContentType: null, responseContentType: MT.costMap, responseBody: body }
  const first = await signer.attestCached(input)
  clock.advance(29_000)
  assert.equal(await signer.attestCached(input), first)
  assert.deepEqual(decodeJwt(first)['dependent-vtags'], [{ 'resource-id': 'm', tag: 't1' }], 'vtags read from the body once')
  assert.notEqual(await signer.attestCached({ ...input, uri: 'http://b/costmap/x', issuer: 'http://b/' }), first, 'another base is another statement')
  clock.advance(2_000)
  const renewed = await signer.attestCached(input)
  assert.notEqual(renewed, first)
  assert.equal(decodeJwt(renewed).exp, Math.floor(clock.t / 1000) + 60)
  clock.advance(1_000)
  assert.equal(await signer.attestCached(input), renewed)
  const other = await signer.attestCached({ ...input, responseBody: Buffer.from(body) })
  assert.equal(decodeJwt(other).iat, Math.floor(clock.t / 1000), 'a new version (another buffer) is signed anew')
})

test('the server attests every GET of the IRD, maps and cost maps, and a POST only when asked', async (t) => {
  const alto = await startSigningServer({ listen: false })
  t.after(() => alto.close())
  for (const [url, accept] of [['/', MT.directory], ['/networkmap/my-default-network-map', MT.networkMap], ['/costmap/costmap-num-routingcost', MT.costMap]] as const) {
    const response = await alto.server.app.inject({ method: 'GET', url, headers: { accept } })
    assert.equal(response.statusCode, 200, url)
    const claims = decodeJwt(String(response.headers[ATTESTATION_HEADER]))
    assert.deepEqual(claims.req, { method: 'GET', uri: `http://localhost${url}`, ct: null, cd: contentDigest(Buffer.alloc(0)) }, url)
    assert.deepEqual(claims.res, { status: 200, ct: accept, cd: contentDigest(response.rawPayload) }, url)
    assert.equal(claims.iss, 'http://localhost/')
  }
  const ird = JSON.parse((await alto.server.app.inject({ method: 'GET', url: '/' })).body)
  assert.deepEqual(ird.resources['attestation-keys'], { uri: 'http://localhost:80/attestation-keys', 'media-type': 'application/jwk-set+json' })
  const keys = await alto.server.app.inject({ method: 'GET', url: '/attestation-keys' })
  assert.equal(keys.headers['content-type'], 'application/jwk-set+json')
  assert.deepEqual(JSON.parse(keys.body), alto.signer.jwks)

  const body = '{"cost-type":{"cost-mode":"numerical","cost-metric":"routingcost"},"pids":{"srcs":["PID1"],"dsts":[]}}'
  const plain = await alto.server.app.inject({ method: 'POST', url: '/costmap/filtered-costmap', headers: { 'content-type': MT.costMapFilter }, payload: body })
  assert.equal(plain.statusCode, 200)
  assert.equal(plain.headers[ATTESTATION_HEADER], undefined, 'no signature unless asked')
  const asked = await alto.server.app.inject({ method: 'POST', url: '/costmap/filtered-costmap', headers: { 'content-type': MT.costMapFilter, prefer: 'alto-attestation' }, payload: body })
  assert.equal(asked.headers['preference-applied'], 'alto-attestation')
  const claims = decodeJwt(String(asked.headers[ATTESTATION_HEADER]))
  assert.deepEqual(claims.req, { method: 'POST', uri: 'http://localhost/costmap/filtered-costmap', ct: MT.costMapFilter, cd: contentDigest(Buffer.from(body)) })
  assert.equal((claims.res as { cd: string }).cd, contentDigest(asked.rawPayload))

  const error = await alto.server.app.inject({ method: 'POST', url: '/costmap/filtered-costmap', headers: { 'content-type': MT.costMapFilter, prefer: 'alto-attestation' }, payload: '{' })
  assert.equal(error.statusCode, 400)
  assert.equal(error.headers[ATTESTATION_HEADER], undefined, 'errors are not signed')
})

test('a gzipped answer is attested over its identity bytes', async (t) => {
  const pids: Record<string, { ipv4: string[] }> = {}
  for (let i = 0; i < 80; i++) pids[`pid-${i}`] = { ipv4: [`10.${i}.0.0/16`] }
  const alto = await startSigningServer({ listen: false, snapshot: buildSnapshot({ networkMaps: [{ id: 'big', pids }], costMaps: [], properties: [] }) })
  t.after(() => alto.close())
  const response = await alto.server.app.inject({ method: 'GET', url: '/networkmap/big', headers: { accept: MT.networkMap, 'accept-encoding': 'gzip' } })
  assert.equal(response.headers['content-encoding'], 'gzip')
  const identity = gunzipSync(response.rawPayload)
  const claims = decodeJwt(String(response.headers[ATTESTATION_HEADER]))
  assert.equal((claims.res as { cd: string }).cd, contentDigest(identity))
  const again = await alto.server.app.inject({ method: 'GET', url: '/networkmap/big', headers: { accept: MT.networkMap } })
  assert.equal(again.headers[ATTESTATION_HEADER], response.headers[ATTESTATION_HEADER], 'the same statement whatever the content coding')
})

test('the server and the verifier agree on the header, the JWS type and the JWKS media type', async () => {
  const server = await import('../../src/server/signing.ts')
  const peer = await import('../../src/redistribution/sharing-peer.ts')
  const verify = await import('../../src/redistribution/verify.ts')
  const ird = await import('../../src/redistribution/ird.ts')
  assert.equal(server.ATTESTATION_HEADER, peer.ATTESTATION_HEADER)
  assert.equal(server.ATTESTATION_TYPE, verify.ATTESTATION_TYPE)
  assert.equal(server.JWK_SET_MEDIA_TYPE, ird.JWK_SET_MEDIA_TYPE)
})
