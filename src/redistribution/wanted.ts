/**
 * @module redistribution/wanted
 * "Is this what I requested?" (seed 001): comparing a signed exchange with the request the
 * receiver would have made, by meaning rather than by bytes.
 */
import type { CostType } from '../protocol/types.ts'

export function describeRequest(method: string, uri: string, mediaType: string | undefined): string {
  return `${method} ${uri}${mediaType ? ` (${mediaType})` : ''}`
}

/**
 * Undefined when the answer is for `wanted`, null when it names no cost type at all (it is not a
 * cost answer), else a description of the cost type it is for. The
 * cost type is read from the response's `meta.cost-type` (cost maps and endpoint costs, RFC 7285
 * §11.2.3.6, §11.5.1.6) and, for a POST, from the request's `cost-type`.
 */
export function sameCostType(wanted: Pick<CostType, 'cost-mode' | 'cost-metric'>, response: unknown, request: unknown): string | null | undefined {
  const answered = costTypeOf((response as { meta?: unknown } | undefined)?.meta)
  const requested = request === undefined ? undefined : costTypeOf(request)
  for (const type of [answered, requested]) {
    if (type === undefined) continue
    if (type['cost-mode'] !== wanted['cost-mode'] || type['cost-metric'] !== wanted['cost-metric']) return `${type['cost-mode']} ${type['cost-metric']}`
  }
  return answered === undefined && requested === undefined ? null : undefined
}

function costTypeOf(holder: unknown): Pick<CostType, 'cost-mode' | 'cost-metric'> | undefined {
  const type = (holder as { 'cost-type'?: Partial<CostType> } | undefined)?.['cost-type']
  if (typeof type?.['cost-mode'] !== 'string' || typeof type['cost-metric'] !== 'string') return undefined
  return { 'cost-mode': type['cost-mode'], 'cost-metric': type['cost-metric'] }
}

/**
 * Whether two request bodies mean the same: objects compared member by member whatever their
 * order, lists of strings as sets (PID and address lists, RFC 7285 §11.3.1.3 and §11.3.2.3),
 * other lists in order.
 */
export function sameParameters(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.every((x) => typeof x === 'string') && b.every((x) => typeof x === 'string')) {
      const left = new Set(a as string[])
      const right = new Set(b as string[])
      return left.size === right.size && [...left].every((x) => right.has(x))
    }
    return a.length === b.length && a.every((x, i) => sameParameters(x, b[i]))
  }
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a)
    const kb = Object.keys(b)
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && sameParameters((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  }
  return false
}
