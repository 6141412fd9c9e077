/**
 * @module tracker/guidance
 * ALTO guidance as the tracker uses it. A {@link GuidanceProvider} keeps one ALTO server's network
 * and cost maps fresh in the background through the client library (revalidated by vtag/ETag), so
 * announces read guidance synchronously and never cause an ALTO query. A {@link TrackerGuidance}
 * is one version of the maps, with each source PID's cost order computed once.
 */
import type { Logger } from 'pino'
import type { AddressType, CostType } from '../protocol/types.ts'
import type { AltoClient } from '../client/client.ts'
import type { LocalGuidance } from '../client/guidance.ts'
import type { PidClassifier } from './swarm.ts'

export class TrackerGuidance implements PidClassifier {
  readonly local: LocalGuidance
  readonly pidCount: number
  readonly #groups = new Map<number, number[][]>()

  constructor(local: LocalGuidance) {
    this.local = local
    this.pidCount = local.networkMap.pids.length
  }

  get version(): object {
    return this
  }

  pidOf(family: AddressType, bytes: Uint8Array): number {
    return this.local.networkMap.lookupIndex(family, bytes)
  }

  pidName(index: number): string | undefined {
    return this.local.networkMap.pids[index]
  }

  /**
   * PIDs grouped by equal cost from `pid`, cheapest first; PIDs without a cost and the no-PID
   * bucket (index `pidCount`) form the last group. Computed once per source PID and version.
   */
  groupsFrom(pid: number): readonly (readonly number[])[] {
    let groups = this.#groups.get(pid)
    if (groups) return groups
    const costed: { pid: number; cost: number }[] = []
    const last: number[] = []
    for (let d = 0; d < this.pidCount; d++) {
      const cost = this.local.costMap.cost(pid, d)
      if (Number.isNaN(cost)) last.push(d)
      else costed.push({ pid: d, cost })
    }
    costed.sort((a, b) => a.cost - b.cost)
    groups = []
    for (let i = 0; i < costed.length; i++) {
      if (i === 0 || costed[i]!.cost !== costed[i - 1]!.cost) groups.push([])
      groups[groups.length - 1]!.push(costed[i]!.pid)
    }
    last.push(this.pidCount)
    groups.push(last)
    this.#groups.set(pid, groups)
    return groups
  }
}

export interface GuidanceProviderOptions {
  client: AltoClient
  /** @default numerical routingcost */
  costType?: string | CostType
  /** How often the maps are revalidated. @default 30000 */
  refreshMs?: number
  /**
   * How long the last good maps keep guiding after the server stops answering; after that,
   * selection is random until the server is back. @default 600000
   */
  staleAfterMs?: number
  now?: () => number
  logger?: Logger
}

export class GuidanceProvider {
  readonly client: AltoClient
  readonly #options: GuidanceProviderOptions
  readonly #now: () => number
  #guidance: TrackerGuidance | undefined
  #lastSuccess = Number.NEGATIVE_INFINITY
  #lastError: string | undefined
  #timer: NodeJS.Timeout | undefined
  #refreshing: Promise<void> | undefined

  constructor(options: GuidanceProviderOptions) {
    this.client = options.client
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  /** The guidance to use now, or undefined (never fetched, or stale past `staleAfterMs`). */
  current(): TrackerGuidance | undefined {
    if (!this.#guidance) return undefined
    return this.#now() - this.#lastSuccess <= (this.#options.staleAfterMs ?? 600_000) ? this.#guidance : undefined
  }

  get status(): { guided: boolean; vtag: string | undefined; lastError: string | undefined } {
    return { guided: this.current() !== undefined, vtag: this.#guidance?.local.vtag, lastError: this.#lastError }
  }

  /** Revalidate the maps once (concurrent calls share it). Never throws. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = undefined))
    return this.#refreshing
  }

  /** Refresh now and then every `refreshMs` (timer unref'd). */
  start(): Promise<void> {
    if (!this.#timer) {
      this.#timer = setInterval(() => void this.refresh(), this.#options.refreshMs ?? 30_000)
      this.#timer.unref()
    }
    return this.refresh()
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
  }

  async #refresh(): Promise<void> {
    try {
      const local = await this.client.guidance(this.#options.costType ?? { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' })
      if (this.#guidance?.local !== local) {
        this.#guidance = new TrackerGuidance(local)
        this.#options.logger?.info({ alto: this.client.irdUri, vtag: local.vtag, pids: local.networkMap.pids.length }, 'ALTO guidance loaded')
      }
      this.#lastSuccess = this.#now()
      if (this.#lastError !== undefined) this.#options.logger?.info({ alto: this.client.irdUri }, 'ALTO guidance is back')
      this.#lastError = undefined
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      if (this.#lastError !== message) this.#options.logger?.warn({ alto: this.client.irdUri, error: message }, 'ALTO guidance refresh failed')
      this.#lastError = message
    }
  }
}
