/**
 * @module provisioning/config-source
 * Where a config value came from, and the checks that fail pointing there. A {@link Source} is a
 * parsed file (the config, or an RFC 7285 JSON file it references) that can tell the line of a
 * spec path; {@link locate} maps the SpecError paths of buildSnapshot back to those files. The
 * checks are the building blocks of the schema in config.ts (structure, plain types, ALTO names,
 * costs and version tags, files the config names): each takes a value and its path and returns the
 * value typed, or throws an AltoConfigError naming file, line and field, with a did-you-mean hint
 * for typos. They know nothing of which keys the config has.
 */
import { readFileSync } from 'node:fs'
import { dirname, isAbsolute, join } from 'node:path'
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml'
import { AltoConfigError } from '../protocol/errors.ts'
import { isValidCostMetric, isValidPidName, isValidResourceId, isValidVtag } from '../protocol/names.ts'
import type { AltoConfig, SpecPath } from './spec.ts'

/** A parsed file (the config, or a JSON file it references) that can tell the line of a path. */
export class Source {
  readonly file: string
  #text: string | undefined
  #parsed: { doc: Document; lines: LineCounter } | undefined

  constructor(file: string, text?: string, parsed?: { doc: Document; lines: LineCounter }) {
    this.file = file
    this.#text = text
    this.#parsed = parsed
  }

  /** The 1-based line of the deepest node that exists on `path`, when the text is known. */
  line(path: SpecPath): number | undefined {
    const parsed = this.#parse()
    if (!parsed) return undefined
    let node: unknown = parsed.doc.contents
    let offset = rangeStart(node)
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(parsed.doc)
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment))
        if (!pair) break
        offset = rangeStart(pair.key) ?? offset
        node = pair.value
      } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
        node = node.items[segment]
        offset = rangeStart(node) ?? offset
      } else {
        break
      }
    }
    return offset === undefined ? undefined : parsed.lines.linePos(offset).line
  }

  /** Whether the parsed document is held (see {@link release}). */
  get holdsDocument(): boolean {
    return this.#parsed !== undefined
  }

  /**
   * Let go of the parsed document once the file has been checked, keeping only its text: a YAML
   * document holds several objects per value (a config of 65,536 costs: about 35 MB that a
   * server would otherwise carry, and mark in every full garbage collection). A later
   * {@link line} parses the text again.
   */
  release(): void {
    if (this.#text !== undefined) this.#parsed = undefined
  }

  fail(path: SpecPath, message: string): never {
    throw new AltoConfigError(message, { file: this.file, line: this.line(path), field: formatSpecPath(path) })
  }

  // JSON files are parsed again, as YAML (JSON is a subset), only when a line is asked for.
  #parse(): { doc: Document; lines: LineCounter } | undefined {
    if (!this.#parsed && this.#text !== undefined) {
      const lines = new LineCounter()
      this.#parsed = { doc: parseDocument(this.#text, { lineCounter: lines, uniqueKeys: false }), lines }
    }
    return this.#parsed
  }
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: unknown } | null)?.range
  return Array.isArray(range) && typeof range[0] === 'number' ? range[0] : undefined
}

export interface Origins {
  main: Source
  /** Spec paths under `prefix` come from `source`, where they are found under `inner`. */
  files: { prefix: SpecPath; inner: SpecPath; source: Source }[]
}

// Keyed by the AltoConfig and by its NetworkSpec, so that `{ ...config, server }` still locates.
const ORIGINS = new WeakMap<object, Origins>()

/** Remember where `config` was read from, for {@link locate}. */
export function recordOrigins(config: AltoConfig, origins: Origins): void {
  ORIGINS.set(config, origins)
  ORIGINS.set(config.network, origins)
}

/** The source a loaded config was read from (its main file), if recorded. */
export function configSource(config: AltoConfig): Source | undefined {
  return ORIGINS.get(config)?.main
}

/** A spec path as a field name: `cost-maps[1].costs.PID1.PID9`, `prefixes["192.0.2.0/24"]`. */
export function formatSpecPath(path: SpecPath): string {
  let out = ''
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`
    else if (/^[A-Za-z0-9_:@-]+$/.test(segment)) out += out === '' ? segment : `.${segment}`
    else out += `[${JSON.stringify(segment)}]`
  }
  return out
}

/**
 * Map a SpecError path (thrown by buildSnapshot) back to the file it came from: the file, the
 * line of the deepest node that exists on that path, and the field as named in that file.
 */
export function locate(config: AltoConfig, path: SpecPath): { file: string; line?: number; field: string } {
  const origins = ORIGINS.get(config) ?? ORIGINS.get(config.network)
  if (!origins) return { file: '<unknown>', field: formatSpecPath(path) }
  let source = origins.main
  let inner = path
  for (const f of origins.files) {
    if (f.prefix.length <= path.length && f.prefix.every((segment, i) => path[i] === segment)) {
      source = f.source
      inner = [...f.inner, ...path.slice(f.prefix.length)]
      break
    }
  }
  const line = source.line(inner)
  return line === undefined ? { file: source.file, field: formatSpecPath(inner) } : { file: source.file, line, field: formatSpecPath(inner) }
}

// ---------------------------------------------------------------------------------------------
// Checks: each takes a value and its path, returns the value typed, or fails naming the path.

export interface Ctx {
  src: Source
  /** Folder that relative file names are resolved against. */
  baseDir: string
  /** Every file read so far (the config and what it names), for reload-on-change. */
  read?: string[]
}
export type Check<T> = (value: unknown, path: SpecPath, ctx: Ctx) => T
export type Mapping = Record<string, unknown>

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'empty'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`
  return `${typeof value} ${String(value)}`
}

/** Optimal string alignment distance: edits, with a swap of neighbours counting as one. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  const at = (i: number, j: number): number => d[i]?.[j] ?? Infinity
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1)
      const row = d[i]
      if (row) row[j] = best
    }
  }
  return at(a.length, b.length)
}

export function didYouMean(word: string, candidates: Iterable<string>): string {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of candidates) {
    const [a, b] = [word.toLowerCase(), candidate.toLowerCase()]
    // A key cut short or with a suffix (`warning` for `warn`) counts as one edit.
    const distance = a.length > 1 && (a.startsWith(b) || b.startsWith(a)) ? 1 : editDistance(a, b)
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance]
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? ` (did you mean "${best}"?)` : ''
}

/** A mapping; with `known`, any other key is an error (a typo must never silently do nothing). */
export function mapping(value: unknown, path: SpecPath, ctx: Ctx, known?: readonly string[]): Mapping {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) ctx.src.fail(path, `must be a mapping, not ${describe(value)}`)
  const result = value as Mapping
  if (known) {
    for (const key of Object.keys(result)) {
      if (!known.includes(key)) ctx.src.fail([...path, key], `unknown key${didYouMean(key, known)}`)
    }
  }
  return result
}

export function need(o: Mapping, key: string, path: SpecPath, ctx: Ctx): unknown {
  if (o[key] === undefined) ctx.src.fail([...path, key], 'is missing (required)')
  return o[key]
}

export function list(value: unknown, path: SpecPath, ctx: Ctx): unknown[] {
  if (!Array.isArray(value)) ctx.src.fail(path, `must be a list, not ${describe(value)}`)
  return value
}

export function listOf<T>(item: Check<T>, nonEmpty = false): Check<T[]> {
  return (value: unknown, path: SpecPath, ctx: Ctx) => {
    const items = list(value, path, ctx)
    if (nonEmpty && items.length === 0) ctx.src.fail(path, 'must not be empty')
    return items.map((v, i) => item(v, [...path, i], ctx))
  }
}

export function text(value: unknown, path: SpecPath, ctx: Ctx): string {
  if (typeof value !== 'string' || value === '') ctx.src.fail(path, `must be a non-empty string, not ${describe(value)}`)
  return value
}

/** Property values and descriptions may be empty, but must be strings. */
export function anyString(value: unknown, path: SpecPath, ctx: Ctx): string {
  if (typeof value !== 'string') ctx.src.fail(path, `must be a string (quote it), not ${describe(value)}`)
  return value
}

export function integer(min: number, max = Number.MAX_SAFE_INTEGER): Check<number> {
  return (value: unknown, path: SpecPath, ctx: Ctx) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`
      ctx.src.fail(path, `must be an integer ${range}, not ${describe(value)}`)
    }
    return value
  }
}

export function boolean(value: unknown, path: SpecPath, ctx: Ctx): boolean {
  if (typeof value !== 'boolean') ctx.src.fail(path, `must be true or false, not ${describe(value)}`)
  return value
}

/** A cost: RFC 7285 §6.1.2 numerical costs are JSONNumbers; ALTOkit requires finite and >= 0. */
export function cost(value: unknown, path: SpecPath, ctx: Ctx): number {
  if (typeof value !== 'number') ctx.src.fail(path, `must be a number, not ${describe(value)}`)
  if (!Number.isFinite(value)) ctx.src.fail(path, `must be finite, not ${String(value)}`)
  if (value < 0) ctx.src.fail(path, `must not be negative, not ${value}`)
  return value
}

export function oneOf<T extends string>(values: readonly T[]): Check<T> {
  return (value: unknown, path: SpecPath, ctx: Ctx) => {
    if (!values.includes(value as T)) ctx.src.fail(path, `must be one of ${values.join(', ')}, not ${describe(value)}${didYouMean(String(value), values)}`)
    return value as T
  }
}

function named(valid: (name: string) => boolean, rule: string): Check<string> {
  return (value: unknown, path: SpecPath, ctx: Ctx) => {
    const name = typeof value === 'number' ? String(value) : text(value, path, ctx)
    if (!valid(name)) ctx.src.fail(path, `${JSON.stringify(name)} is not a valid ${rule}`)
    return name
  }
}

const NAME_RULE = '(1-64 characters of A-Z a-z 0-9 - : @ _; RFC 7285 §10.1)'
export const pidName = named(isValidPidName, `PID name ${NAME_RULE}`)
export const resourceId = named(isValidResourceId, `resource id ${NAME_RULE}`)
export const costTypeName = named(isValidResourceId, `cost type name ${NAME_RULE}`)
export const costMetric = named(isValidCostMetric, 'cost metric (1-32 characters of A-Z a-z 0-9 - : _; RFC 7285 §10.6)')

export function versionTag(value: unknown, path: SpecPath, ctx: Ctx): string {
  if (typeof value === 'number') ctx.src.fail(path, `must be a string: quote it ("${value}")`)
  const tag = text(value, path, ctx)
  if (!isValidVtag(tag)) ctx.src.fail(path, `${JSON.stringify(tag)} is not a valid version tag (1-64 printable ASCII characters; RFC 7285 §10.3)`)
  return tag
}

/** Checks a mapping's keys and values by table; the result has the keys camel-cased. */
export function fields<T>(table: Readonly<Record<string, Check<unknown>>>, required: readonly string[] = []): Check<T> {
  const known = Object.keys(table)
  return (value: unknown, path: SpecPath, ctx: Ctx) => {
    const o = mapping(value, path, ctx, known)
    for (const key of required) need(o, key, path, ctx)
    const out: Mapping = {}
    for (const [key, check] of Object.entries(table)) {
      if (o[key] !== undefined) out[key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = check(o[key], [...path, key], ctx)
    }
    return out as T
  }
}

export function failureReason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  if (code === 'ENOENT') return 'no such file'
  if (code === 'EACCES') return 'permission denied'
  if (code === 'EISDIR') return 'is a folder'
  return error instanceof Error ? error.message : String(error)
}

/** Reads a file named in the config (relative to the config's folder); fails naming its path. */
export function readReferenced(value: unknown, path: SpecPath, ctx: Ctx): { file: string; content: string } {
  const name = text(value, path, ctx)
  const file = isAbsolute(name) ? name : join(ctx.baseDir, name)
  try {
    const content = readFileSync(file, 'utf8')
    ctx.read?.push(file)
    return { file, content }
  } catch (error) {
    return ctx.src.fail(path, `cannot read ${file}: ${failureReason(error)}`)
  }
}

/** A signing key file (PEM or JWK, as `alto keygen` writes); returns its text. */
export function keyFile(value: unknown, path: SpecPath, ctx: Ctx): string {
  const { file, content } = readReferenced(value, path, ctx)
  if (!content.includes('-----BEGIN ') && !content.trimStart().startsWith('{')) ctx.src.fail(path, `${file} is neither a PEM nor a JWK file (alto keygen writes one)`)
  return content
}

/** Reads and parses an RFC 7285 JSON file named in the config. */
export function readJson(value: unknown, path: SpecPath, ctx: Ctx): { body: unknown; ctx: Ctx } {
  const { file, content } = readReferenced(value, path, ctx)
  const json = content.replace(/^\uFEFF/, '')
  try {
    return { body: JSON.parse(json), ctx: { src: new Source(file, json), baseDir: dirname(file), ...(ctx.read ? { read: ctx.read } : {}) } }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    const position = /at position (\d+)/.exec(message)?.[1]
    const line = position === undefined ? undefined : json.slice(0, Number(position)).split('\n').length
    throw new AltoConfigError(`not valid JSON: ${message.replace(/ in JSON at position.*$/, '')}`, { file, line })
  }
}
