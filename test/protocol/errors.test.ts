/**
 * The error registry: every code is documented, and protocol errors carry the RFC 7285 fields.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { ALTO_WIRE_CODES, AltoProtocolError, createAltoError, ERROR_CODES, isAltoError, isAltoProtocolError } from '../../src/protocol/errors.ts'

const docs = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')

test('every error code is in docs/errors.md', () => {
  for (const code of [...Object.keys(ERROR_CODES), ...ALTO_WIRE_CODES]) assert.ok(docs.includes(`\`${code}\``), `${code} is missing from docs/errors.md`)
})

test('createAltoError fills the message template and the HTTP status', () => {
  const error = createAltoError('ALTO_ERR_RATE_LIMITED', [3])
  assert.equal(error.statusCode, 429)
  assert.equal(error.message, 'Too many requests; retry in 3 seconds')
  assert.ok(isAltoError(error))
  assert.ok(!isAltoProtocolError(error))
})

test('AltoProtocolError serializes the RFC 7285 §8.5.2 meta', () => {
  const error = new AltoProtocolError('E_INVALID_FIELD_VALUE', 'bad', { field: 'pids/srcs', value: 7 })
  assert.deepEqual(error.toMeta(), { code: 'E_INVALID_FIELD_VALUE', field: 'pids/srcs', value: '7' })
  assert.equal(error.statusCode, 400)
  assert.equal(error.code, 'ALTO_ERR_INVALID_FIELD_VALUE')
  assert.deepEqual(new AltoProtocolError('E_SYNTAX', 'x', { syntaxError: 'at 3' }).toMeta(), { code: 'E_SYNTAX', 'syntax-error': 'at 3' })
})

test('errors of the request (4xx) and refusals under load (503) carry no stack; faults keep theirs', () => {
  const frames = (error: Error) => (error.stack ?? '').split('\n').filter((line) => line.trimStart().startsWith('at ')).length
  assert.equal(frames(createAltoError('ALTO_ERR_NOT_FOUND', ['/x'])), 0)
  assert.equal(frames(new AltoProtocolError('E_SYNTAX', 'bad')), 0)
  assert.equal(frames(createAltoError('ALTO_ERR_OVERLOADED', [1])), 0)
  assert.ok(frames(createAltoError('ALTO_ERR_INTERNAL')) > 0)
  assert.ok(frames(createAltoError('ALTO_ERR_CONFIG', ['x'])) > 0)
  assert.equal(Error.stackTraceLimit, 10, 'the limit is restored')
  assert.ok(frames(new Error('plain')) > 0)
})
