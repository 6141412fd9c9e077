/**
 * @module provisioning/mrt
 * MRT (RFC 6396) routing archives read as a stream of routes, and the BGP UPDATE decoder they
 * share with the live BGP speaker. See docs/mrt.md.
 */
export { MrtReader, readMrt, type MrtReaderOptions, type MrtSource, type MrtStats, type MrtWarning } from './reader.ts'
export { Bgp4mp, MrtRecordError, MrtType, TableDumpV2, type MrtEntry, type MrtPeer, type MrtRecordInfo } from './records.ts'
export * from './bgp-update.ts'
export { bunzip2, bunzip2Sync, Bzip2Error, isBzip2 } from './bzip2.ts'
