/**
 * @module bench/tracker/profile-summary
 * Where a `--cpu-prof` profile spends its time: self and inclusive time per function (name and
 * file:line of the code V8 ran; for tsx-loaded TypeScript the file only, as tsx minifies
 * whitespace) and self time per file. Standalone:
 *
 *   node --import tsx bench/tracker/profile-summary.ts <file.cpuprofile> [top]
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

export interface ProfileLine {
  key: string
  ms: number
  share: number
}

export interface ProfileSummary {
  totalMs: number
  /** (idle), (program), (garbage collector) and the rest. */
  special: Record<string, number>
  self: ProfileLine[]
  inclusive: ProfileLine[]
  files: ProfileLine[]
}

const root = new URL('../../', import.meta.url).href

function shortUrl(url: string): string {
  if (url === '') return ''
  if (url.startsWith(root)) return url.slice(root.length)
  return url.replace(/^file:\/\/.*\/node_modules\//, 'node_modules/')
}

export function summarizeProfile(path: string, top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
  const byId = new Map<number, ProfileNode>()
  const parent = new Map<number, number>()
  for (const node of profile.nodes) {
    byId.set(node.id, node)
    for (const child of node.children ?? []) parent.set(child, node.id)
  }
  const keyOf = (node: ProfileNode) => {
    const f = node.callFrame
    const where = shortUrl(f.url)
    if (!where) return f.functionName
    // tsx runs whitespace-minified TypeScript: every function is on line 1, so name the file only.
    const line = f.lineNumber === 0 && /\.[cm]?ts$/.test(where) ? '' : `:${f.lineNumber + 1}`
    return `${f.functionName || '(anonymous)'} ${where}${line}`
  }
  const self = new Map<string, number>()
  const inclusive = new Map<string, number>()
  const files = new Map<string, number>()
  const special: Record<string, number> = {}
  let totalMs = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000
    const node = byId.get(profile.samples[i]!)
    if (!node) continue
    totalMs += ms
    const name = node.callFrame.functionName
    if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') {
      special[name] = (special[name] ?? 0) + ms
      continue
    }
    const key = keyOf(node)
    self.set(key, (self.get(key) ?? 0) + ms)
    const file = shortUrl(node.callFrame.url) || '(native)'
    files.set(file, (files.get(file) ?? 0) + ms)
    const seen = new Set<string>()
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const k = keyOf(byId.get(id)!)
      if (seen.has(k) || k === '(root)') continue
      seen.add(k)
      inclusive.set(k, (inclusive.get(k) ?? 0) + ms)
    }
  }
  const busy = totalMs - (special['(idle)'] ?? 0)
  const lines = (m: Map<string, number>): ProfileLine[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, ms]) => ({ key, ms: Math.round(ms), share: busy > 0 ? ms / busy : 0 }))
  special.rest = totalMs - Object.values(special).reduce((a, b) => a + b, 0)
  return { totalMs, special, self: lines(self), inclusive: lines(inclusive), files: lines(files) }
}

export function formatProfile(title: string, s: ProfileSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`
  const section = (name: string, lines: ProfileLine[]) => [`  ${name} (share of non-idle time):`, ...lines.map((l) => `    ${pct(l.share)} ${String(l.ms).padStart(6)} ms  ${l.key}`)]
  const special = Object.entries(s.special)
    .map(([k, v]) => `${k} ${Math.round(v)} ms`)
    .join(', ')
  return [`${title}: ${Math.round(s.totalMs)} ms sampled; ${special}`, ...section('self time', s.self), ...section('inclusive time', s.inclusive), ...section('self time by file', s.files)].join('\n')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2]
  if (!file) {
    process.stderr.write('usage: profile-summary.ts <file.cpuprofile> [top]\n')
    process.exit(2)
  }
  process.stdout.write(`${formatProfile(file, summarizeProfile(file, Number(process.argv[3] ?? 25)))}\n`)
}
