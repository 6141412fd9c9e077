/** @module client — the ALTO client library: typed resources, caching, local guidance, peer selection. */
export * from './client.ts'
export * from './directory.ts'
export * from './discover.ts'
export * from './guidance.ts'
export * from './peer-address.ts'
export * from './rank-peers.ts'
export * from './transport.ts'
export * from './peer-manager.ts'
