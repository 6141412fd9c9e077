/**
 * @module provisioning/route
 * A BGP route as the provisioning rules see it, whatever it came from (an MRT dump, a live BGP
 * session): the prefix and the attributes rules can match on. MRT reader and BGP speaker both
 * produce this shape; `rules.ts` turns a set of routes into PIDs.
 */
import type { AddressType } from '../protocol/types.ts'

export interface Route {
  family: AddressType
  /** Network address bytes (4 or 16), host bits zero. */
  bytes: Uint8Array
  length: number
  /** Canonical prefix text, e.g. `192.0.2.0/24`, `2001:db8::/32`. */
  prefix: string
  /** ORIGIN attribute: 0 IGP, 1 EGP, 2 INCOMPLETE. */
  origin?: number
  /** AS_PATH flattened in order (AS_SET members included, in their order). */
  asPath: readonly number[]
  /** The last AS of the path (the originating AS), when the path ends in an AS_SEQUENCE. */
  originAs?: number
  /** NEXT_HOP or the MP_REACH next hop, canonical text. */
  nextHop?: string
  /** RFC 1997 communities as `ASN:VALUE` (e.g. `65000:101`). */
  communities: readonly string[]
  /** RFC 8092 large communities as `GLOBAL:LOCAL1:LOCAL2`. */
  largeCommunities: readonly string[]
  /** Which peer or session the route came from (MRT peer index / BGP neighbor address). */
  peer?: string
  /** RFC 7911 ADD-PATH path identifier, when present. */
  pathId?: number
}
