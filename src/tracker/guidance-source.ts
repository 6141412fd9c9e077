/**
 * @module tracker/guidance-source
 * Where the tracker's ALTO guidance comes from: one configured ALTO server for every peer
 * (`--alto URL`), or per peer the server responsible for its address found by RFC 8686 discovery
 * (`--discover`). Answers are synchronous: a source never makes an announce wait for the network.
 */
import type { AddressType } from '../protocol/types.ts'
import type { GuidanceProvider } from './guidance.ts'

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
