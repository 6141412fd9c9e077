/** @module cost — cost maps, ordinal ranking and constraints, shared by server, client and tracker. */
export * from './constraints.ts'
export * from './ordinal.ts'
export * from './cost-map.ts'
export * from './rank.ts'
export * from './combine.ts'
