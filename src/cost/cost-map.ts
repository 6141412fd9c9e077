/**
 * @module cost/cost-map
 * A cost map (RFC 7285 §11.2.3) held as a dense n×n Float64Array over the PIDs of its network
 * map, NaN where the operator gives no cost. Dense storage makes filters and endpoint lookups
 * index arithmetic; 2,000 PIDs take 32 MB.
 */
import type { CostMapData, CostType } from '../protocol/types.ts'
import { satisfiesAll, type Constraint } from './constraints.ts'
import { denseRanks } from './ordinal.ts'

/** What a cost map needs of its network map: the PID names and their indexes. */
export interface PidSpace {
  readonly pids: readonly string[]
  pidIndex(pid: string): number
}

/** Thrown by {@link CostMap.fromData}: `src`/`dst` locate the offending entry. */
export class CostMapError extends Error {
  readonly src: string | undefined
  readonly dst: string | undefined
  constructor(message: string, src?: string, dst?: string) {
    super(message)
    this.name = 'CostMapError'
    this.src = src
    this.dst = dst
  }
}

export interface CostMapFillOptions {
  /** Cost of a PID to itself when the data does not give it. */
  intraPid?: number
  /** Cost of every other pair the data does not give. */
  default?: number
}

export class CostMap {
  readonly space: PidSpace
  readonly costType: CostType
  /** Row-major: values[src * n + dst]; NaN = no cost. */
  readonly values: Float64Array
  #members: { first: readonly string[]; next: readonly string[] } | undefined
  /** Cost -> its JSON text, for at most {@link MAX_COST_TEXTS} distinct costs (see {@link #costText}). */
  readonly #costTexts = new Map<number, string>()

  private constructor(space: PidSpace, costType: CostType, values: Float64Array) {
    this.space = space
    this.costType = costType
    this.values = values
  }

  /**
   * Validate and build. Every PID must be in the network map and every cost a finite,
   * non-negative number (RFC 7285 §6.1.2.1 numerical costs; negative ones mean nothing to a client).
   */
  static fromData(space: PidSpace, costType: CostType, data: CostMapData, fill: CostMapFillOptions = {}): CostMap {
    const n = space.pids.length
    const values = new Float64Array(n * n).fill(Number.NaN)
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new CostMapError('costs must be an object of source PIDs')
    }
    // Keys and lookups, not Object.entries: no [key, value] array per cost (4 million at 2,000 PIDs).
    for (const src of Object.keys(data)) {
      const s = space.pidIndex(src)
      if (s < 0) throw new CostMapError(`source PID ${src} is not in the network map`, src)
      const row: unknown = data[src]
      if (typeof row !== 'object' || row === null || Array.isArray(row)) {
        throw new CostMapError(`costs of ${src} must be an object of destination PIDs`, src)
      }
      for (const dst of Object.keys(row)) {
        const cost: unknown = (row as Record<string, unknown>)[dst]
        const d = space.pidIndex(dst)
        if (d < 0) throw new CostMapError(`destination PID ${dst} is not in the network map`, src, dst)
        if (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0) {
          throw new CostMapError(`cost ${src} -> ${dst} must be a finite number >= 0, not ${JSON.stringify(cost)}`, src, dst)
        }
        values[s * n + d] = cost
      }
    }
    for (const [name, fillValue] of [['intra-pid', fill.intraPid], ['default', fill.default]] as const) {
      if (fillValue !== undefined && (!Number.isFinite(fillValue) || fillValue < 0)) {
        throw new CostMapError(`${name} must be a finite number >= 0`)
      }
    }
    for (let s = 0; s < n; s++) {
      for (let d = 0; d < n; d++) {
        const i = s * n + d
        if (!Number.isNaN(values[i]!)) continue
        if (s === d && fill.intraPid !== undefined) values[i] = fill.intraPid
        else if (fill.default !== undefined) values[i] = fill.default
      }
    }
    return new CostMap(space, costType, values)
  }

  /**
   * A cost map from a computed n×n matrix (row-major, NaN = no cost), filled like
   * {@link fromData}. Values must be finite and non-negative.
   */
  static fromMatrix(space: PidSpace, costType: CostType, matrix: Float64Array, fill: CostMapFillOptions = {}): CostMap {
    const n = space.pids.length
    if (matrix.length !== n * n) throw new CostMapError(`a ${n}-PID cost map needs ${n * n} values, not ${matrix.length}`)
    const values = Float64Array.from(matrix)
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!
      if (Number.isNaN(v)) {
        const same = Math.floor(i / n) === i % n
        if (same && fill.intraPid !== undefined) values[i] = fill.intraPid
        else if (fill.default !== undefined) values[i] = fill.default
      } else if (!Number.isFinite(v) || v < 0) {
        throw new CostMapError(`computed cost ${space.pids[Math.floor(i / n)]} -> ${space.pids[i % n]} is ${v}`, space.pids[Math.floor(i / n)], space.pids[i % n])
      }
    }
    return new CostMap(space, costType, values)
  }

  get size(): number {
    return this.space.pids.length
  }

  /** Cost between two PID indexes, NaN when there is none. */
  cost(src: number, dst: number): number {
    return this.values[src * this.space.pids.length + dst]!
  }

  /** The ordinal variant of this map: every cost replaced by its dense rank over the whole map. */
  toOrdinal(): CostMap {
    const type: CostType = { ...this.costType, 'cost-mode': 'ordinal' }
    return new CostMap(this.space, type, denseRanks(this.values))
  }

  /** The RFC 7285 `cost-map` member: PIDs in network-map order, pairs without cost left out. */
  toData(): CostMapData {
    return this.filterData(null, null, [])
  }

  /**
   * The `cost-map` member restricted to source and destination PID indexes (null = all) and to
   * costs satisfying every constraint (RFC 7285 §11.3.2). A source with no remaining pair is left out.
   */
  filterData(srcs: readonly number[] | null, dsts: readonly number[] | null, constraints: readonly Constraint[]): CostMapData {
    const n = this.space.pids.length
    const pids = this.space.pids
    const out: CostMapData = {}
    const srcList = srcs ?? allIndexes(n)
    const dstList = dsts ?? allIndexes(n)
    for (const s of srcList) {
      let row: Record<string, number> | undefined
      for (const d of dstList) {
        const cost = this.values[s * n + d]!
        if (Number.isNaN(cost) || !satisfiesAll(cost, constraints)) continue
        row ??= out[pids[s]!] = {}
        row[pids[d]!] = cost
      }
    }
    return out
  }

  /**
   * {@link filterData} as JSON text, written straight from the matrix. Servers answer with this:
   * objects with a different set of keys per request make V8 build hidden classes for each, and
   * JSON.stringify then walks them; the text about halves the server's CPU time per 10x100 request
   * (figure 3 of docs/performance.md). Members come in the order of `srcs` and `dsts` (network-map
   * order for null); the text parses to what {@link filterData} returns.
   */
  filterJson(srcs: readonly number[] | null, dsts: readonly number[] | null, constraints: readonly Constraint[]): string {
    return `{${Array.from(this.jsonRows(srcs, dsts, constraints)).join(',')}}`
  }

  /**
   * The members of {@link filterJson}'s object, one source row each (`"PID1":{"PID1":1,"PID2":5}`),
   * rows without costs left out: large maps are serialized row by row from these, never held as
   * one object or one string (4 million costs are ~65 MB of JSON).
   */
  *jsonRows(srcs: readonly number[] | null, dsts: readonly number[] | null, constraints: readonly Constraint[]): Generator<string> {
    const n = this.space.pids.length
    const { first, next } = this.#memberNames()
    const dstList = dsts ?? allIndexes(n)
    const values = this.values
    const filtered = constraints.length > 0
    for (const s of srcs ?? allIndexes(n)) {
      const base = s * n
      let row = ''
      for (const d of dstList) {
        const cost = values[base + d]!
        if (Number.isNaN(cost) || (filtered && !satisfiesAll(cost, constraints))) continue
        row += (row === '' ? first[d]! : next[d]!) + this.#costText(cost)
      }
      if (row !== '') yield `${first[s]!}{${row}}`
    }
  }

  /**
   * A cost as JSON.stringify writes it (as String does, for finite numbers: ECMA-262
   * SerializeJSONProperty), each distinct cost formatted once. Not only for speed: V8 caches the
   * strings it makes of numbers in a table in the old generation, which keeps each new one alive
   * until it is promoted; a thousand fractional costs per answer promoted 10-20 KB per answer, which
   * only full GCs free (figure 3 of docs/performance.md). Costs past the bound are formatted each time.
   */
  #costText(cost: number): string {
    let text = this.#costTexts.get(cost)
    if (text === undefined) {
      text = String(cost)
      if (this.#costTexts.size < MAX_COST_TEXTS) this.#costTexts.set(cost, text)
    }
    return text
  }

  /** The member names of the JSON text by PID index: `"PID":` first in an object, `,"PID":` after. */
  #memberNames(): { first: readonly string[]; next: readonly string[] } {
    if (!this.#members) {
      const first = this.space.pids.map((pid) => `${JSON.stringify(pid)}:`)
      this.#members = { first, next: first.map((name) => `,${name}`) }
    }
    return this.#members
  }
}

/** Distinct costs whose text a map keeps: 65,536 short strings are a few MB. */
const MAX_COST_TEXTS = 1 << 16

function allIndexes(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i)
}
