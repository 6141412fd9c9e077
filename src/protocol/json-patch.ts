/**
 * @module protocol/json-patch
 * JSON Patch (RFC 6902, `application/json-patch+json`): computing a patch from one version of a
 * document to the next, and applying one. RFC 8895 §3.2 prefers it for network maps because it
 * can add or remove single prefixes of a PID's list where a merge patch must resend the list.
 */
import { CopyOnWrite, isJsonObject, jsonEqual, setMember, type JsonObject, type JsonValue } from './json-value.ts'

export type JsonPatchOperation =
  | { op: 'add' | 'replace' | 'test'; path: string; value: JsonValue }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; from: string; path: string }

export interface CreateJsonPatchOptions {
  /**
   * Array diffs stop looking for a shortest edit script after this many edits and replace the
   * array instead (the diff costs O((n + m) · d) time and O(d²) memory).
   * @default 1000
   */
  maxArrayEdits?: number
}

/** A patch with only add, remove and replace operations that turns `from` into `to`. */
export function createJsonPatch(from: unknown, to: unknown, options: CreateJsonPatchOptions = {}): JsonPatchOperation[] {
  const ops: JsonPatchOperation[] = []
  diff(from as JsonValue, to as JsonValue, '', ops, options.maxArrayEdits ?? 1000)
  return ops
}

function diff(from: JsonValue, to: JsonValue, path: string, ops: JsonPatchOperation[], maxEdits: number): void {
  if (jsonEqual(from, to)) return
  if (isJsonObject(from) && isJsonObject(to)) {
    for (const key of Object.keys(from)) if (!Object.hasOwn(to, key)) ops.push({ op: 'remove', path: `${path}/${escapeToken(key)}` })
    for (const [key, value] of Object.entries(to)) {
      const at = `${path}/${escapeToken(key)}`
      if (!Object.hasOwn(from, key)) ops.push({ op: 'add', path: at, value })
      else diff(from[key]!, value, at, ops, maxEdits)
    }
    return
  }
  if (Array.isArray(from) && Array.isArray(to) && diffArray(from, to, path, ops, maxEdits)) return
  ops.push({ op: 'replace', path, value: to })
}

/**
 * Index-wise operations for an array, from a shortest edit script (Myers 1986) over the part
 * between the common head and tail. False when the script would exceed `maxEdits`.
 */
function diffArray(from: JsonValue[], to: JsonValue[], path: string, ops: JsonPatchOperation[], maxEdits: number): boolean {
  const key = (v: JsonValue) => (typeof v === 'object' && v !== null ? `o${JSON.stringify(v)}` : `${typeof v}:${String(v)}`)
  const a = from.map(key)
  const b = to.map(key)
  let head = 0
  while (head < a.length && head < b.length && a[head] === b[head]) head++
  let tail = 0
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++
  const script = editScript(a.slice(head, a.length - tail), b.slice(head, b.length - tail), maxEdits)
  if (!script) return false
  // Indexes are those of the array as the operations before have left it (RFC 6902 §5).
  let index = head
  let j = head
  for (let s = 0; s < script.length; s++) {
    const step = script[s]
    if (step === KEEP) {
      index++
      j++
    } else if (step === DELETE && script[s + 1] === INSERT) {
      ops.push({ op: 'replace', path: `${path}/${index}`, value: to[j]! })
      s++
      index++
      j++
    } else if (step === DELETE) {
      ops.push({ op: 'remove', path: `${path}/${index}` })
    } else {
      ops.push({ op: 'add', path: `${path}/${index}`, value: to[j]! })
      index++
      j++
    }
  }
  return true
}

const KEEP = 0
const DELETE = 1
const INSERT = 2

/** Myers' greedy shortest edit script from `a` to `b`, or undefined past `maxEdits` edits. */
function editScript(a: readonly string[], b: readonly string[], maxEdits: number): number[] | undefined {
  const n = a.length
  const m = b.length
  const max = Math.min(n + m, maxEdits)
  if (Math.abs(n - m) > maxEdits) return undefined // at least |n - m| edits are needed
  // v[k + offset] = furthest x on diagonal k; trace[d] holds v for k in [-d-1, d+1] before step d.
  const offset = max + 1
  const v = new Int32Array(2 * max + 3)
  const trace: Int32Array[] = []
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2))
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1
      let y = x - k
      while (x < n && y < m && a[x] === b[y]) {
        x++
        y++
      }
      v[offset + k] = x
      if (x >= n && y >= m) return backtrack(trace, n, m)
    }
  }
  return undefined
}

function backtrack(trace: Int32Array[], n: number, m: number): number[] {
  const steps: number[] = []
  let x = n
  let y = m
  for (let d = trace.length - 1; d > 0; d--) {
    const before = trace[d]!
    const at = (k: number) => before[k + d + 1]!
    const k = x - y
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1
    const prevX = at(prevK)
    const prevY = prevX - prevK
    while (x > prevX && y > prevY) {
      steps.push(KEEP)
      x--
      y--
    }
    steps.push(prevK === k + 1 ? INSERT : DELETE)
    x = prevX
    y = prevY
  }
  while (x > 0 && y > 0) {
    steps.push(KEEP)
    x--
    y--
  }
  return steps.reverse()
}

/** Apply a JSON patch (RFC 6902 §4), leaving `document` unchanged. Throws on a failing operation. */
export function applyJsonPatch(document: unknown, patch: readonly JsonPatchOperation[]): unknown {
  if (!Array.isArray(patch)) throw new JsonPatchError('a JSON patch is an array of operations')
  const cow = new CopyOnWrite()
  let root = document as JsonValue
  for (const [i, op] of patch.entries()) {
    if (!isJsonObject(op) || typeof op.path !== 'string') throw new JsonPatchError(`operation ${i} has no path`)
    const where = `operation ${i} (${String(op.op)} ${op.path})`
    switch (op.op) {
      case 'add':
      case 'replace':
        if (!('value' in op)) throw new JsonPatchError(`${where} has no value`)
        root = write(root, parsePointer(op.path, where), op.op, op.value, cow, where)
        break
      case 'remove':
        root = write(root, parsePointer(op.path, where), 'remove', undefined, cow, where)
        break
      case 'move':
      case 'copy': {
        if (typeof op.from !== 'string') throw new JsonPatchError(`${where} has no from`)
        const from = parsePointer(op.from, where)
        const to = parsePointer(op.path, where)
        if (op.op === 'move' && to.length > from.length && from.every((t, j) => t === to[j])) throw new JsonPatchError(`${where} moves a value into itself`)
        const value = read(root, from, where)
        if (op.op === 'move') root = write(root, from, 'remove', undefined, cow, where)
        root = write(root, to, 'add', value, cow, where)
        break
      }
      case 'test':
        if (!jsonEqual(read(root, parsePointer(op.path, where), where), op.value)) throw new JsonPatchError(`${where} failed`)
        break
      default:
        throw new JsonPatchError(`${where} has an unknown op`)
    }
  }
  return root
}

export class JsonPatchError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'JsonPatchError'
  }
}

/** RFC 6901 §4: `/a~1b/c` -> `['a/b', 'c']`. */
function parsePointer(pointer: string, where: string): string[] {
  if (pointer === '') return []
  if (!pointer.startsWith('/')) throw new JsonPatchError(`${where}: a JSON pointer starts with /`)
  return pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
}

function escapeToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1')
}

function read(root: JsonValue, tokens: readonly string[], where: string): JsonValue {
  let node = root
  for (const token of tokens) {
    if (Array.isArray(node)) node = node[arrayIndex(token, node.length - 1, where)]!
    else if (isJsonObject(node) && Object.hasOwn(node, token)) node = node[token]!
    else throw new JsonPatchError(`${where}: no value at ${token}`)
  }
  return node
}

/** Add, replace or remove at `tokens`, copying the containers on the way. Returns the new root. */
function write(root: JsonValue, tokens: readonly string[], op: 'add' | 'replace' | 'remove', value: JsonValue | undefined, cow: CopyOnWrite, where: string): JsonValue {
  if (tokens.length === 0) {
    if (op === 'remove') throw new JsonPatchError(`${where}: cannot remove the whole document`)
    return value!
  }
  if (!Array.isArray(root) && !isJsonObject(root)) throw new JsonPatchError(`${where}: the document is not a container`)
  const top = cow.own(root)
  let parent: JsonObject | JsonValue[] = top
  for (const token of tokens.slice(0, -1)) {
    let child: JsonValue | undefined
    if (Array.isArray(parent)) child = parent[arrayIndex(token, parent.length - 1, where)]
    else child = Object.hasOwn(parent, token) ? parent[token] : undefined
    if (!Array.isArray(child) && !isJsonObject(child)) throw new JsonPatchError(`${where}: no container at ${token}`)
    const owned: JsonObject | JsonValue[] = cow.own(child)
    if (Array.isArray(parent)) parent[Number(token)] = owned
    else setMember(parent, token, owned)
    parent = owned
  }
  const last = tokens[tokens.length - 1]!
  if (Array.isArray(parent)) {
    if (op === 'add') parent.splice(last === '-' ? parent.length : arrayIndex(last, parent.length, where), 0, value!)
    else if (op === 'replace') parent[arrayIndex(last, parent.length - 1, where)] = value!
    else parent.splice(arrayIndex(last, parent.length - 1, where), 1)
  } else {
    const exists = Object.hasOwn(parent, last)
    if (op !== 'add' && !exists) throw new JsonPatchError(`${where}: no member ${last}`)
    if (op === 'remove') delete parent[last]
    else setMember(parent, last, value!)
  }
  return top
}

/** An array index token (RFC 6901 §4: digits, no leading zero) no greater than `max`. */
function arrayIndex(token: string, max: number, where: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token) || Number(token) > max) throw new JsonPatchError(`${where}: bad array index ${token}`)
  return Number(token)
}
