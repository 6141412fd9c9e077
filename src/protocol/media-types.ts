/**
 * @module protocol/media-types
 * The media types of RFC 7285 §13.7 (and of the extensions ALTOkit serves: RFC 8895 update
 * streams, RFC 7396 merge patches, RFC 6902 JSON patches), in one place.
 */

export const MediaType = {
  directory: 'application/alto-directory+json',
  networkMap: 'application/alto-networkmap+json',
  networkMapFilter: 'application/alto-networkmapfilter+json',
  costMap: 'application/alto-costmap+json',
  costMapFilter: 'application/alto-costmapfilter+json',
  endpointProp: 'application/alto-endpointprop+json',
  endpointPropParams: 'application/alto-endpointpropparams+json',
  endpointCost: 'application/alto-endpointcost+json',
  endpointCostParams: 'application/alto-endpointcostparams+json',
  error: 'application/alto-error+json',
  // RFC 8895: update streams and their incremental changes.
  updateStream: 'text/event-stream',
  updateStreamParams: 'application/alto-updatestreamparams+json',
  updateStreamControl: 'application/alto-updatestreamcontrol+json',
  mergePatch: 'application/merge-patch+json',
  jsonPatch: 'application/json-patch+json',
} as const

export type AltoMediaType = (typeof MediaType)[keyof typeof MediaType]
