/**
 * @module server/routes/endpoint-cost
 * Endpoint cost service (RFC 7285 §11.5.1): typed addresses mapped to PIDs by longest-prefix
 * match, costs read from the cost map of the requested type.
 *
 * The busiest POST resource (a peer asks it for every candidate list), so the answer is computed
 * into flat arrays ({@link EndpointCostRows}) and written as JSON text directly by
 * {@link endpointCostsJson}; {@link endpointCosts} gives the same answer as an object for the
 * update streams, which diff objects.
 */
import { AltoProtocolError } from '../../protocol/errors.ts'
import { wireCostType } from '../../protocol/cost-types.ts'
import type { EndpointCostBody } from '../../protocol/types.ts'
import { validateEndpointCost } from '../../protocol/validate.ts'
import { satisfiesAll } from '../../cost/constraints.ts'
import { parseTypedAddressInto } from '../../netmap/address.ts'
import { dependentVtags, type Resource } from '../resources.ts'
import { costMapFor, parseConstraints } from './common.ts'

export interface EndpointCostContext {
  /** The requesting client's address as a typed address, used when `srcs` is absent or empty (§11.5.1.3). */
  clientAddress: string | undefined
  allowConstraints: boolean
}

/** One answer row: a source and its destinations with their costs, in answer order. */
interface Row {
  src: string
  dsts: string[]
  costs: number[]
}

interface EndpointCostRows {
  meta: EndpointCostBody['meta']
  rows: Row[]
}

export function endpointCosts(resource: Resource, body: unknown, context: EndpointCostContext): EndpointCostBody {
  const { meta, rows } = computeRows(resource, body, context)
  const out: EndpointCostBody['endpoint-cost-map'] = {}
  for (const row of rows) {
    const answer: Record<string, number> = {}
    for (let i = 0; i < row.dsts.length; i++) answer[row.dsts[i]!] = row.costs[i]!
    out[row.src] = answer
  }
  return { meta, 'endpoint-cost-map': out }
}

/**
 * The same answer as {@link endpointCosts}, as JSON text, without building the object first. Every
 * endpoint string in it has passed {@link parseTypedAddressInto}, so it holds only `ipv4`/`ipv6`,
 * hex digits, `:` and `.` and needs no escaping; costs are finite numbers, written as
 * JSON.stringify writes them.
 */
export function endpointCostsJson(resource: Resource, body: unknown, context: EndpointCostContext): string {
  const { meta, rows } = computeRows(resource, body, context)
  let json = `{"meta":${JSON.stringify(meta)},"endpoint-cost-map":{`
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!
    json += `${r === 0 ? '' : ','}"${row.src}":{`
    for (let i = 0; i < row.dsts.length; i++) json += `${i === 0 ? '' : ','}"${row.dsts[i]}":${row.costs[i]}`
    json += '}'
  }
  return `${json}}}`
}

function computeRows(resource: Resource, body: unknown, context: EndpointCostContext): EndpointCostRows {
  const request = validateEndpointCost(body)
  const served = costMapFor(resource, request['cost-type'])
  const constraints = parseConstraints(request.constraints, context.allowConstraints)
  const map = resource.networkMap!
  const ordinal = served.costType['cost-mode'] === 'ordinal'
  // Ordinal answers rank the requested destinations from the numerical costs of the same metric.
  const numeric = ordinal
    ? (resource.costMaps.find((c) => c.costType['cost-mode'] === 'numerical' && c.costType['cost-metric'] === served.costType['cost-metric']) ?? served)
    : served

  const requestedSrcs = request.endpoints.srcs ?? []
  const srcs = requestedSrcs.length > 0 ? requestedSrcs : context.clientAddress ? [context.clientAddress] : []

  // Destinations: each checked and looked up once; a repeated endpoint counts once, first place.
  const dsts: string[] = []
  const dstPids: number[] = []
  const dstList = request.endpoints.dsts
  scratch.seen.reset(map.pids.length, dstList.length)
  for (const endpoint of dstList) {
    const pid = pidOf(endpoint, 'endpoints/dsts')
    if (pid < 0 || !scratch.seen.add(pid, endpoint, dsts)) continue
    dsts.push(endpoint)
    dstPids.push(pid)
  }

  const rows: Row[] = []
  scratch.reserve(dsts.length)
  const { costs, reached } = scratch
  const srcsSeen = new Set<string>()
  for (const src of srcs) {
    const s = pidOf(src, 'endpoints/srcs')
    if (srcsSeen.has(src)) continue // the same row again: one JSON member
    srcsSeen.add(src)
    const row: Row = { src, dsts: [], costs: [] }
    rows.push(row)
    if (s < 0) continue
    // The reachable destinations, in request order, and their costs.
    let n = 0
    for (let i = 0; i < dsts.length; i++) {
      const cost = numeric.map.cost(s, dstPids[i]!)
      if (Number.isNaN(cost)) continue
      reached[n] = i
      costs[n] = cost
      n++
    }
    if (ordinal) rankInPlace(costs, n)
    for (let k = 0; k < n; k++) {
      const cost = costs[k]!
      if (constraints.length > 0 && !satisfiesAll(cost, constraints)) continue
      row.dsts.push(dsts[reached[k]!]!)
      row.costs.push(cost)
    }
  }
  return { meta: { 'cost-type': wireCostType(served.costType), 'dependent-vtags': dependentVtags(map) }, rows }

  function pidOf(endpoint: string, field: string): number {
    const family = parseTypedAddressInto(endpoint, scratch.ipv4, scratch.ipv6)
    if (!family) throw new AltoProtocolError('E_INVALID_FIELD_VALUE', `Invalid typed endpoint address ${JSON.stringify(endpoint)}`, { field, value: endpoint })
    return map.lookupIndex(family, scratch[family])
  }
}

/**
 * Replace the first `n` costs by their ordinal ranks: the position in cost order, equal costs
 * ranked in the request's order, as in the example of RFC 7285 §11.5.1.7 (ranks 1, 2, 3). A cost's
 * rank is the number of smaller costs, found by binary search in a sorted copy, plus the number of
 * equal costs before it: no comparator calls, no allocation.
 */
function rankInPlace(costs: Float64Array, n: number): void {
  const sorted = scratch.sorted // reserved for every destination by computeRows
  sorted.set(costs.subarray(0, n))
  sorted.subarray(0, n).sort()
  const ties = scratch.ties
  ties.fill(0, 0, n)
  for (let k = 0; k < n; k++) {
    const cost = costs[k]!
    let low = 0
    let high = n
    while (low < high) {
      const mid = (low + high) >>> 1
      if (sorted[mid]! < cost) low = mid + 1
      else high = mid
    }
    costs[k] = low + ties[low]!++ + 1
  }
}

/**
 * Endpoints already taken, chained by PID: a repeated endpoint has the PID of its first place, so
 * only endpoints of one PID are compared. Generation stamps make a reset O(1) per request.
 */
class SeenEndpoints {
  #stamp = new Uint32Array(0)
  #head = new Int32Array(0)
  #next = new Int32Array(0)
  #generation = 0

  reset(pidCount: number, capacity: number): void {
    if (this.#stamp.length < pidCount) {
      this.#stamp = new Uint32Array(pidCount)
      this.#head = new Int32Array(pidCount)
      this.#generation = 0
    }
    if (this.#next.length < capacity) this.#next = new Int32Array(capacity)
    if (++this.#generation === 0xffffffff) {
      this.#stamp.fill(0)
      this.#generation = 1
    }
  }

  /** Whether `endpoint` (of PID `pid`) is new among `kept`; if so it is recorded as kept[kept.length]. */
  add(pid: number, endpoint: string, kept: readonly string[]): boolean {
    const first = this.#stamp[pid] === this.#generation ? this.#head[pid]! : -1
    for (let i = first; i !== -1; i = this.#next[i]!) if (kept[i] === endpoint) return false
    this.#next[kept.length] = first
    this.#head[pid] = kept.length
    this.#stamp[pid] = this.#generation
    return true
  }
}

/** Buffers reused by every request (requests are answered one at a time on the event loop). */
const scratch = new (class {
  readonly ipv4 = new Uint8Array(4)
  readonly ipv6 = new Uint8Array(16)
  readonly seen = new SeenEndpoints()
  /** Per destination: its cost (then rank), a sorted copy, its index in the request, ties seen. */
  costs = new Float64Array(256)
  sorted = new Float64Array(256)
  reached = new Int32Array(256)
  ties = new Int32Array(256)
  /** Make the per-destination buffers hold at least `n`. */
  reserve(n: number): void {
    if (this.costs.length >= n) return
    this.costs = new Float64Array(n)
    this.sorted = new Float64Array(n)
    this.reached = new Int32Array(n)
    this.ties = new Int32Array(n)
  }
})()
