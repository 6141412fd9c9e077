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

/** RFC 8895 §6.5 UpdateStreamReq (also the stream control request, §7.5) */
export const updateStreamParamsSchema = {
  type: 'object',
  properties: {
    add: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['resource-id'],
        properties: {
          'resource-id': { type: 'string' },
          tag: { type: 'string' },
          'incremental-changes': { type: 'boolean' },
          input: { type: 'object' },
        },
      },
    },
    remove: stringList,
  },
} as const

// Response bodies (RFC 7285 §9 and §11), checked by the client. As with requests, members the
// schema does not name are allowed, so answers of extended servers are accepted.

const vtag = {
  type: 'object',
  required: ['resource-id', 'tag'],
  properties: { 'resource-id': { type: 'string' }, tag: { type: 'string' } },
} as const

const dependentVtags = { type: 'array', items: vtag } as const
const costValues = { type: 'object', additionalProperties: { type: 'object', additionalProperties: { type: 'number' } } } as const

/** RFC 7285 §9.2 InfoResourceDirectory */
export const irdSchema = {
  type: 'object',
  required: ['resources'],
  properties: {
    meta: {
      type: 'object',
      properties: {
        'cost-types': { type: 'object', additionalProperties: costType },
        'default-alto-network-map': { type: 'string' },
      },
    },
    resources: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['uri', 'media-type'],
        properties: {
          uri: { type: 'string' },
          'media-type': { type: 'string' },
          accepts: { type: 'string' },
          uses: stringList,
          capabilities: {
            type: 'object',
            properties: {
              'cost-type-names': stringList,
              'cost-constraints': { type: 'boolean' },
              'prop-types': stringList,
            },
          },
        },
      },
    },
  },
} as const

/** RFC 7285 §11.2.1.6 InfoResourceNetworkMap */
export const networkMapBodySchema = {
  type: 'object',
  required: ['meta', 'network-map'],
  properties: {
    meta: { type: 'object', required: ['vtag'], properties: { vtag } },
    'network-map': {
      type: 'object',
      additionalProperties: { type: 'object', properties: { ipv4: stringList, ipv6: stringList } },
    },
  },
} as const

/** RFC 7285 §11.2.3.6 InfoResourceCostMap */
export const costMapBodySchema = {
  type: 'object',
  required: ['meta', 'cost-map'],
  properties: {
    meta: { type: 'object', required: ['dependent-vtags', 'cost-type'], properties: { 'dependent-vtags': dependentVtags, 'cost-type': costType } },
    'cost-map': costValues,
  },
} as const

/** RFC 7285 §11.4.1.6 InfoResourceEndpointProperties */
export const endpointPropBodySchema = {
  type: 'object',
  required: ['endpoint-properties'],
  properties: {
    meta: { type: 'object', properties: { 'dependent-vtags': dependentVtags } },
    'endpoint-properties': { type: 'object', additionalProperties: { type: 'object', additionalProperties: { type: 'string' } } },
  },
} as const

/** RFC 7285 §11.5.1.6 InfoResourceEndpointCostMap */
export const endpointCostBodySchema = {
  type: 'object',
  required: ['meta', 'endpoint-cost-map'],
  properties: {
    meta: { type: 'object', required: ['cost-type'], properties: { 'cost-type': costType, 'dependent-vtags': dependentVtags } },
    'endpoint-cost-map': costValues,
  },
} as const

/** RFC 7285 §8.5.2 error body */
export const errorBodySchema = {
  type: 'object',
  required: ['meta'],
  properties: {
    meta: {
      type: 'object',
      required: ['code'],
      properties: { code: { type: 'string' }, field: { type: 'string' }, value: { type: 'string' }, 'syntax-error': { type: 'string' } },
    },
  },
} as const
