/**
 * @module protocol/schemas
 * JSON Schemas of the RFC 7285 request bodies. Unknown members are allowed: RFC 7285 §8.3.7 asks
 * receivers to ignore what they do not understand, so extensions keep working. Value rules that
 * need the name and address parsers (PID syntax, typed addresses, constraints) are checked by the
 * resource handlers, which know which field they are looking at.
 */

const costType = {
  type: 'object',
  required: ['cost-mode', 'cost-metric'],
  properties: {
    'cost-mode': { type: 'string' },
    'cost-metric': { type: 'string' },
    description: { type: 'string' },
  },
} as const

const stringList = { type: 'array', items: { type: 'string' } } as const

/** RFC 7285 §11.3.1.3 ReqFilteredNetworkMap */
export const networkMapFilterSchema = {
  type: 'object',
  required: ['pids'],
  properties: {
    pids: stringList,
    'address-types': stringList,
  },
} as const

/** RFC 7285 §11.3.2.3 ReqFilteredCostMap */
export const costMapFilterSchema = {
  type: 'object',
  required: ['cost-type'],
  properties: {
    'cost-type': costType,
    constraints: stringList,
    pids: {
      type: 'object',
      properties: { srcs: stringList, dsts: stringList },
    },
  },
} as const

/** RFC 7285 §11.4.1.3 ReqEndpointProp */
export const endpointPropSchema = {
  type: 'object',
  required: ['properties', 'endpoints'],
  properties: {
    properties: { ...stringList, minItems: 1 },
    endpoints: { ...stringList, minItems: 1 },
  },
} as const

/** RFC 7285 §11.5.1.3 ReqEndpointCostMap */
export const endpointCostSchema = {
  type: 'object',
  required: ['cost-type', 'endpoints'],
  properties: {
    'cost-type': costType,
    constraints: stringList,
    endpoints: {
      type: 'object',
      required: ['dsts'],
      properties: { srcs: stringList, dsts: { ...stringList, minItems: 1 } },
    },
  },
} as const
