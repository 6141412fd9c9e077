/**
 * Cost map entries in a config: checked where they stand, each PID name once, and every failure
 * still names the entry at fault and its line.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AltoConfigError } from '../../src/protocol/errors.ts'
import { loadConfigText } from '../../src/provisioning/config.ts'

const config = (rows: string[]) =>
  [
    'network-maps:',
    '  - id: net',
    '    pids: { A: { ipv4: [10.0.0.0/8] }, B: { ipv4: [11.0.0.0/8] } }',
    'cost-maps:',
    '  - cost-metric: routingcost',
    '    costs:',
    ...rows.map((row) => `      ${row}`),
    '',
  ].join('\n')

function failure(rows: string[]): AltoConfigError {
  try {
    loadConfigText(config(rows), { file: 'costs.yaml', baseDir: '.' })
  } catch (error) {
    assert.ok(error instanceof AltoConfigError, String(error))
    return error
  }
  assert.fail('expected an AltoConfigError')
}

test('costs load as given', () => {
  const loaded = loadConfigText(config(['A: { A: 1, B: 2.5 }', 'B: { A: 2.5, B: 1 }']), { file: 'costs.yaml', baseDir: '.' })
  assert.deepEqual(loaded.network.costMaps[0]?.costs, { A: { A: 1, B: 2.5 }, B: { A: 2.5, B: 1 } })
})

test('a bad name or cost in a later row is named with its row, field and line', () => {
  const badName = failure(['A: { A: 1, B: 2 }', 'B: { A: 2, "B C": 1 }'])
  assert.equal(badName.field, 'cost-maps[0].costs.B["B C"]')
  assert.equal(badName.line, 8)
  assert.match(badName.message, /"B C" is not a valid PID name/)

  const negative = failure(['A: { A: 1, B: 2 }', 'B: { A: -2, B: 1 }'])
  assert.equal(negative.field, 'cost-maps[0].costs.B.A')
  assert.equal(negative.line, 8)
  assert.match(negative.message, /must not be negative/)

  const text = failure(['A: { A: 1, B: far }'])
  assert.equal(text.field, 'cost-maps[0].costs.A.B')
  assert.match(text.message, /must be a number, not the string "far"/)

  const row = failure(['A: { A: 1, B: 2 }', 'B: [1, 2]'])
  assert.equal(row.field, 'cost-maps[0].costs.B')
  assert.match(row.message, /must be a mapping/)
})
