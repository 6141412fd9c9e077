/**
 * @module sim/report
 * Presenting a scenario's result: aligned text tables for the terminal, and an output folder with
 * one SVG per chart, the result as JSON, and an index.html that shows the tables, the charts and
 * the seed's claims next to the measured values.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { escapeXml, renderChart } from './chart/svg.ts'
import type { Cell, ScenarioResult, Table } from './result.ts'

export function formatCell(cell: Cell): string {
  if (cell === null) return '-'
  if (typeof cell === 'number') {
    if (!Number.isFinite(cell)) return String(cell)
    if (Number.isInteger(cell)) return String(cell)
    return String(Number(cell.toPrecision(4)))
  }
  return cell
}

/** A table as aligned columns: text left, numbers right. */
export function formatTable(table: Table): string {
  const rows = [table.columns, ...table.rows.map((r) => r.map(formatCell))]
  const numeric = table.columns.map((_, c) => table.rows.every((r) => typeof r[c] === 'number' || r[c] === null))
  const widths = table.columns.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)))
  const lines = rows.map((r) => r.map((cell, c) => (numeric[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd())
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '))
  return `${table.title}\n${lines.join('\n')}\n`
}

/** The whole result for a terminal: tables, then the claims, then the notes. */
export function formatText(result: ScenarioResult): string {
  const parts = [`${result.title} (seed ${result.seed})\n`]
  for (const table of result.tables) parts.push(formatTable(table))
  if (result.claims.length > 0) {
    parts.push(formatTable({ title: 'The seed says / this run measured', columns: ['source', 'claim', 'measured'], rows: result.claims.map((c) => [c.source, c.claim, c.measured]) }))
  }
  if (result.notes.length > 0) parts.push(`Notes\n${result.notes.map((n) => `- ${n}`).join('\n')}\n`)
  return parts.join('\n')
}

/** Write `<scenario>.json`, every chart as SVG and an index.html into `dir`; returns the files written. */
export function writeReport(dir: string, results: readonly ScenarioResult[]): string[] {
  mkdirSync(dir, { recursive: true })
  const written: string[] = []
  for (const result of results) {
    const json = join(dir, `${result.scenario}.json`)
    writeFileSync(json, `${JSON.stringify(result, null, 2)}\n`)
    written.push(json)
    for (const chart of result.charts) {
      const file = join(dir, chart.file)
      writeFileSync(file, renderChart(chart))
      written.push(file)
    }
  }
  const index = join(dir, 'index.html')
  writeFileSync(index, renderIndex(results))
  written.push(index)
  return written
}

function htmlTable(table: Table): string {
  const head = table.columns.map((c) => `<th>${escapeXml(c)}</th>`).join('')
  const body = table.rows
    .map((r) => `<tr>${r.map((cell) => `<td${typeof cell === 'number' ? ' class="n"' : ''}>${escapeXml(formatCell(cell))}</td>`).join('')}</tr>`)
    .join('\n')
  return `<table>\n<caption>${escapeXml(table.title)}</caption>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`
}

/** A self-contained page: every scenario's tables, claims, charts (as <img>) and notes. */
export function renderIndex(results: readonly ScenarioResult[]): string {
  const sections = results.map((r) => {
    const claims = r.claims.length
      ? htmlTable({ title: 'The seed says / this run measured', columns: ['source', 'claim', 'measured'], rows: r.claims.map((c) => [c.source, c.claim, c.measured]) })
      : ''
    const charts = r.charts.map((c) => `<figure><img src="${escapeXml(c.file)}" alt="${escapeXml(c.title)}" width="880" height="440"><figcaption>${escapeXml(c.title)}</figcaption></figure>`).join('\n')
    const notes = r.notes.length ? `<h3>Notes</h3>\n<ul>\n${r.notes.map((n) => `<li>${escapeXml(n)}</li>`).join('\n')}\n</ul>` : ''
    const params = `<p class="params">seed ${r.seed}; ${escapeXml(Object.entries(r.parameters).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(', '))}</p>`
    return `<section id="${escapeXml(r.scenario)}">\n<h2>${escapeXml(r.title)}</h2>\n${params}\n${claims}\n${r.tables.map(htmlTable).join('\n')}\n${charts}\n${notes}\n</section>`
  })
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ALTOkit simulation results</title>
<style>
body { font-family: sans-serif; max-width: 1000px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
caption { text-align: left; font-weight: bold; padding: 0.3em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.5em 0; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
.params { color: #555; font-size: 0.9em; }
</style>
</head>
<body>
<h1>ALTOkit simulation results</h1>
<p>Produced by <code>alto simulate</code>. Each scenario runs ALTOkit's own ranking and tracker selection code on a virtual clock with seeded randomness.</p>
<ul>${results.map((r) => `<li><a href="#${escapeXml(r.scenario)}">${escapeXml(r.title)}</a></li>`).join('')}</ul>
${sections.join('\n')}
</body>
</html>
`
}
