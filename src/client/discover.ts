/**
 * @module client/discover
 * Clients found by DNS: for the application's own network (RFC 7286, a domain) and for any
 * address (RFC 8686, third-party discovery, as a tracker needs for its peers). The locator keeps
 * one client per IRD URI and remembers each answer under the reverse name the lookup started
 * from, so a tracker asking about the peers of one /24 resolves once.
 */
import { createAltoError, isAltoError } from '../protocol/errors.ts'
import {
  CachingNaptrResolver,
  discoverDomain,
  discoveryFailedError,
  UdpNaptrResolver,
  xdomdisc,
  xdomdiscNames,
  type DiscoveredUri,
  type NaptrResolver,
  type UnaptrResult,
} from '../discovery/index.ts'
import { AltoClient, type AltoClientOptions } from './client.ts'

export interface DiscoveryOptions {
  /** The resolver to ask; default: a caching UDP resolver on `dns` (or the system's servers). */
  resolver?: NaptrResolver
  /** DNS servers as `host:port`, e.g. a local validating resolver (docs/discovery.md). */
  dns?: readonly string[]
  /** Accept `ALTO:http` URIs too (default: https only, as RFC 7286 expects). */
  allowHttp?: boolean
  /** Options for the clients created. */
  client?: AltoClientOptions
}

function resolverOf(options: DiscoveryOptions): NaptrResolver {
  return options.resolver ?? new CachingNaptrResolver(new UdpNaptrResolver(options.dns ? { servers: options.dns } : {}))
}

/** Try the discovered URIs best-first; the first whose IRD loads wins. */
async function firstWorking(uris: readonly DiscoveredUri[], clientOptions: AltoClientOptions, subject: string): Promise<AltoClient> {
  const failures: string[] = []
  for (const { uri } of uris) {
    try {
      return await AltoClient.create(uri, clientOptions)
    } catch (error) {
      if (!isAltoError(error)) throw error
      failures.push(`${uri}: ${error.message}`)
    }
  }
  throw createAltoError('ALTO_ERR_DISCOVERY_FAILED', [subject, `no discovered server answered (${failures.join('; ')})`])
}

/** RFC 7286: a client for the ALTO server of a domain (configured, or from DHCP option 213/15). */
export async function discoverClient(domain: string, options: DiscoveryOptions = {}): Promise<AltoClient> {
  const result = await discoverDomain(resolverOf(options), domain, { allowHttp: options.allowHttp ?? false })
  if (result.uris.length === 0) throw discoveryFailedError(domain, result)
  return firstWorking(result.uris, options.client ?? {}, domain)
}

export interface Located {
  /** The client for the responsible server, or undefined when none was found. */
  client: AltoClient | undefined
  result: UnaptrResult & { matchedName?: string }
}

/** RFC 8686: finds the ALTO server responsible for an address or prefix, with caching. */
export class AltoServerLocator {
  readonly #resolver: NaptrResolver
  readonly #options: DiscoveryOptions
  readonly #clients = new Map<string, AltoClient>()
  readonly #answers = new Map<string, Promise<Located>>()

  constructor(options: DiscoveryOptions = {}) {
    this.#options = options
    this.#resolver = resolverOf(options)
  }

  /**
   * The client for `addressOrPrefix` (e.g. `198.51.100.7` or `198.51.100.0/24`). Answers are
   * remembered per first reverse name; a temporary DNS failure is not remembered, so the next call
   * tries again. Throws for unsupported prefix lengths and malformed input.
   */
  locate(addressOrPrefix: string): Promise<Located> {
    let key: string
    try {
      key = xdomdiscNames(addressOrPrefix)[0]!
    } catch (error) {
      return Promise.reject(error)
    }
    let answer = this.#answers.get(key)
    if (!answer) {
      answer = this.#locate(addressOrPrefix)
      this.#answers.set(key, answer)
      answer.then(
        (located) => located.result.temporary && !located.client && this.#answers.delete(key),
        () => this.#answers.delete(key),
      )
    }
    return answer
  }

  async #locate(addressOrPrefix: string): Promise<Located> {
    const result = await xdomdisc(this.#resolver, addressOrPrefix, { allowHttp: this.#options.allowHttp ?? false })
    for (const { uri } of result.uris) {
      const existing = this.#clients.get(uri)
      if (existing) return { client: existing, result }
      try {
        const client = await AltoClient.create(uri, this.#options.client ?? {})
        this.#clients.set(uri, client)
        return { client, result }
      } catch (error) {
        if (!isAltoError(error)) throw error
      }
    }
    return { client: undefined, result }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#clients.values()].map((c) => c.close()))
    this.#clients.clear()
  }
}
