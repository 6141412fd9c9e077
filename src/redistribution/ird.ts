/**
 * @module redistribution/ird
 * What a sharing peer reads from an IRD (RFC 7285 §9): the reusable resources (full network and
 * cost maps, seed 001) and the JWKS listed next to them. Redistribution may import only the
 * protocol layer, so this is a small reader of its own rather than the client's Directory.
 */
import { MediaType } from '../protocol/media-types.ts'
import type { CostType, IrdBody } from '../protocol/types.ts'
import { isIrdBody } from '../protocol/validate.ts'

/** RFC 7517 §8.5.2; the media type of the IRD entry that lists the server's signing keys. */
import { JWK_SET_MEDIA_TYPE } from '../protocol/attestation.ts'

export { JWK_SET_MEDIA_TYPE }

/** A resource whose answer is the same for every client (seed 001) and so may be shared. */
export interface ReusableResource {
  id: string
  /** Absolute URI. */
  uri: string
  mediaType: string
  /** Cost maps: the cost type they carry. */
  costType?: CostType
  costTypeName?: string
  /** Cost maps: the network map they depend on. */
  networkMap?: string
}

/** Media types that may be redistributed: the IRD, full network maps, full cost maps (GET only). */
export const REUSABLE_MEDIA_TYPES: readonly string[] = [MediaType.directory, MediaType.networkMap, MediaType.costMap]

export function parseIrd(body: Uint8Array | unknown): IrdBody | undefined {
  let json: unknown = body
  if (body instanceof Uint8Array) {
    try {
      json = JSON.parse(Buffer.from(body).toString('utf8'))
    } catch {
      return undefined
    }
  }
  return isIrdBody(json) ? json : undefined
}

/** The full network maps and cost maps an IRD lists (not filtered or endpoint services). */
export function reusableResources(ird: IrdBody, irdUri: string): ReusableResource[] {
  const costTypes = ird.meta?.['cost-types'] ?? {}
  const out: ReusableResource[] = []
  for (const [id, entry] of Object.entries(ird.resources)) {
    if (entry.accepts !== undefined) continue
    const uri = absolute(entry.uri, irdUri)
    if (uri === undefined) continue
    if (entry['media-type'] === MediaType.networkMap) out.push({ id, uri, mediaType: MediaType.networkMap })
    if (entry['media-type'] === MediaType.costMap) {
      const name = entry.capabilities?.['cost-type-names']?.[0]
      const resource: ReusableResource = { id, uri, mediaType: MediaType.costMap }
      if (name !== undefined) {
        resource.costTypeName = name
        if (costTypes[name]) resource.costType = costTypes[name]
      }
      if (entry.uses?.[0] !== undefined) resource.networkMap = entry.uses[0]
      out.push(resource)
    }
  }
  return out
}

/** The URI of the JWKS the IRD lists, if any. */
export function attestationKeysUri(ird: IrdBody, irdUri: string): string | undefined {
  for (const entry of Object.values(ird.resources)) {
    if (entry['media-type'] === JWK_SET_MEDIA_TYPE) return absolute(entry.uri, irdUri)
  }
  return undefined
}

function absolute(uri: string, base: string): string | undefined {
  try {
    return new URL(uri, base).href
  } catch {
    return undefined
  }
}
