/**
 * Property-based fuzzing of every POST resource: thousands of random and mutated bodies, each
 * answered with a well-formed ALTO answer (200 with the resource's media type, or 400 with an
 * RFC 7285 error body), never a 500, a stack trace or a hang.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { body, resources } from '../helpers/alto-bodies.ts'
import { ALTO_WIRE_CODES } from '../../src/protocol/errors.ts'
import { MT, rfcServer } from '../helpers/rfc-server.ts'

const server = rfcServer({ limits: { rateLimit: { max: 0, windowMs: 1000 } } })
test.after(() => server.close())

async function checkAnswer(resource: (typeof resources)[number], payload: string): Promise<void> {
  const response = await server.app.inject({ method: 'POST', url: resource.url, headers: { 'content-type': resource.type }, payload })
  const type = response.headers['content-type']
  if (response.statusCode === 200) {
    assert.equal(type, resource.answer)
    const json = response.json()
    assert.equal(typeof json.meta, 'object')
    return
  }
  assert.equal(response.statusCode, 400, `unexpected ${response.statusCode} for ${payload}: ${response.body}`)
  assert.equal(type, MT.error)
  const meta = response.json().meta
  assert.ok((ALTO_WIRE_CODES as readonly string[]).includes(meta.code), `code ${meta.code}`)
  assert.doesNotMatch(response.body, /\n\s+at /, 'no stack trace')
  if (meta.code === 'E_MISSING_FIELD') assert.equal(typeof meta.field, 'string')
  if (meta.code === 'E_INVALID_FIELD_VALUE' && meta.value !== undefined) assert.equal(typeof meta.value, 'string')
}

for (const resource of resources) {
  test(`fuzz ${resource.url}: every body gets a well-formed ALTO answer`, async () => {
    await fc.assert(
      fc.asyncProperty(body, (payload) => checkAnswer(resource, payload)),
      { numRuns: 1500, seed: 7285 },
    )
  })
}
