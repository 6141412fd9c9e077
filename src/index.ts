/**
 * @module altokit
 * The library API: protocol types and errors, network and cost maps, the client with peer
 * selection, provisioning, the server, and redistribution of signed answers among peers. The
 * `alto` program is a thin shell over these.
 */
export * from './protocol/index.ts'
export * from './netmap/index.ts'
export * from './cost/index.ts'
export * from './client/index.ts'
export * from './discovery/index.ts'
export { buildSnapshot, Snapshot, type ServedCostMap, type PropertyIndex } from './provisioning/snapshot.ts'
export type { NetworkSpec, NetworkMapSpec, CostMapSpec, PropertySpec, AltoConfig, ServerConfig } from './provisioning/spec.ts'
export { loadNetwork, type LoadOptions } from './provisioning/load.ts'
export { loadConfigFile } from './provisioning/config.ts'
export { defaultNetworkSpec } from './provisioning/default-network.ts'
export { LibLocDatabase, LibLocError, LibLocFlag, type LibLocNetwork, type LibLocCountry } from './provisioning/libloc.ts'
export { libLocPrefixes, type LibLocMapOptions, type LibLocMapSummary } from './provisioning/libloc-map.ts'
export { createAltoServer, type AltoServer } from './server/app.ts'
export {
  AttestationSigner,
  attestationKeysIrdEntry,
  generateSigningKey,
  parseSigningKey,
  privateJwkToPem,
  readSigningOptions,
  ATTESTATION_KEYS_ID,
  ATTESTATION_KEYS_PATH,
  ATTESTATION_PREFERENCE,
  type AttestationInput,
  type PrivateJwk,
  type PublicJwk,
  type SigningOptions,
} from './server/signing.ts'
export * from './redistribution/index.ts'
export type { ServerOptions } from './server/options.ts'
