/**
 * @module server/security
 * Who may ask: access control by client source prefix (seed 000 §3.3: only the ISP's own
 * customers) and HTTP Basic authentication (RFC 7617) against salted scrypt hashes.
 */
import { createHash } from 'node:crypto'
import { createAltoError } from '../protocol/errors.ts'
import { parseAddress, parseAnyPrefix, unmapIPv4 } from '../netmap/address.ts'
import { PrefixTrie } from '../netmap/prefix-trie.ts'
import { HttpError } from './error-handler.ts'
import { hashPassword, verifyPassword } from './passwords.ts'

/** The remote address of a socket as a plain IPv4 or IPv6 address (IPv4-mapped IPv6 unwrapped). */
export function clientAddress(remote: string | undefined): { family: 'ipv4' | 'ipv6'; text: string } | undefined {
  if (!remote) return undefined
  const text = unmapIPv4(remote)
  return text.includes(':') ? { family: 'ipv6', text } : { family: 'ipv4', text }
}

export class AccessList {
  readonly #tries = { ipv4: new PrefixTrie(32), ipv6: new PrefixTrie(128) }
  readonly size: number

  /** @throws Error naming the first invalid prefix. */
  constructor(prefixes: readonly string[]) {
    for (const text of prefixes) {
      const prefix = parseAnyPrefix(text)
      if ('error' in prefix) throw new Error(`access.allow: ${prefix.error}`)
      this.#tries[prefix.family].insert(prefix.bytes, prefix.length, 1)
    }
    this.size = prefixes.length
  }

  allows(remote: string | undefined): boolean {
    const client = clientAddress(remote)
    if (!client) return false
    const parsed = parseAddress(client.family, client.text)
    return parsed !== undefined && this.#tries[client.family].lookup(parsed.bytes) >= 0
  }

  /** 403 unless the remote address is in the list. */
  check(remote: string | undefined): void {
    if (!this.allows(remote)) throw new HttpError(createAltoError('ALTO_ERR_FORBIDDEN', [remote ?? 'unknown']))
  }
}

export interface BasicAuthOptions {
  realm?: string
  users: readonly { name: string; passwordHash: string }[]
  /** How long a verified Authorization header is trusted without running scrypt again. @default 60000 */
  cacheMs?: number
  now?: () => number
}

export class BasicAuth {
  readonly #users: Map<string, string>
  readonly #challenge: string
  readonly #cacheMs: number
  readonly #now: () => number
  // sha256(Authorization header) -> expiry. scrypt costs tens of ms by design; re-running it on
  // every request of a logged-in client would turn the password hash into a denial of service.
  readonly #verified = new Map<string, number>()
  #dummyHash: Promise<string> | undefined

  constructor(options: BasicAuthOptions) {
    this.#users = new Map(options.users.map((u) => [u.name, u.passwordHash]))
    this.#challenge = `Basic realm="${(options.realm ?? 'ALTO').replace(/["\\]/g, '')}", charset="UTF-8"`
    this.#cacheMs = options.cacheMs ?? 60_000
    this.#now = options.now ?? Date.now
  }

  /** Resolves to the user name, or rejects with a 401 carrying the challenge. */
  async check(authorization: string | undefined): Promise<string> {
    const credentials = parseBasic(authorization)
    if (!credentials) throw this.#unauthorized()
    const key = createHash('sha256').update(authorization!).digest('base64')
    const expiry = this.#verified.get(key)
    if (expiry !== undefined && expiry > this.#now()) return credentials.user
    const stored = this.#users.get(credentials.user)
    // Unknown users cost the same scrypt run as known ones, so timing does not reveal names.
    const ok = await verifyPassword(credentials.password, stored ?? (await this.#dummy()))
    if (!ok || stored === undefined) throw this.#unauthorized()
    if (this.#verified.size >= 10_000) this.#verified.clear()
    this.#verified.set(key, this.#now() + this.#cacheMs)
    return credentials.user
  }

  #dummy(): Promise<string> {
    this.#dummyHash ??= hashPassword('not a password')
    return this.#dummyHash
  }

  #unauthorized(): HttpError {
    return new HttpError(createAltoError('ALTO_ERR_UNAUTHORIZED'), { 'www-authenticate': this.#challenge })
  }
}

function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const match = header ? /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header.trim()) : null
  if (!match) return undefined
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return undefined
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}
