/**
 * @module netmap
 * Addresses and prefixes, the longest-prefix-match trie, and RFC 7285 network maps.
 */
export {
  formatAddress,
  parseAddress,
  parseAnyPrefix,
  parseIPv4,
  parseIPv6,
  parsePrefix,
  parseTypedAddress,
  typedAddress,
  type ParsedAddress,
  type ParsedPrefix,
} from './address.ts'
export { PrefixTrie, type PrefixEntry } from './prefix-trie.ts'
export { NetworkMap, NetworkMapError, type PrefixColumns, type PrefixSet } from './network-map.ts'
