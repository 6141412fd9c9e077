/**
 * @module protocol/cost-types
 * Cost types (RFC 7285 §6.1): a metric with a mode. Two cost types are the same when metric and
 * mode are; the description is informational.
 */
import type { CostMode, CostType } from './types.ts'

export const COST_MODES: readonly CostMode[] = ['numerical', 'ordinal']

export function isCostMode(mode: unknown): mode is CostMode {
  return mode === 'numerical' || mode === 'ordinal'
}

export function sameCostType(a: CostType, b: CostType): boolean {
  return a['cost-mode'] === b['cost-mode'] && a['cost-metric'] === b['cost-metric']
}

/** A stable key for a cost type, e.g. `ordinal/routingcost`. */
export function costTypeKey(type: CostType): string {
  return `${type['cost-mode']}/${type['cost-metric']}`
}

/** The cost type without its description, as RFC 7285 responses carry it in `meta.cost-type`. */
export function wireCostType(type: CostType): CostType {
  return { 'cost-mode': type['cost-mode'], 'cost-metric': type['cost-metric'] }
}
