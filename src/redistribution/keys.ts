/**
 * @module redistribution/keys
 * Where verification keys come from: never from a bundle, only from the authoritative server
 * (its JWKS, found through its IRD) or from a JWKS the operator of the receiver configured.
 */
import { MediaType } from '../protocol/media-types.ts'
import { httpGet, maxAgeMs, type HttpOptions } from './http.ts'
import { attestationKeysUri, JWK_SET_MEDIA_TYPE, parseIrd } from './ird.ts'

/** A public JWK as a JWKS lists it. */
export interface Jwk {
  kty: string
  crv?: string
  x?: string
  kid?: string
  alg?: string
  use?: string
  [member: string]: unknown
}

/** The receiver's trust anchor: which issuer to accept, and its keys by key id. */
export interface KeySource {
  /** The IRD URI attestations must be issued by; undefined accepts any issuer (a bare JWKS file). */
  readonly issuer: string | undefined
  /** A human description for messages, e.g. the JWKS URI. */
  readonly description: string
  /** The key with this id, or undefined when it is not published. Rejects when keys cannot be had. */
  key(kid: string): Promise<Jwk | undefined>
}

/** Keys from a JWKS document the receiver holds (e.g. `alto verify --jwks FILE`). */
export class JwksKeys implements KeySource {
  readonly issuer: string | undefined
  readonly description: string
  readonly #keys: readonly Jwk[]

  constructor(jwks: unknown, options: { issuer?: string; description?: string } = {}) {
    this.#keys = keysOf(jwks)
    this.issuer = options.issuer
    this.description = options.description ?? 'the configured JWKS'
  }

  key(kid: string): Promise<Jwk | undefined> {
    return Promise.resolve(this.#keys.find((k) => k.kid === kid))
  }
}

export interface ServerKeysOptions extends HttpOptions {
  /** The authoritative server's IRD URI, from configuration or discovery (RFC 7286/8686). */
  issuer: string
  /** The JWKS URI, when configured; otherwise it is read from the server's IRD. */
  jwksUri?: string
  /** How long a fetched JWKS is used when the server sends no max-age. @default 300000 */
  cacheMs?: number
  /** An unknown key id refetches the JWKS, at most this often. @default 10000 */
  minRefetchMs?: number
  /** Clock in milliseconds. @default Date.now */
  now?: () => number
}

/**
 * The keys of the authoritative server: its JWKS, fetched from it and cached for the JWKS's
 * max-age; an unknown key id refetches (rate-limited), so a rotated-in key is picked up.
 */
export class ServerKeys implements KeySource {
  readonly issuer: string
  readonly #options: ServerKeysOptions
  readonly #now: () => number
  #jwksUri: string | undefined
  #hint: string | undefined
  #keys: readonly Jwk[] | undefined
  #freshUntil = 0
  #fetchedAt = -Infinity
  #fetchedFrom: string | undefined
  #fetching: Promise<readonly Jwk[]> | undefined
  /** JWKS fetches made (for load accounting). */
  fetches = 0

  constructor(options: ServerKeysOptions) {
    this.issuer = new URL(options.issuer).href
    this.#options = options
    this.#now = options.now ?? Date.now
    this.#jwksUri = options.jwksUri === undefined ? undefined : new URL(options.jwksUri).href
  }

  get description(): string {
    return this.#jwksUri ?? this.#hint ?? `the JWKS listed in ${this.issuer}`
  }

  /**
   * A JWKS URI read from an IRD the server itself sent (`authoritative`), or from an IRD bundle
   * not yet verified. An unverified hint is taken only on the issuer's own origin, only while no
   * URI is known, and only until {@link confirm} or {@link forgetHint}: a sender can at most point
   * to another path of the server it claims to come from.
   */
  noteIrd(irdBody: Uint8Array, authoritative: boolean): void {
    const ird = parseIrd(irdBody)
    const uri = ird && attestationKeysUri(ird, this.issuer)
    if (uri === undefined) return
    if (authoritative) this.confirm(uri)
    else if (this.#jwksUri === undefined && new URL(uri).origin === new URL(this.issuer).origin) this.#hint = uri
  }

  /** The JWKS URI as listed by a verified (or authoritative) IRD. */
  confirm(uri: string): void {
    if (this.#options.jwksUri !== undefined) return // configuration wins
    const href = new URL(uri).href
    this.#jwksUri = href
    this.#hint = undefined
    // Keys fetched from elsewhere (another hint) must be fetched again from the confirmed place.
    if (href !== this.#fetchedFrom) this.#freshUntil = 0
  }

  forgetHint(): void {
    if (this.#hint !== undefined && this.#fetchedFrom === this.#hint && this.#jwksUri !== this.#hint) this.#freshUntil = 0
    this.#hint = undefined
  }

  async key(kid: string): Promise<Jwk | undefined> {
    const now = this.#now()
    let keys = this.#keys !== undefined && now < this.#freshUntil ? this.#keys : await this.#refresh()
    let found = keys.find((k) => k.kid === kid)
    if (!found && this.#now() - this.#fetchedAt >= (this.#options.minRefetchMs ?? 10_000)) {
      keys = await this.#refresh()
      found = keys.find((k) => k.kid === kid)
    }
    return found
  }

  #refresh(): Promise<readonly Jwk[]> {
    this.#fetching ??= this.#fetch().finally(() => (this.#fetching = undefined))
    return this.#fetching
  }

  async #fetch(): Promise<readonly Jwk[]> {
    const uri = this.#jwksUri ?? this.#hint ?? (await this.#locate())
    const answer = await httpGet(uri, `${JWK_SET_MEDIA_TYPE},application/json`, this.#options)
    this.fetches++
    if (answer.status !== 200) throw new Error(`${uri} answered HTTP ${answer.status}`)
    let json: unknown
    try {
      json = JSON.parse(answer.body.toString('utf8'))
    } catch {
      throw new Error(`${uri} is not JSON`)
    }
    const keys = keysOf(json)
    this.#keys = keys
    this.#fetchedFrom = uri
    this.#fetchedAt = this.#now()
    this.#freshUntil = this.#fetchedAt + (maxAgeMs(answer.headers) ?? this.#options.cacheMs ?? 300_000)
    return keys
  }

  /** Read the server's IRD, from the server, for the JWKS it lists. */
  async #locate(): Promise<string> {
    const answer = await httpGet(this.issuer, MediaType.directory, this.#options)
    if (answer.status !== 200) throw new Error(`${this.issuer} answered HTTP ${answer.status}`)
    this.noteIrd(answer.body, true)
    if (this.#jwksUri === undefined) throw new Error(`the IRD at ${this.issuer} lists no ${JWK_SET_MEDIA_TYPE} resource (is signing enabled on the server?)`)
    return this.#jwksUri
  }
}

/** The signing keys of a JWKS: Ed25519 public keys with a key id (others are ignored). */
function keysOf(jwks: unknown): readonly Jwk[] {
  const keys = (jwks as { keys?: unknown } | undefined)?.keys
  if (!Array.isArray(keys)) throw new Error('not a JWKS (no "keys" list)')
  return keys.filter((k): k is Jwk => {
    const j = k as Jwk
    return typeof j === 'object' && j !== null && j.kty === 'OKP' && j.crv === 'Ed25519' && typeof j.x === 'string' && typeof j.kid === 'string' && j.d === undefined
  })
}
