/**
 * @module server/signing
 * Attestations for redistribution (seed 001, docs/redistribution.md): the server's Ed25519 key,
 * the JWKS that publishes it (and the keys it replaced, for a rotation overlap), and compact JWS
 * attestations that bind the exact request and response bytes of an answer to the issuing
 * server. Full maps are signed once per version and URI, re-signed when half the lifetime has
 * passed; POST answers only when the client asks (`Prefer: alto-attestation`, RFC 7240).
 *
 * Signatures cover SHA-256 digests of the exact bytes (RFC 9530 `sha-256=:…:` syntax), never
 * re-serialized JSON. The claim layout is mirrored by `redistribution/attestation.ts`.
 */
import { readFileSync } from 'node:fs'
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { promisify } from 'node:util'
import { gunzip } from 'node:zlib'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { SignJWT } from 'jose'
import { ATTESTATION_HEADER, ATTESTATION_PREFERENCE, ATTESTATION_TYPE, JWK_SET_MEDIA_TYPE } from '../protocol/attestation.ts'
import { AltoConfigError } from '../protocol/errors.ts'
import type { VersionTag } from '../protocol/types.ts'

const gunzipAsync = promisify(gunzip)

export { ATTESTATION_HEADER, ATTESTATION_PREFERENCE, ATTESTATION_TYPE, JWK_SET_MEDIA_TYPE }
/** IRD resource id and path of the JWKS. */
export const ATTESTATION_KEYS_ID = 'attestation-keys'
export const ATTESTATION_KEYS_PATH = '/attestation-keys'

/** The public half of an Ed25519 key as published (RFC 8037 §2). */
export interface PublicJwk {
  kty: 'OKP'
  crv: 'Ed25519'
  x: string
  kid: string
  alg: 'EdDSA'
  use: 'sig'
}

/** A private key file as `alto keygen` writes it. */
export interface PrivateJwk extends PublicJwk {
  d: string
}

export interface SigningOptions {
  /** The current signing key: the text of a PEM (PKCS #8) or JWK file, as `alto keygen` writes. */
  key: string
  /**
   * Keys that signed before a rotation, still published so that attestations they made keep
   * verifying until they expire: PEM (public or private) or JWK texts. Only public parts are
   * published. @default []
   */
  previousKeys?: readonly string[]
  /**
   * Seconds an attestation is valid (`exp - iat`). Match the maps' cache lifetime (the server's
   * `max-age`). @default 60
   */
  lifetimeS?: number
  /** Clock in milliseconds, for tests. @default Date.now */
  now?: () => number
}

/** What one attestation binds (docs/redistribution.md, "Attestation claims"). */
export interface AttestationInput {
  /** The IRD URI of the issuing server. */
  issuer: string
  method: string
  /** The absolute request URI. */
  uri: string
  /** Request media type, or null without a body (GET). */
  requestContentType: string | null
  /** The exact request body bytes (empty for GET). */
  requestBody?: Uint8Array
  responseContentType: string
  /** The exact (unencoded) response body bytes. */
  responseBody: Uint8Array
  /** The vtag of a network map; defaults to the body's `meta.vtag` in {@link AttestationSigner.attestCached}. */
  vtag?: VersionTag
  dependentVtags?: readonly VersionTag[]
  /** Seconds since the epoch. @default now */
  iat?: number
  /** @default iat + lifetimeS */
  exp?: number
}

export const SIGNING_DEFAULTS = { lifetimeS: 60, previousKeys: [] as readonly string[] } as const

/** `sha-256=:<base64>:` (RFC 9530 §2) of the exact bytes. */
export function contentDigest(bytes: Uint8Array): string {
  return `sha-256=:${createHash('sha256').update(bytes).digest('base64')}:`
}

/** RFC 7638 thumbprint of an Ed25519 JWK (members crv, kty, x in that order). */
export function jwkThumbprint(jwk: { crv: string; kty: string; x: string }): string {
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}"}`
  return createHash('sha256').update(canonical).digest('base64url')
}

/** A new Ed25519 key pair as a private JWK (with kid, alg, use), for `alto keygen`. */
export function generateSigningKey(): PrivateJwk {
  const { privateKey } = generateKeyPairSync('ed25519')
  const jwk = privateKey.export({ format: 'jwk' }) as { x: string; d: string }
  return { ...publicJwk(privateKey), d: jwk.d }
}

/** The same key as PKCS #8 PEM (`alto keygen --pem`). */
export function privateJwkToPem(jwk: PrivateJwk): string {
  return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d }, format: 'jwk' }).export({ format: 'pem', type: 'pkcs8' }) as string
}

/**
 * Read a key file's text: a JWK (`{"kty":"OKP","crv":"Ed25519",…}`) or a PEM (PKCS #8 private,
 * or SPKI public when `privateRequired` is false). Throws an {@link AltoConfigError} naming `what`.
 */
export function parseSigningKey(text: string, what: string, privateRequired = true): KeyObject {
  const trimmed = text.trim()
  let key: KeyObject
  try {
    if (trimmed.startsWith('{')) {
      const jwk = JSON.parse(trimmed) as Record<string, unknown>
      key = typeof jwk.d === 'string' ? createPrivateKey({ key: jwk as never, format: 'jwk' }) : createPublicKey({ key: jwk as never, format: 'jwk' })
    } else if (trimmed.includes('-----BEGIN ')) {
      key = /PRIVATE KEY-----/.test(trimmed) ? createPrivateKey(trimmed) : createPublicKey(trimmed)
    } else {
      throw new Error('neither a JWK (JSON) nor a PEM file')
    }
  } catch (error) {
    throw new AltoConfigError(`not a usable key (${(error as Error).message})`, { field: what })
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new AltoConfigError(`an Ed25519 key is needed, this is ${key.asymmetricKeyType ?? 'a secret key'}`, { field: what })
  if (privateRequired && key.type !== 'private') throw new AltoConfigError('the signing key must be a private key', { field: what })
  return key
}

function publicJwk(key: KeyObject): PublicJwk {
  const exported = (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'jwk' }) as { x: string }
  const base = { kty: 'OKP' as const, crv: 'Ed25519' as const, x: exported.x }
  return { ...base, kid: jwkThumbprint(base), alg: 'EdDSA', use: 'sig' }
}

interface CachedAttestation {
  jws: Promise<string>
  /** Milliseconds; past this a new attestation is made (half the lifetime). */
  refreshAt: number
}

/** One per server: signs attestations with the current key and publishes the JWKS. */
export class AttestationSigner {
  /** Key id (RFC 7638 thumbprint) of the current key. */
  readonly kid: string
  readonly lifetimeS: number
  /** The JWKS document: current key first, then the previous ones. */
  readonly jwks: { keys: PublicJwk[] }
  /** The JWKS serialized once, to be served as bytes. */
  readonly jwksBytes: Buffer
  readonly #key: KeyObject
  readonly #now: () => number
  // Keyed by the response body's bytes (a prepared body is one Buffer per version), so entries
  // of replaced versions go with their snapshot.
  readonly #cache = new WeakMap<Uint8Array, { meta: Pick<AttestationInput, 'vtag' | 'dependentVtags'>; byRequest: Map<string, CachedAttestation> }>()
  readonly #identity = new WeakMap<Uint8Array, Promise<Buffer>>()

  constructor(options: SigningOptions) {
    const lifetimeS = options.lifetimeS ?? SIGNING_DEFAULTS.lifetimeS
    if (!Number.isInteger(lifetimeS) || lifetimeS < 1) throw new AltoConfigError(`must be a whole number of seconds >= 1, not ${lifetimeS}`, { field: 'signing.lifetime-s' })
    this.#key = parseSigningKey(options.key, 'signing.key')
    this.#now = options.now ?? Date.now
    this.lifetimeS = lifetimeS
    const current = publicJwk(this.#key)
    this.kid = current.kid
    const keys = [current]
    for (const [i, text] of (options.previousKeys ?? SIGNING_DEFAULTS.previousKeys).entries()) {
      const jwk = publicJwk(parseSigningKey(text, `signing.previous-keys[${i}]`, false))
      if (!keys.some((k) => k.kid === jwk.kid)) keys.push(jwk)
    }
    this.jwks = { keys }
    this.jwksBytes = Buffer.from(JSON.stringify(this.jwks))
  }

  /** Sign one attestation now (filtered answers, on request). */
  attest(input: AttestationInput): Promise<string> {
    const iat = input.iat ?? Math.floor(this.#now() / 1000)
    const exp = input.exp ?? iat + this.lifetimeS
    const claims: Record<string, unknown> = {
      req: {
        method: input.method.toUpperCase(),
        uri: new URL(input.uri).href,
        ct: input.requestContentType,
        cd: contentDigest(input.requestBody ?? new Uint8Array()),
      },
      res: { status: 200, ct: input.responseContentType, cd: contentDigest(input.responseBody) },
    }
    if (input.vtag) claims.vtag = input.vtag
    if (input.dependentVtags && input.dependentVtags.length > 0) claims['dependent-vtags'] = input.dependentVtags
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid: this.kid, typ: ATTESTATION_TYPE })
      .setIssuer(new URL(input.issuer).href)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(this.#key)
  }

  /**
   * The attestation of a GET answer whose body is served from a long-lived buffer (a full map,
   * the IRD): signed once per body, URI and issuer, and again once half the lifetime has passed.
   * The vtag claims are read from the body's `meta` once.
   */
  attestCached(input: Omit<AttestationInput, 'iat' | 'exp' | 'vtag' | 'dependentVtags'>): Promise<string> {
    let perBody = this.#cache.get(input.responseBody)
    if (!perBody) {
      perBody = { meta: versionClaims(input.responseBody), byRequest: new Map() }
      this.#cache.set(input.responseBody, perBody)
    }
    const key = `${input.issuer}\u0000${input.method}\u0000${input.uri}`
    const now = this.#now()
    const cached = perBody.byRequest.get(key)
    if (cached && now < cached.refreshAt) return cached.jws
    // Bodies are reachable under several Host-derived bases: bound the entries per body.
    if (perBody.byRequest.size >= 32) perBody.byRequest.clear()
    const iat = Math.floor(now / 1000)
    const jws = this.attest({ ...input, ...perBody.meta, iat })
    const entry = { jws, refreshAt: (iat + this.lifetimeS / 2) * 1000 }
    perBody.byRequest.set(key, entry)
    jws.catch(() => perBody.byRequest.get(key) === entry && perBody.byRequest.delete(key))
    return jws
  }

  /**
   * A fastify `onSend` hook that adds the {@link ATTESTATION_HEADER} to 200 answers with an ALTO
   * media type: every GET (cached per body), and POST answers whose request said
   * `Prefer: alto-attestation`. `baseUrl` gives the scheme and authority the IRD URIs use, e.g.
   * `http://127.0.0.1:8181` (the IRD, and so the issuer, is `baseUrl + '/'`).
   */
  onSendHook(baseUrl: (request: FastifyRequest) => string): (request: FastifyRequest, reply: FastifyReply, payload: unknown) => Promise<unknown> {
    return async (request, reply, payload) => {
      if (reply.statusCode !== 200 || payload === null || payload === undefined) return payload
      const contentType = mediaTypeOf(reply.getHeader('content-type'))
      if (!contentType.startsWith('application/alto-') || contentType === 'application/alto-error+json') return payload
      const isGet = request.method === 'GET' || request.method === 'HEAD'
      if (!isGet && !(request.method === 'POST' && prefersAttestation(request.headers.prefer))) return payload
      const sent = typeof payload === 'string' ? Buffer.from(payload) : Buffer.isBuffer(payload) ? payload : undefined
      if (!sent) return payload // a stream: ALTOkit never answers ALTO resources with one
      const body = reply.getHeader('content-encoding') === 'gzip' ? await this.#decoded(sent) : sent
      const base = baseUrl(request)
      const common = { issuer: `${base}/`, method: isGet ? 'GET' : 'POST', uri: `${base}${request.url}`, responseContentType: contentType, responseBody: body }
      if (isGet) {
        reply.header(ATTESTATION_HEADER, await this.attestCached({ ...common, requestContentType: null }))
      } else {
        const requestBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
        reply.header(ATTESTATION_HEADER, await this.attest({ ...common, ...versionClaims(body), requestContentType: mediaTypeOf(request.headers['content-type']), requestBody }))
        reply.header('preference-applied', ATTESTATION_PREFERENCE)
      }
      return payload
    }
  }

  /** The identity bytes of a gzipped body, decompressed once per buffer. */
  #decoded(gzipped: Buffer): Promise<Buffer> {
    let decoded = this.#identity.get(gzipped)
    if (!decoded) {
      decoded = gunzipAsync(gzipped)
      this.#identity.set(gzipped, decoded)
    }
    return decoded
  }
}

/** The IRD entry that lists the JWKS (RFC 7285 §9.2.2 shape), for `base` as in the IRD. */
export function attestationKeysIrdEntry(base: string): { uri: string; 'media-type': string } {
  return { uri: `${base}${ATTESTATION_KEYS_PATH}`, 'media-type': JWK_SET_MEDIA_TYPE }
}

function mediaTypeOf(header: unknown): string {
  const text = Array.isArray(header) ? String(header[0] ?? '') : String(header ?? '')
  return text.split(';', 1)[0]!.trim().toLowerCase()
}

function prefersAttestation(header: string | string[] | undefined): boolean {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '')
  return text.split(',').some((p) => p.split(';', 1)[0]!.trim().toLowerCase() === ATTESTATION_PREFERENCE)
}

/** `meta.vtag` and `meta['dependent-vtags']` of a JSON body, when it has them. */
function versionClaims(body: Uint8Array): Pick<AttestationInput, 'vtag' | 'dependentVtags'> {
  let meta: { vtag?: unknown; 'dependent-vtags'?: unknown } | undefined
  try {
    meta = (JSON.parse(Buffer.from(body).toString('utf8')) as { meta?: typeof meta }).meta
  } catch {
    return {}
  }
  const out: Pick<AttestationInput, 'vtag' | 'dependentVtags'> = {}
  if (isVtag(meta?.vtag)) out.vtag = meta.vtag
  const dependent = meta?.['dependent-vtags']
  if (Array.isArray(dependent) && dependent.every(isVtag)) out.dependentVtags = dependent
  return out
}

function isVtag(value: unknown): value is VersionTag {
  const v = value as VersionTag | undefined
  return typeof v === 'object' && v !== null && typeof v['resource-id'] === 'string' && typeof v.tag === 'string'
}

/**
 * Signing options from key files (paths), for callers that hold paths rather than file texts.
 * Errors name the file.
 */
export function readSigningOptions(files: { key: string; previousKeys?: readonly string[]; lifetimeS?: number }): SigningOptions {
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8')
    } catch (error) {
      throw new AltoConfigError(`cannot read key file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { file: path })
    }
  }
  const options: SigningOptions = { key: read(files.key), previousKeys: (files.previousKeys ?? []).map(read) }
  if (files.lifetimeS !== undefined) options.lifetimeS = files.lifetimeS
  return options
}
