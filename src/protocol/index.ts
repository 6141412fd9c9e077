/** @module protocol — RFC 7285 types, media types, names, schemas and errors. */
export * from './media-types.ts'
export * from './errors.ts'
export * from './types.ts'
export * from './names.ts'
export * from './cost-types.ts'
export * from './schemas.ts'
export * from './validate.ts'
