/**
 * Cost maps, ordinal ranking and constraints.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CostMap, CostMapError, denseRanks, parseConstraint, satisfiesAll, seededRng } from '../../src/cost/index.ts'

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

test('filterJson is the JSON text of filterData: order, gaps, constraints, escaped names, any number', () => {
  const names = ['A', 'B"q', 'C\\d', 'D']
  const quoted = { pids: names, pidIndex: (pid: string) => names.indexOf(pid) }
  const rng = seededRng(7)
  const matrix = Float64Array.from({ length: 16 }, () => (rng() < 0.25 ? Number.NaN : Math.round(rng() * 1e4) / 100))
  matrix.set([1e-7, 1e21, 0.1 + 0.2, 0], 4)
  const map = CostMap.fromMatrix(quoted, numerical, matrix)
  const selections: [number[] | null, number[] | null, string[]][] = [
    [null, null, []],
    [[2, 0], [3, 1, 0], []],
    [null, [1], []],
    [null, null, ['gt 20', 'le 80']],
    [[1], [1, 2], ['eq 12345']],
    [[3], null, []],
  ]
  for (const [srcs, dsts, texts] of selections) {
    const constraints = texts.map((text) => parseConstraint(text)!)
    assert.equal(map.filterJson(srcs, dsts, constraints), JSON.stringify(map.filterData(srcs, dsts, constraints)), JSON.stringify([srcs, dsts, texts]))
  }
  const ordinal = map.toOrdinal()
  assert.equal(ordinal.filterJson(null, null, []), JSON.stringify(ordinal.toData()))
  assert.equal(CostMap.fromData(space, numerical, {}).filterJson(null, null, []), '{}')
})

test('filterJson keeps the given order where an object would move integer-like names first; it parses to the same', () => {
  const names = ['b', '10', 'a', '2']
  const numeric = { pids: names, pidIndex: (pid: string) => names.indexOf(pid) }
  const map = CostMap.fromMatrix(numeric, numerical, Float64Array.from({ length: 16 }, (_, i) => i))
  const text = map.filterJson(null, [0, 1], [])
  assert.equal(text, '{"b":{"b":0,"10":1},"10":{"b":4,"10":5},"a":{"b":8,"10":9},"2":{"b":12,"10":13}}')
  assert.deepEqual(JSON.parse(text), map.filterData(null, [0, 1], []))
  assert.equal([...map.jsonRows([3], [2], [])].join(), '"2":{"a":14}')
})
