/**
 * @module redistribution/verify
 * Verifying a bundle: is it what I asked for, and did my ALTO server make it (seed 001)? Every
 * check has its own rejection reason (reasons.ts). Keys come only from the receiver's
 * {@link KeySource}; a key the bundle carries is refused, not used.
 */
import { decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify, type JWTPayload } from 'jose'
import type { CostType, VersionTag } from '../protocol/types.ts'
import { contentDigest, decodeBundle, type Bundle } from './bundle.ts'
import type { KeySource } from './keys.ts'
import { BundleRejectedError } from './reasons.ts'
import { describeRequest, sameCostType, sameParameters } from './wanted.ts'

import { ATTESTATION_TYPE } from '../protocol/attestation.ts'

export { ATTESTATION_TYPE }
/** EdDSA over Ed25519 (RFC 8037), and its fully-specified name. */
export const DEFAULT_ALGORITHMS: readonly string[] = ['EdDSA', 'Ed25519']
/** JWS header members that carry or point to a key chosen by the signer (RFC 7515 §4.1). */
const SENDER_KEY_HEADERS = ['jwk', 'jku', 'x5c', 'x5u'] as const

/** What the receiver wants answered: the request it would have sent itself. */
export interface Wanted {
  /** Absolute URI of the resource, from the receiver's own IRD or configuration. */
  uri: string
  /** @default 'POST' when `request` is given, else 'GET' */
  method?: 'GET' | 'POST'
  /** Expected response media type, e.g. `application/alto-costmap+json`. */
  mediaType?: string
  /** POST parameters, compared by meaning (member order and the order of name lists do not matter). */
  request?: unknown
  /** The cost type the answer must be for (cost maps, endpoint costs). */
  costType?: Pick<CostType, 'cost-mode' | 'cost-metric'>
}

export interface VerifyOptions {
  keys: KeySource
  /** Clock in milliseconds. @default Date.now */
  now?: () => number
  /** @default ['EdDSA', 'Ed25519'] */
  algorithms?: readonly string[]
  /** Seconds of clock skew tolerated on `exp` and `iat`. @default 5 */
  clockToleranceS?: number
}

/** The signed claims (docs/redistribution.md, "Attestation claims"). */
export interface AttestationClaims {
  iss: string
  iat: number
  exp: number
  req: { method: string; uri: string; ct: string | null; cd: string }
  res: { status: number; ct: string; cd: string }
  vtag?: VersionTag
  'dependent-vtags'?: VersionTag[]
}

export interface VerifiedBundle {
  bundle: Bundle
  claims: AttestationClaims
  kid: string
  /** Milliseconds since the epoch. */
  issuedAt: number
  expiresAt: number
  /** The response body, parsed. */
  json: unknown
}

export async function verifyBundle(input: Bundle | Uint8Array | string, wanted: Wanted | undefined, options: VerifyOptions): Promise<VerifiedBundle> {
  const bundle = typeof input === 'string' || input instanceof Uint8Array ? decodeBundle(input) : input
  const now = (options.now ?? Date.now)()
  const tolerance = options.clockToleranceS ?? 5
  const algorithms = options.algorithms ?? DEFAULT_ALGORITHMS

  // The header is read before any key is looked up, so that what the sender chose is refused first.
  let header: ReturnType<typeof decodeProtectedHeader>
  try {
    header = decodeProtectedHeader(bundle.attestation)
  } catch (error) {
    throw new BundleRejectedError('malformed', [`attestation header: ${(error as Error).message}`])
  }
  const carried = SENDER_KEY_HEADERS.filter((m) => header[m] !== undefined)
  if (carried.length > 0) throw new BundleRejectedError('sender-key', [`JWS header ${carried.join(', ')}`])
  if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) throw new BundleRejectedError('bad-algorithm', [header.alg ?? 'none', algorithms.join(', ')])
  if (header.typ !== ATTESTATION_TYPE) throw new BundleRejectedError('malformed', [`JWS typ is ${header.typ ?? 'missing'}, not ${ATTESTATION_TYPE}`])
  const kid = header.kid
  if (typeof kid !== 'string' || kid === '') throw new BundleRejectedError('unknown-key', ['(none: the attestation names no kid)', options.keys.issuer ?? options.keys.description])

  let jwk
  try {
    jwk = await options.keys.key(kid)
  } catch (error) {
    throw new BundleRejectedError('keys-unavailable', [options.keys.issuer ?? options.keys.description, (error as Error).message], error)
  }
  if (!jwk) throw new BundleRejectedError('unknown-key', [kid, options.keys.issuer ?? options.keys.description])

  let payload: JWTPayload
  try {
    const key = await importJWK({ ...jwk, alg: header.alg }, header.alg)
    ;({ payload } = await jwtVerify(bundle.attestation, key, { algorithms: [...algorithms], currentDate: new Date(now), clockTolerance: tolerance }))
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new BundleRejectedError('expired', [isoTime((error.payload.exp ?? 0) * 1000), isoTime(now)])
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) throw new BundleRejectedError('bad-signature', [kid])
    throw new BundleRejectedError('malformed', [`attestation: ${(error as Error).message}`], error)
  }
  const claims = checkedClaims(payload)
  if (options.keys.issuer !== undefined && normalizeUri(claims.iss) !== normalizeUri(options.keys.issuer)) throw new BundleRejectedError('wrong-issuer', [claims.iss, options.keys.issuer])
  if (claims.iat * 1000 > now + tolerance * 1000) throw new BundleRejectedError('not-yet-valid', [isoTime(claims.iat * 1000), isoTime(now)])

  checkEnvelope(bundle, claims)
  const requestDigest = contentDigest(bundle.request.body)
  if (requestDigest !== claims.req.cd) throw new BundleRejectedError('request-digest', [requestDigest, claims.req.cd])
  const responseDigest = contentDigest(bundle.response.body)
  if (responseDigest !== claims.res.cd) throw new BundleRejectedError('response-digest', [responseDigest, claims.res.cd])

  let json: unknown
  try {
    json = JSON.parse(bundle.response.body.toString('utf8'))
  } catch {
    throw new BundleRejectedError('malformed', ['the signed response body is not JSON'])
  }
  if (wanted) checkWanted(bundle, claims, json, wanted)
  return { bundle, claims, kid, issuedAt: claims.iat * 1000, expiresAt: claims.exp * 1000, json }
}

function checkedClaims(payload: JWTPayload): AttestationClaims {
  const c = payload as Partial<AttestationClaims>
  const req = c.req
  const res = c.res
  const ok =
    typeof c.iss === 'string' &&
    typeof c.iat === 'number' &&
    typeof c.exp === 'number' &&
    typeof req === 'object' && req !== null &&
    typeof req.method === 'string' && typeof req.uri === 'string' && (req.ct === null || typeof req.ct === 'string') && typeof req.cd === 'string' &&
    typeof res === 'object' && res !== null &&
    res.status === 200 && typeof res.ct === 'string' && typeof res.cd === 'string'
  if (!ok) throw new BundleRejectedError('malformed', ['the attestation lacks iss, iat, exp, req {method, uri, ct, cd} or res {status: 200, ct, cd}'])
  return c as AttestationClaims
}

/** The bundle's plain-text copy of the exchange must be what the attestation signs. */
function checkEnvelope(bundle: Bundle, claims: AttestationClaims): void {
  const said = `${bundle.request.method} ${normalizeUri(bundle.request.uri)} (${bundle.request.contentType ?? 'no body'} -> ${bundle.response.contentType})`
  const signed = `${claims.req.method} ${normalizeUri(claims.req.uri)} (${claims.req.ct ?? 'no body'} -> ${claims.res.ct})`
  if (said !== signed) throw new BundleRejectedError('envelope-mismatch', [said, signed])
}

function checkWanted(bundle: Bundle, claims: AttestationClaims, json: unknown, wanted: Wanted): void {
  const method = wanted.method ?? (wanted.request !== undefined ? 'POST' : 'GET')
  const what = describeRequest(method, wanted.uri, wanted.mediaType)
  const answered = describeRequest(claims.req.method, claims.req.uri, claims.res.ct)
  if (claims.req.method !== method || (wanted.mediaType !== undefined && claims.res.ct !== wanted.mediaType)) throw new BundleRejectedError('wrong-request', [answered, what])
  if (wanted.costType) {
    const requested = claims.req.ct === null ? undefined : parseJson(bundle.request.body)
    const mismatch = sameCostType(wanted.costType, json, requested)
    // An answer without any cost type is not a cost answer at all: another request.
    if (mismatch === null) throw new BundleRejectedError('wrong-request', [answered, what])
    if (mismatch !== undefined) throw new BundleRejectedError('wrong-cost-type', [mismatch, `${wanted.costType['cost-mode']} ${wanted.costType['cost-metric']}`])
  }
  if (normalizeUri(claims.req.uri) !== normalizeUri(wanted.uri)) throw new BundleRejectedError('wrong-request', [answered, what])
  if (method === 'POST' && !sameParameters(parseJson(bundle.request.body), wanted.request)) {
    throw new BundleRejectedError('wrong-request', [`${answered} with ${bundle.request.body.toString('utf8').slice(0, 200)}`, `${what} with ${JSON.stringify(wanted.request).slice(0, 200)}`])
  }
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'))
  } catch {
    return undefined
  }
}

function normalizeUri(uri: string): string {
  try {
    return new URL(uri).href
  } catch {
    return uri
  }
}

function isoTime(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms)
}
