/**
 * TLS, HTTP Basic authentication and access control, over real sockets on loopback.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request as httpsRequest } from 'node:https'
import { request as httpRequest } from 'node:http'
import { hashPassword } from '../../src/server/passwords.ts'
import { rfcServer } from '../helpers/rfc-server.ts'
import { selfSignedCertificate } from '../helpers/tls.ts'

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

function get(url: string, options: { ca?: string; auth?: string; localAddress?: string } = {}): Promise<Answer> {
  const target = new URL(url)
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      { ca: options.ca, auth: options.auth, localAddress: options.localAddress, headers: { accept: 'application/alto-directory+json' } },
      (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (chunk) => (body += chunk))
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
      },
    )
    req.on('error', reject)
    req.setTimeout(5000, () => req.destroy(new Error('timeout')))
    req.end()
  })
}

test('TLS: HTTPS with the configured certificate; untrusted without its CA', async (t) => {
  const tls = selfSignedCertificate()
  const server = rfcServer({ tls, port: 0 })
  t.after(() => server.close())
  const url = await server.listen()
  assert.match(url, /^https:\/\/127\.0\.0\.1:\d+\/$/)
  const answer = await get(url, { ca: tls.cert })
  assert.equal(answer.status, 200)
  assert.match(JSON.parse(answer.body).resources['my-default-network-map'].uri, /^https:\/\//)
  await assert.rejects(get(url), /self-signed|unable to verify|SELF_SIGNED/i)
})

test('HTTP Basic: 401 with a challenge, wrong password refused, right one admitted', async (t) => {
  const passwordHash = await hashPassword('correct horse', { N: 1024, r: 8, p: 1 })
  const server = rfcServer({ port: 0, auth: { realm: 'ISP ALTO', users: [{ name: 'alice', passwordHash }] } })
  t.after(() => server.close())
  const url = await server.listen()
  const anonymous = await get(url)
  assert.equal(anonymous.status, 401)
  assert.equal(anonymous.headers['www-authenticate'], 'Basic realm="ISP ALTO", charset="UTF-8"')
  assert.equal((await get(url, { auth: 'alice:wrong' })).status, 401)
  assert.equal((await get(url, { auth: 'mallory:correct horse' })).status, 401)
  const admitted = await get(url, { auth: 'alice:correct horse' })
  assert.equal(admitted.status, 200)
  assert.match(String(admitted.headers['cache-control']), /^private/)
  // The second request is answered from the verification cache, and still needs the right header.
  assert.equal((await get(url, { auth: 'alice:correct horse' })).status, 200)
  assert.equal((await get(url, { auth: 'alice:correct hors' })).status, 401)
})

test('access control: only listed client prefixes get answers, others 403', async (t) => {
  const server = rfcServer({ port: 0, host: '127.0.0.1', access: { allow: ['127.0.0.2/32', '2001:db8::/32'] } })
  t.after(() => server.close())
  const url = await server.listen()
  const outsider = await get(url, { localAddress: '127.0.0.1' })
  assert.equal(outsider.status, 403)
  assert.equal(JSON.parse(outsider.body).status, 403)
  const customer = await get(url, { localAddress: '127.0.0.2' })
  assert.equal(customer.status, 200)
})

test('a connection that never finishes its headers is closed by the header timeout', async (t) => {
  const server = rfcServer({ port: 0, limits: { headerTimeoutMs: 300, requestTimeoutMs: 300 } })
  t.after(() => server.close())
  const url = new URL(await server.listen())
  const { connect } = await import('node:net')
  const socket = connect(Number(url.port), url.hostname)
  socket.write('GET / HTTP/1.1\r\nHost: x\r\n') // and nothing more
  let closedByUs = false
  const answer = await new Promise<string>((resolve) => {
    let data = ''
    socket.on('data', (chunk) => (data += chunk))
    socket.on('close', () => resolve(data))
    socket.setTimeout(20_000, () => {
      closedByUs = true
      socket.destroy()
    })
  })
  assert.equal(closedByUs, false, 'the server closed the connection')
  assert.match(answer, /^$|^HTTP\/1\.1 408/, 'no answer, or a 408')
})
