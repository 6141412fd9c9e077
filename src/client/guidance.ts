/**
 * @module client/guidance
 * Guidance computed locally from a network map and a cost map (seed 000 §4.2.2): an address's
 * PID by longest-prefix match, the cost between two addresses, with no server query per lookup.
 * The same NetworkMap/CostMap code the server answers from.
 */
import type { CostType } from '../protocol/types.ts'
import type { CostMap } from '../cost/cost-map.ts'
import type { NetworkMap } from '../netmap/network-map.ts'
import { parseAnyPrefix, type ParsedAddress } from '../netmap/address.ts'
import { PrefixTrie } from '../netmap/prefix-trie.ts'

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

/**
 * Ratings a server gives per subnet rather than per address (seed 000 §4.2.2 step 6: servers
 * rate prefixes so as not to leak individual addresses), mapped back to the requested addresses
 * by longest-prefix match. Keys are prefixes (`192.0.2.0/24`), bare addresses, or their RFC 7285
 * typed forms (`ipv4:192.0.2.0/24`, as RFC 9240 entity ids write them).
 */
export class SubnetRatings {
  readonly #tries = { ipv4: new PrefixTrie(32), ipv6: new PrefixTrie(128) }
  readonly #values: number[] = []

  /** @throws Error naming the first key that is not a prefix. */
  constructor(ratings: Readonly<Record<string, number>>) {
    for (const [key, rating] of Object.entries(ratings)) {
      const prefix = parseAnyPrefix(key.replace(/^ipv[46]:/, ''))
      if ('error' in prefix) throw new Error(`rating key ${JSON.stringify(key)}: ${prefix.error}`)
      this.#values.push(rating)
      this.#tries[prefix.family].insert(prefix.bytes, prefix.length, this.#values.length - 1)
    }
  }

  /** The rating of the most specific subnet containing the address; NaN when none does. */
  ratingOf(address: ParsedAddress): number {
    const index = this.#tries[address.family].lookup(address.bytes)
    return index < 0 ? Number.NaN : this.#values[index]!
  }
}
