/**
 * @module client/guidance
 * Guidance computed locally from a network map and a cost map (seed 000 §4.2.2): an address's
 * PID by longest-prefix match, the cost between two addresses, with no server query per lookup.
 * The same NetworkMap/CostMap code the server answers from.
 */
import type { CostType } from '../protocol/types.ts'
import type { CostMap } from '../cost/cost-map.ts'
import type { NetworkMap } from '../netmap/network-map.ts'
import type { ParsedAddress } from '../netmap/address.ts'

export class LocalGuidance {
  readonly networkMap: NetworkMap
  readonly costMap: CostMap

  constructor(networkMap: NetworkMap, costMap: CostMap) {
    this.networkMap = networkMap
    this.costMap = costMap
  }

  get costType(): CostType {
    return this.costMap.costType
  }

  /** The vtag of the network map this guidance comes from. */
  get vtag(): string {
    return this.networkMap.vtag
  }

  pidOf(address: ParsedAddress): string | undefined {
    return this.networkMap.lookup(address)
  }

  /** Cost from one address to another; NaN when either has no PID or the pair no cost. */
  cost(from: ParsedAddress, to: ParsedAddress): number {
    const s = this.networkMap.lookupIndex(from.family, from.bytes)
    const d = this.networkMap.lookupIndex(to.family, to.bytes)
    return s < 0 || d < 0 ? Number.NaN : this.costMap.cost(s, d)
  }
}
