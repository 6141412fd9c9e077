/**
 * Charts are well-formed SVG (parsed as XML), and the report folder holds them and an index.html.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { formatTick, renderChart } from '../../src/sim/chart/svg.ts'
import { renderIndex, writeReport } from '../../src/sim/report.ts'
import type { ChartSpec, ScenarioResult } from '../../src/sim/result.ts'

function assertSvg(text: string): void {
  const valid = XMLValidator.validate(text)
  assert.equal(valid, true, JSON.stringify(valid))
  const doc = new XMLParser({ ignoreAttributes: false }).parse(text)
  assert.equal(doc.svg['@_xmlns'], 'http://www.w3.org/2000/svg')
}

const charts: ChartSpec[] = [
  { kind: 'line', file: 'a.svg', title: 'CDF <of> "delays" & more', xLabel: 'x', yLabel: 'y', step: true, series: [{ name: 'a & b', points: [[0, 0], [1, 0.5], [3, 1]] }, { name: 'c', points: [[0.5, 0.2], [2, 0.9]], dashed: true }] },
  { kind: 'line', file: 'b.svg', title: 'log-log', xLabel: 'peers', yLabel: 'req/s', logX: true, logY: true, series: [{ name: 'ecs', points: [[1e3, 33], [1e6, 33333]] }, { name: 'zero is skipped', points: [[0, 0], [10, 1]] }] },
  { kind: 'line', file: 'c.svg', title: 'empty', xLabel: 'x', yLabel: 'y', series: [] },
  { kind: 'bar', file: 'd.svg', title: 'bars', yLabel: '%', categories: ['random tracker', 'peer-side', 'tracker-side, 20% rnd'], series: [{ name: 'cross-PID', values: [94, 84, 30] }, { name: 'cross-ISP', values: [30, 22, NaN] }], yMax: 100 },
  { kind: 'bar', file: 'e.svg', title: 'log bars', yLabel: 'req/s', logY: true, categories: ['a', 'b'], series: [{ name: 'mean', values: [0.03, 350] }] },
]

test('every kind of chart is well-formed SVG', () => {
  for (const spec of charts) assertSvg(renderChart(spec))
})

test('text is escaped and the series are drawn', () => {
  const svg = renderChart(charts[0]!)
  assert.ok(svg.includes('CDF &lt;of&gt; &quot;delays&quot; &amp; more'))
  assert.equal((svg.match(/<polyline/g) ?? []).length, 2)
  assert.equal((renderChart(charts[3]!).match(/<rect x=/g) ?? []).length, 5 + 1) // five finite bars and the background
})

test('tick labels are short', () => {
  assert.equal(formatTick(0), '0')
  assert.equal(formatTick(1500), '1500')
  assert.equal(formatTick(25000), '25k')
  assert.equal(formatTick(2e6), '2M')
  assert.equal(formatTick(0.25), '0.25')
})

test('the report folder holds the SVGs, the JSON and an index.html showing them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'altokit-sim-'))
  try {
    const result: ScenarioResult = {
      scenario: 'demo',
      title: 'Demo & test',
      seed: 1,
      parameters: { peers: 3, list: [1, 2] },
      summary: {},
      tables: [{ title: 't', columns: ['a', 'b'], rows: [['x', 1.5], ['y', null]] }],
      charts,
      claims: [{ source: 'seed 002', claim: '36%', measured: '36.4%' }],
      notes: ['a <note>'],
    }
    const files = writeReport(dir, [result])
    assert.equal(files.length, charts.length + 2)
    assert.deepEqual(readdirSync(dir).sort(), ['a.svg', 'b.svg', 'c.svg', 'd.svg', 'demo.json', 'e.svg', 'index.html'])
    for (const spec of charts) assertSvg(readFileSync(join(dir, spec.file), 'utf8'))
    const html = readFileSync(join(dir, 'index.html'), 'utf8')
    for (const spec of charts) assert.ok(html.includes(`<img src="${spec.file}"`))
    assert.ok(html.includes('a &lt;note&gt;'))
    assert.equal(html, renderIndex([result]))
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'demo.json'), 'utf8')).claims, result.claims)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
