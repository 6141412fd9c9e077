/**
 * @module cost/constraints
 * Cost constraints of filtered cost maps and the endpoint cost service (RFC 7285 §11.3.2.3):
 * strings "<op> <value>" with op one of gt, lt, ge, le, eq and value a JSON number. A pair is
 * returned only when its cost satisfies every constraint.
 */

export type ConstraintOperator = 'gt' | 'lt' | 'ge' | 'le' | 'eq'

export interface Constraint {
  op: ConstraintOperator
  value: number
}

// Operator, one space, a JSON number (RFC 8259 §6 grammar).
const CONSTRAINT = /^(gt|lt|ge|le|eq) (-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)$/

/** Parse one constraint, or undefined when it is not of the RFC's form. */
export function parseConstraint(text: string): Constraint | undefined {
  const match = CONSTRAINT.exec(text)
  if (!match) return undefined
  const value = Number(match[2])
  if (!Number.isFinite(value)) return undefined
  return { op: match[1] as ConstraintOperator, value }
}

export function satisfies(cost: number, constraint: Constraint): boolean {
  switch (constraint.op) {
    case 'gt':
      return cost > constraint.value
    case 'lt':
      return cost < constraint.value
    case 'ge':
      return cost >= constraint.value
    case 'le':
      return cost <= constraint.value
    case 'eq':
      return cost === constraint.value
  }
}

export function satisfiesAll(cost: number, constraints: readonly Constraint[]): boolean {
  for (const constraint of constraints) if (!satisfies(cost, constraint)) return false
  return true
}
