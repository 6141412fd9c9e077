/**
 * @module protocol/types
 * The JSON shapes of RFC 7285 messages, as TypeScript types. Field names follow the RFC exactly.
 */

export type CostMode = 'numerical' | 'ordinal'
export type AddressType = 'ipv4' | 'ipv6'

/** RFC 7285 §10.7 */
export interface CostType {
  'cost-mode': CostMode
  'cost-metric': string
  description?: string
}

/** RFC 7285 §10.3 */
export interface VersionTag {
  'resource-id': string
  tag: string
}

/** RFC 7285 §11.2.1.6: PID -> address type -> prefixes */
export type NetworkMapData = Record<string, Partial<Record<AddressType, string[]>>>

export interface NetworkMapBody {
  meta: { vtag: VersionTag }
  'network-map': NetworkMapData
}

/** RFC 7285 §11.2.3.6: src PID -> dst PID -> cost */
export type CostMapData = Record<string, Record<string, number>>

export interface CostMapBody {
  meta: { 'dependent-vtags': VersionTag[]; 'cost-type': CostType }
  'cost-map': CostMapData
}

export interface NetworkMapFilterRequest {
  pids: string[]
  'address-types'?: AddressType[]
}

export interface CostMapFilterRequest {
  'cost-type': CostType
  constraints?: string[]
  pids?: { srcs?: string[]; dsts?: string[] }
}

export interface EndpointPropRequest {
  properties: string[]
  endpoints: string[]
}

export interface EndpointPropBody {
  meta: { 'dependent-vtags': VersionTag[] }
  'endpoint-properties': Record<string, Record<string, string>>
}

export interface EndpointCostRequest {
  'cost-type': CostType
  constraints?: string[]
  endpoints: { srcs?: string[]; dsts: string[] }
}

export interface EndpointCostBody {
  meta: { 'cost-type': CostType; 'dependent-vtags'?: VersionTag[] }
  'endpoint-cost-map': Record<string, Record<string, number>>
}

/** RFC 7285 §9.2.2 */
export interface IrdResourceEntry {
  uri: string
  'media-type': string
  accepts?: string
  capabilities?: {
    'cost-type-names'?: string[]
    'cost-constraints'?: boolean
    'prop-types'?: string[]
    /** RFC 8895 §6.3: resource id -> comma-separated media types of its incremental changes. */
    'incremental-change-media-types'?: Record<string, string>
    /** RFC 8895 §6.3: whether the server offers a stream control service for each stream. */
    'support-stream-control'?: boolean
  }
  uses?: string[]
}

export interface IrdBody {
  meta: {
    'cost-types': Record<string, CostType>
    'default-alto-network-map': string
  }
  resources: Record<string, IrdResourceEntry>
}

/** RFC 8895 §6.5 AddUpdateReq: one substream, named by the client's id for it. */
export interface AddUpdateRequest {
  'resource-id': string
  /** The version the client already holds (a network map's vtag). */
  tag?: string
  /** Patches after the first full body; false asks for a full body on every change. @default true */
  'incremental-changes'?: boolean
  /** The request body of a POST resource (filtered maps, endpoint properties). */
  input?: Record<string, unknown>
}

/** RFC 8895 §6.5 UpdateStreamReq; also the body of a stream control request (§7.5). */
export interface UpdateStreamRequest {
  add?: Record<string, AddUpdateRequest>
  remove?: string[]
}

/** RFC 8895 §5.3: the data of a control update message. */
export interface UpdateStreamControlEvent {
  'control-uri'?: string
  'started-substreams'?: string[]
  'stopped-substreams'?: string[]
  description?: string
}
