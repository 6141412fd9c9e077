/**
 * Cost maps, ordinal ranking and constraints.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CostMap, CostMapError, denseRanks, parseConstraint, satisfiesAll } from '../../src/cost/index.ts'

const space = {
  pids: ['A', 'B', 'C'],
  pidIndex: (pid: string) => ['A', 'B', 'C'].indexOf(pid),
}
const numerical = { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' } as const

test('constraints: the five operators with JSON numbers; anything else refused', () => {
  assert.deepEqual(parseConstraint('le 10'), { op: 'le', value: 10 })
  assert.deepEqual(parseConstraint('gt -2.5e1'), { op: 'gt', value: -25 })
  for (const bad of ['le', 'le  10', 'LE 10', 'le 10 ', 'ne 3', 'le +1', 'le 01', 'le .5', 'le 1e999', 'le NaN', ' le 1']) {
    assert.equal(parseConstraint(bad), undefined, bad)
  }
  const between = [parseConstraint('ge 2')!, parseConstraint('lt 5')!]
  assert.deepEqual([1, 2, 4.99, 5].map((v) => satisfiesAll(v, between)), [false, true, true, false])
  assert.equal(satisfiesAll(3, [parseConstraint('eq 3')!]), true)
  assert.equal(satisfiesAll(3, []), true)
})

test('dense ranks: equal costs share a rank, no gaps, NaN stays NaN', () => {
  assert.deepEqual([...denseRanks([10, 1, 5, 1, Number.NaN, 10, 0.5])], [4, 2, 3, 2, Number.NaN, 4, 1])
})

test('fromData fills intra-PID and default costs only where none is given', () => {
  const map = CostMap.fromData(space, numerical, { A: { B: 3 }, B: { B: 7 } }, { intraPid: 1, default: 50 })
  assert.deepEqual(map.toData(), {
    A: { A: 1, B: 3, C: 50 },
    B: { A: 50, B: 7, C: 50 },
    C: { A: 50, B: 50, C: 1 },
  })
  const sparse = CostMap.fromData(space, numerical, { A: { C: 2 } })
  assert.deepEqual(sparse.toData(), { A: { C: 2 } })
  assert.ok(Number.isNaN(sparse.cost(1, 1)))
})

test('fromData refuses unknown PIDs and bad costs, saying where', () => {
  const cases: [unknown, string | undefined, string | undefined, RegExp][] = [
    [{ X: { A: 1 } }, 'X', undefined, /source PID X/],
    [{ A: { Y: 1 } }, 'A', 'Y', /destination PID Y/],
    [{ A: { B: -1 } }, 'A', 'B', />= 0/],
    [{ A: { B: '3' } }, 'A', 'B', /finite number/],
    [{ A: { B: Infinity } }, 'A', 'B', /finite number/],
    [{ A: [1] }, 'A', undefined, /object/],
  ]
  for (const [data, src, dst, message] of cases) {
    assert.throws(
      () => CostMap.fromData(space, numerical, data as never),
      (error: unknown) => error instanceof CostMapError && error.src === src && error.dst === dst && message.test(error.message),
      JSON.stringify(data),
    )
  }
  assert.throws(() => CostMap.fromData(space, numerical, {}, { default: -1 }), /default must be/)
})

test('ordinal variant and filtering', () => {
  const map = CostMap.fromData(space, numerical, { A: { A: 1, B: 10, C: 5 }, B: { A: 10, C: 5 } })
  const ordinal = map.toOrdinal()
  assert.equal(ordinal.costType['cost-mode'], 'ordinal')
  assert.deepEqual(ordinal.toData(), { A: { A: 1, B: 3, C: 2 }, B: { A: 3, C: 2 } })
  assert.deepEqual(map.filterData([1, 0], [2], []), { B: { C: 5 }, A: { C: 5 } })
  assert.deepEqual(map.filterData(null, null, [parseConstraint('gt 5')!]), { A: { B: 10 }, B: { A: 10 } })
  assert.deepEqual(map.filterData([2], null, []), {}, 'a source without costs is left out')
})
