/**
 * @module protocol/attestation
 * The wire names of ALTOkit's signed answers (docs/redistribution.md), shared by the server that
 * signs and the peers that verify.
 */

/** Response header carrying the attestation of the answer. */
export const ATTESTATION_HEADER = 'alto-attestation'
/** `Prefer` token (RFC 7240) by which a client asks for the attestation of a POST answer. */
export const ATTESTATION_PREFERENCE = 'alto-attestation'
/** JWS `typ` of an attestation. */
export const ATTESTATION_TYPE = 'alto-attestation+jwt'
/** RFC 7517 §8.5.2. */
export const JWK_SET_MEDIA_TYPE = 'application/jwk-set+json'
