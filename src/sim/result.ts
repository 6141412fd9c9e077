/**
 * @module sim/result
 * What every scenario returns: its parameters, a JSON summary, tables for the terminal, chart
 * specifications (rendered to SVG by `chart/svg.ts`), the seed's claims next to what the model
 * measured, and notes on where the model departs from the seed's setting. Everything in it is a
 * pure function of the scenario's options and seed: no wall-clock time, so equal seeds give
 * byte-identical JSON.
 */

export type Cell = string | number | null

export interface Table {
  title: string
  columns: string[]
  rows: Cell[][]
}

export interface LineSeries {
  name: string
  /** [x, y] pairs in x order. */
  points: [number, number][]
  dashed?: boolean
}

export interface LineChartSpec {
  kind: 'line'
  /** File name in the output folder, e.g. `bittorrent-download-cdf.svg`. */
  file: string
  title: string
  xLabel: string
  yLabel: string
  series: LineSeries[]
  /** Draw as steps (for empirical CDFs). */
  step?: boolean
  logX?: boolean
  logY?: boolean
  xMin?: number
  xMax?: number
  yMin?: number
  yMax?: number
}

export interface BarChartSpec {
  kind: 'bar'
  file: string
  title: string
  yLabel: string
  xLabel?: string
  /** One group of bars per category. */
  categories: string[]
  /** One bar per series in each group; `values[i]` belongs to `categories[i]`. */
  series: { name: string; values: number[] }[]
  logY?: boolean
  yMax?: number
}

export type ChartSpec = LineChartSpec | BarChartSpec

export interface Claim {
  /** Where the claim comes from, e.g. `seed 002`. */
  source: string
  claim: string
  /** What this run measured for it. */
  measured: string
}

export interface ScenarioResult<S = unknown> {
  scenario: string
  title: string
  seed: number
  parameters: Record<string, unknown>
  summary: S
  tables: Table[]
  charts: ChartSpec[]
  claims: Claim[]
  notes: string[]
}

/** Reports progress as a share of the work done, 0..1 (the CLI draws a bar from it). */
export type Progress = (done: number, label?: string) => void
