/**
 * `alto simulate` as a user runs it: tables, JSON, charts in --out, exit statuses.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { XMLValidator } from 'fast-xml-parser'
import { runAlto } from '../helpers/cli.ts'

test('`alto simulate tracker-list --json` is reproducible and carries the exact values', async () => {
  const args = ['simulate', 'tracker-list', '--trials', '2000', '--seed', '5', '--json']
  const [a, b] = await Promise.all([runAlto(args), runAlto(args)])
  assert.equal(a.status, 0, a.stderr)
  assert.equal(a.stdout, b.stdout)
  const result = JSON.parse(a.stdout)
  assert.equal(result.scenario, 'tracker-list')
  assert.equal(result.summary.exact.pNone, 0.36419452)
  assert.match(a.stderr, /tracker-list: \d+\.\d s/)
})

test('`alto simulate bittorrent --out` prints a table and writes valid SVG charts and an index.html', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'altokit-simulate-'))
  try {
    const r = await runAlto(['simulate', 'bittorrent', '--peers', '150', '--file-size', '2', '--policies', 'random,tracker-alto-20', '--out', dir])
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /random tracker\s+\d/)
    assert.match(r.stdout, /tracker-side ALTO, 20% random\s+\d/)
    const files = readdirSync(dir)
    assert.ok(files.includes('index.html') && files.includes('bittorrent.json'))
    const svgs = files.filter((f) => f.endsWith('.svg'))
    assert.ok(svgs.length >= 4, files.join(' '))
    for (const f of svgs) assert.equal(XMLValidator.validate(readFileSync(join(dir, f), 'utf8')), true, f)
    const html = readFileSync(join(dir, 'index.html'), 'utf8')
    for (const f of svgs) assert.ok(html.includes(`src="${f}"`), f)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('bad usage exits 2', async () => {
  const cases = [
    ['simulate', 'nosuch'],
    ['simulate', 'bittorrent', '--policies', 'nearest'],
    ['simulate', 'bittorrent', '--cost-metric', 'nosuch'],
    ['simulate', 'live-streaming', '--loads', '0'],
    ['simulate', 'tracker-list', '--swarm', '10', '--favourable', '20'],
  ]
  const results = await Promise.all(cases.map((args) => runAlto(args)))
  results.forEach((r, i) => {
    assert.equal(r.status, 2, `${cases[i]!.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, /\S/)
  })
})
