/**
 * @module tracker/guidance-source
 * Where the tracker's ALTO guidance comes from: one configured ALTO server for every peer
 * (`--alto URL`), or per peer the server responsible for its address found by RFC 8686 discovery
 * (`--discover`). Answers are synchronous: a source never makes an announce wait for the network.
 */
import type { Logger } from 'pino'
import type { AddressType } from '../protocol/types.ts'
import type { AltoServerLocator } from '../client/discover.ts'
import { formatAddress } from '../netmap/address.ts'
import { GuidanceProvider, type GuidanceProviderOptions } from './guidance.ts'

export interface GuidanceSource {
  /** The provider for a peer at this address, or undefined (no ALTO for it: random selection). */
  providerFor(family: AddressType, bytes: Uint8Array): GuidanceProvider | undefined
  start(): Promise<void>
  stop(): void
  status(): unknown
}

/** One ALTO server for everyone. */
export class SingleGuidanceSource implements GuidanceSource {
  readonly provider: GuidanceProvider
  constructor(provider: GuidanceProvider) {
    this.provider = provider
  }
  providerFor(): GuidanceProvider {
    return this.provider
  }
  start(): Promise<void> {
    return this.provider.start()
  }
  stop(): void {
    this.provider.stop()
  }
  status(): unknown {
    return { alto: this.provider.client.irdUri, ...this.provider.status }
  }
}

export interface DiscoveredSourceOptions {
  /** Finds the ALTO server for a prefix (RFC 8686); shares clients and DNS answers. */
  locator: AltoServerLocator
  /** Options of the providers created for discovered servers (client excepted). */
  provider?: Omit<GuidanceProviderOptions, 'client'>
  /** Peers are located per prefix of this length (one DNS walk per /24, not per peer). @default 24 */
  ipv4PrefixLength?: number
  /** @default 48 */
  ipv6PrefixLength?: number
  /** How long "no ALTO server here" is remembered. @default 600000 */
  negativeTtlMs?: number
  /** At most this many prefixes remembered (oldest forgotten first). @default 100000 */
  maxPrefixes?: number
  now?: () => number
  logger?: Logger
}

interface Located {
  provider: GuidanceProvider | undefined
  expires: number
}

/**
 * Per peer, the ALTO server responsible for its network (seed 002: third-party discovery by the
 * tracker). Lookups run in the background: until one answers, that network's peers get random
 * selection, so an announce never waits for DNS. Networks without a server stay unguided.
 */
export class DiscoveredGuidanceSource implements GuidanceSource {
  readonly #options: DiscoveredSourceOptions
  readonly #now: () => number
  readonly #located = new Map<string, Located>()
  readonly #pending = new Set<string>()
  readonly #providers = new Map<string, GuidanceProvider>()

  constructor(options: DiscoveredSourceOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  providerFor(family: AddressType, bytes: Uint8Array): GuidanceProvider | undefined {
    const prefix = prefixOf(family, bytes, family === 'ipv4' ? (this.#options.ipv4PrefixLength ?? 24) : (this.#options.ipv6PrefixLength ?? 48))
    const known = this.#located.get(prefix)
    if (known && known.expires > this.#now()) return known.provider
    if (!this.#pending.has(prefix)) void this.#locate(prefix)
    return known?.provider
  }

  /** Wait until every lookup under way has finished (for tests and orderly starts). */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 10))
  }

  async start(): Promise<void> {}

  stop(): void {
    for (const provider of this.#providers.values()) provider.stop()
    void this.#options.locator.close()
  }

  status(): unknown {
    return {
      discovered: [...this.#providers.entries()].map(([uri, p]) => ({ alto: uri, ...p.status })),
      prefixes: this.#located.size,
      pending: this.#pending.size,
    }
  }

  async #locate(prefix: string): Promise<void> {
    this.#pending.add(prefix)
    try {
      const { client, result } = await this.#options.locator.locate(prefix)
      let provider: GuidanceProvider | undefined
      if (client) {
        provider = this.#providers.get(client.irdUri)
        if (!provider) {
          provider = new GuidanceProvider({ ...this.#options.provider, client })
          this.#providers.set(client.irdUri, provider)
          await provider.start()
          this.#options.logger?.info({ prefix, alto: client.irdUri, via: result.matchedName }, 'ALTO server discovered')
        }
      }
      // A temporary DNS failure is not remembered for long: ask again in a minute.
      const ttl = !provider && result.temporary ? 60_000 : (this.#options.negativeTtlMs ?? 600_000)
      if (this.#located.size >= (this.#options.maxPrefixes ?? 100_000)) this.#located.delete(this.#located.keys().next().value!)
      this.#located.set(prefix, { provider, expires: provider ? Number.POSITIVE_INFINITY : this.#now() + ttl })
    } catch (error) {
      this.#options.logger?.warn({ prefix, error: error instanceof Error ? error.message : String(error) }, 'ALTO discovery failed')
      this.#located.set(prefix, { provider: undefined, expires: this.#now() + 60_000 })
    } finally {
      this.#pending.delete(prefix)
    }
  }
}

function prefixOf(family: AddressType, bytes: Uint8Array, length: number): string {
  const masked = new Uint8Array(bytes)
  for (let i = 0; i < masked.length; i++) {
    const keep = length - 8 * i
    if (keep <= 0) masked[i] = 0
    else if (keep < 8) masked[i] = masked[i]! & (0xff << (8 - keep))
  }
  return `${formatAddress(family, masked)}/${length}`
}
