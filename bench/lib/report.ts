/**
 * @module bench/lib/report
 * The shape every benchmark of `npm run bench` reports in, and the small statistics they share.
 *
 * A benchmark is a plain script (`bench/<area>/<name>.bench.ts`) that can run alone and prints
 * what it measures. Run by the suite (bench/run.ts), it also writes one {@link BenchReport} as JSON
 * to the file named by the environment variable `ALTO_BENCH_REPORT`; the suite prints the figures
 * of all benchmarks as one table and writes them to bench/results.json.
 */
import { writeFileSync } from 'node:fs'

/** One measured figure: a median over repetitions, with the raw samples. */
export interface Figure {
  /** Stable key, e.g. `ecs.rps`. */
  id: string
  /** What it is, for the table, e.g. `ECS 1x100 ordinal, requests/s`. */
  name: string
  /** The median of {@link samples}. */
  value: number
  unit: string
  samples: number[]
  /** The same-run baseline this figure is compared against, when there is one. */
  baseline?: { name: string; value: number; samples: number[] }
  /** value / baseline.value (ratio of medians). */
  ratio?: number
  /** The goal, in words, e.g. `>= 0.60 of the ceiling`; and whether this run met it. */
  goal?: string
  met?: boolean
}

export interface BenchReport {
  bench: string
  /** What was measured and how, in one or two sentences. */
  method: string
  figures: Figure[]
  /** Anything the reader needs to read the figures right (e.g. what limits them). */
  notes?: string[]
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** A figure from samples: value is their median. */
export function figure(id: string, name: string, unit: string, samples: number[], extra: Partial<Figure> = {}): Figure {
  return { id, name, unit, samples, value: median(samples), ...extra }
}

/** A figure compared with a baseline measured in the same run: adds ratio (value / baseline). */
export function versus(f: Figure, baselineName: string, baselineSamples: number[]): Figure {
  const baseline = { name: baselineName, value: median(baselineSamples), samples: baselineSamples }
  return { ...f, baseline, ratio: f.value / baseline.value }
}

/** Write the report where the suite asked for it (env ALTO_BENCH_REPORT); a no-op when run alone. */
export function writeReport(report: BenchReport): void {
  const file = process.env.ALTO_BENCH_REPORT
  if (file) writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
}

/** Resident set size now, in MB. */
export function rssMb(): number {
  return process.memoryUsage().rss / 2 ** 20
}

/** `--quick` on the command line: run each measurement briefly (CI smoke mode). */
export const quick = process.argv.includes('--quick')
