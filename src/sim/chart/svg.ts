/**
 * @module sim/chart/svg
 * Line charts (optionally stepped, for CDFs) and grouped bar charts as standalone SVG 1.1: axes
 * with 1-2-5 ticks or decades on log scales, grid, axis labels, a legend beside the plot. Written
 * by hand so the simulator needs no plotting dependency; the output is well-formed XML.
 */
import type { BarChartSpec, ChartSpec, LineChartSpec } from '../result.ts'

const WIDTH = 880
const HEIGHT = 440
const PLOT = { left: 72, top: 44, right: 580, bottom: 370 }
const LEGEND_X = 596
// Okabe-Ito, distinguishable with the common colour-vision deficiencies (yellow left out: too pale).
const COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#999999']

export function renderChart(spec: ChartSpec): string {
  return spec.kind === 'line' ? renderLine(spec) : renderBar(spec)
}

interface Axis {
  min: number
  max: number
  log: boolean
  ticks: number[]
  /** Data value -> pixel. */
  at(v: number): number
}

function axis(values: number[], log: boolean, lo: number, hi: number, forceMin?: number, forceMax?: number): Axis {
  let finite = values.filter((v) => Number.isFinite(v) && (!log || v > 0))
  if (finite.length === 0) finite = log ? [1, 10] : [0, 1]
  let min = forceMin ?? Math.min(...finite)
  let max = forceMax ?? Math.max(...finite)
  let ticks: number[]
  if (log) {
    min = 10 ** Math.floor(Math.log10(min))
    max = 10 ** Math.ceil(Math.log10(max))
    if (max <= min) max = min * 10
    ticks = []
    for (let e = Math.round(Math.log10(min)); e <= Math.round(Math.log10(max)); e++) ticks.push(10 ** e)
  } else {
    if (forceMin === undefined && min > 0 && min < max * 0.5) min = 0
    if (max === min) max = min + 1
    const step = niceStep((max - min) / 6)
    if (forceMin === undefined) min = Math.floor(min / step) * step
    if (forceMax === undefined) max = Math.ceil(max / step) * step
    ticks = []
    for (let t = Math.ceil(min / step - 1e-9) * step; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)))
  }
  const span = log ? Math.log10(max) - Math.log10(min) : max - min
  const at = (v: number): number => {
    const f = log ? (Math.log10(Math.max(v, min)) - Math.log10(min)) / span : (v - min) / span
    return lo + (hi - lo) * Math.min(1, Math.max(0, f))
  }
  return { min, max, log, ticks, at }
}

function niceStep(raw: number): number {
  const e = 10 ** Math.floor(Math.log10(raw))
  const f = raw / e
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * e
}

/** Short tick labels: 1500 -> 1.5k, 0.25 -> 0.25, 2e6 -> 2M. */
export function formatTick(v: number): string {
  const a = Math.abs(v)
  if (a >= 1e9) return `${trim(v / 1e9)}G`
  if (a >= 1e6) return `${trim(v / 1e6)}M`
  if (a >= 1e4) return `${trim(v / 1e3)}k`
  if (a === 0) return '0'
  if (a < 1e-3) return v.toExponential(0)
  return trim(v)
}

function trim(v: number): string {
  return String(Number(v.toPrecision(3)))
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function frame(title: string, body: string[]): string {
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    ...body,
    `</svg>`,
    '',
  ].join('\n')
}

function axesMarkup(x: Axis | undefined, y: Axis, xLabel: string | undefined, yLabel: string): string[] {
  const out: string[] = []
  for (const t of y.ticks) {
    const py = px(y.at(t))
    out.push(`<line x1="${PLOT.left}" y1="${py}" x2="${PLOT.right}" y2="${py}" stroke="#e3e3e3"/>`)
    out.push(`<text x="${PLOT.left - 6}" y="${py + 4}" text-anchor="end">${escapeXml(formatTick(t))}</text>`)
  }
  if (x) {
    for (const t of x.ticks) {
      const pxv = px(x.at(t))
      out.push(`<line x1="${pxv}" y1="${PLOT.top}" x2="${pxv}" y2="${PLOT.bottom}" stroke="#f0f0f0"/>`)
      out.push(`<text x="${pxv}" y="${PLOT.bottom + 16}" text-anchor="middle">${escapeXml(formatTick(t))}</text>`)
    }
  }
  out.push(`<line x1="${PLOT.left}" y1="${PLOT.bottom}" x2="${PLOT.right}" y2="${PLOT.bottom}" stroke="#333333"/>`)
  out.push(`<line x1="${PLOT.left}" y1="${PLOT.top}" x2="${PLOT.left}" y2="${PLOT.bottom}" stroke="#333333"/>`)
  if (xLabel) out.push(`<text x="${(PLOT.left + PLOT.right) / 2}" y="${HEIGHT - 20}" text-anchor="middle">${escapeXml(xLabel)}</text>`)
  const midY = (PLOT.top + PLOT.bottom) / 2
  out.push(`<text x="18" y="${midY}" text-anchor="middle" transform="rotate(-90 18 ${midY})">${escapeXml(yLabel)}</text>`)
  return out
}

function legend(names: string[], dashed: boolean[] = []): string[] {
  const out: string[] = []
  names.forEach((name, i) => {
    const y = PLOT.top + 8 + i * 20
    const dash = dashed[i] ? ' stroke-dasharray="6 3"' : ''
    out.push(`<line x1="${LEGEND_X}" y1="${y}" x2="${LEGEND_X + 22}" y2="${y}" stroke="${colour(i)}" stroke-width="3"${dash}/>`)
    out.push(`<text x="${LEGEND_X + 28}" y="${y + 4}">${escapeXml(name)}</text>`)
  })
  return out
}

function colour(i: number): string {
  return COLOURS[i % COLOURS.length]!
}

function px(v: number): string {
  return v.toFixed(1)
}

function renderLine(spec: LineChartSpec): string {
  const xs = spec.series.flatMap((s) => s.points.map((p) => p[0]))
  const ys = spec.series.flatMap((s) => s.points.map((p) => p[1]))
  const x = axis(xs, spec.logX ?? false, PLOT.left, PLOT.right, spec.xMin, spec.xMax)
  const y = axis(ys, spec.logY ?? false, PLOT.bottom, PLOT.top, spec.yMin, spec.yMax)
  const body = axesMarkup(x, y, spec.xLabel, spec.yLabel)
  spec.series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!x.log || p[0] > 0) && (!y.log || p[1] > 0))
    if (pts.length === 0) return
    const coords: string[] = []
    pts.forEach((p, j) => {
      if (spec.step && j > 0) coords.push(`${px(x.at(p[0]))},${px(y.at(pts[j - 1]![1]))}`)
      coords.push(`${px(x.at(p[0]))},${px(y.at(p[1]))}`)
    })
    const dash = s.dashed ? ' stroke-dasharray="6 3"' : ''
    body.push(`<polyline fill="none" stroke="${colour(i)}" stroke-width="2"${dash} points="${coords.join(' ')}"/>`)
    if (pts.length === 1) body.push(`<circle cx="${px(x.at(pts[0]![0]))}" cy="${px(y.at(pts[0]![1]))}" r="3" fill="${colour(i)}"/>`)
  })
  body.push(...legend(spec.series.map((s) => s.name), spec.series.map((s) => s.dashed ?? false)))
  return frame(spec.title, body)
}

function renderBar(spec: BarChartSpec): string {
  const values = spec.series.flatMap((s) => s.values)
  const log = spec.logY ?? false
  const y = axis(log ? values : [0, ...values], log, PLOT.bottom, PLOT.top, undefined, spec.yMax)
  const body = axesMarkup(undefined, y, spec.xLabel, spec.yLabel)
  const groups = spec.categories.length
  const groupWidth = (PLOT.right - PLOT.left) / Math.max(1, groups)
  const barWidth = (groupWidth * 0.8) / Math.max(1, spec.series.length)
  const rotate = groups > 5 || spec.categories.some((c) => c.length * 6.5 > groupWidth)
  spec.categories.forEach((category, g) => {
    const gx = PLOT.left + g * groupWidth + groupWidth * 0.1
    spec.series.forEach((s, i) => {
      const v = s.values[g]
      if (v === undefined || !Number.isFinite(v) || (log && v <= 0)) return
      const top = y.at(v)
      const base = log ? PLOT.bottom : y.at(Math.max(0, y.min))
      body.push(
        `<rect x="${px(gx + i * barWidth)}" y="${px(Math.min(top, base))}" width="${px(barWidth * 0.92)}" height="${px(Math.abs(base - top))}" fill="${colour(i)}"><title>${escapeXml(`${s.name} ${category}: ${formatTick(v)}`)}</title></rect>`,
      )
    })
    const cx = PLOT.left + (g + 0.5) * groupWidth
    const ly = PLOT.bottom + 16
    body.push(
      rotate
        ? `<text x="${px(cx)}" y="${ly}" text-anchor="end" transform="rotate(-25 ${px(cx)} ${ly})">${escapeXml(category)}</text>`
        : `<text x="${px(cx)}" y="${ly}" text-anchor="middle">${escapeXml(category)}</text>`,
    )
  })
  if (spec.series.length > 1 || spec.series[0]?.name) body.push(...legend(spec.series.map((s) => s.name)))
  return frame(spec.title, body)
}
