/**
 * @module server/metrics
 * Prometheus metrics on a registry of the server's own (not prom-client's global one, so several
 * servers in one process, as in tests, do not collide), served on a separate admin listener.
 * Each metric's `aggregator` says how the primary of a cluster (server/cluster.ts) combines the
 * workers' values: counters and histograms add up, gauges of state do not.
 */
import { createServer, type Server } from 'node:http'
import { Counter, Gauge, Registry } from 'prom-client'

/** The load gauges, read when the registry is (they change too often to be set on every event). */
export interface LoadSample {
  inFlight: number
  shed: number
  eventLoopDelayMs: number
}

export class ServerMetrics {
  readonly registry = new Registry()
  readonly #load: (() => LoadSample) | undefined
  constructor(load?: () => LoadSample) {
    this.#load = load
  }

  /**
   * Answered requests by kind and status. An answer only adds to plain numbers here (a Map lookup
   * and an addition); they are handed to prom-client when the registry is read, because a
   * prom-client label lookup builds a key string and objects on every call (about 0.5 µs per
   * answer, docs/performance.md).
   */
  readonly requests = new Counter({
    name: 'alto_requests_total',
    help: 'ALTO requests by resource kind and HTTP status',
    labelNames: ['kind', 'status'],
    registers: [this.registry],
    collect: () => this.#flushRequests(),
  })
  readonly duration = new KindHistogram('alto_request_duration_seconds', 'Time to answer an ALTO request', [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], this.registry)
  readonly answerCache = new Counter({
    name: 'alto_answer_cache_total',
    help: 'POST answers served from the answer cache (hit) or computed (miss)',
    labelNames: ['result'],
    registers: [this.registry],
    collect: () => {
      if (this.#cacheHits > 0) this.answerCache.inc({ result: 'hit' }, this.#cacheHits)
      if (this.#cacheMisses > 0) this.answerCache.inc({ result: 'miss' }, this.#cacheMisses)
      this.#cacheHits = this.#cacheMisses = 0
    },
  })
  #cacheHits = 0
  #cacheMisses = 0
  /** Counts not yet handed to `requests`: kind -> status -> count. */
  readonly #pending = new Map<string, Map<number, number>>()

  recordCache(hit: boolean): void {
    if (hit) this.#cacheHits++
    else this.#cacheMisses++
  }

  /** Count one answered request of a resource kind, with its status and duration. */
  recordRequest(kind: string, status: number, seconds: number): void {
    let statuses = this.#pending.get(kind)
    if (statuses === undefined) this.#pending.set(kind, (statuses = new Map()))
    statuses.set(status, (statuses.get(status) ?? 0) + 1)
    this.duration.observe(kind, seconds)
  }

  #flushRequests(): void {
    for (const [kind, statuses] of this.#pending) {
      for (const [status, count] of statuses) if (count > 0) this.requests.inc({ kind, status: String(status) }, count)
      statuses.clear()
    }
  }

  readonly inFlight = new Gauge({
    name: 'alto_requests_in_flight',
    help: 'Requests being handled',
    registers: [this.registry],
    collect: () => this.#sample((load) => this.inFlight.set(load.inFlight)),
  })
  readonly shed = new Gauge({
    name: 'alto_requests_shed',
    help: 'Requests refused with 503 since start',
    registers: [this.registry],
    collect: () => this.#sample((load) => this.shed.set(load.shed)),
  })
  readonly eventLoopDelay = new Gauge({
    name: 'alto_event_loop_delay_seconds',
    help: 'Measured event-loop delay: p99 per half-second window, the lower of the last two',
    registers: [this.registry],
    aggregator: 'max',
    collect: () => this.#sample((load) => this.eventLoopDelay.set(load.eventLoopDelayMs / 1000)),
  })
  readonly snapshotBuilt = new Gauge({
    name: 'alto_snapshot_built_timestamp_seconds',
    help: 'When the served snapshot was built',
    registers: [this.registry],
    // Over a cluster: the oldest snapshot any worker serves.
    aggregator: 'min',
  })
  readonly pids = new Gauge({ name: 'alto_network_map_pids', help: 'PIDs per network map', labelNames: ['network_map'], registers: [this.registry], aggregator: 'max' })

  #sample(set: (load: LoadSample) => void): void {
    if (this.#load) set(this.#load())
  }
}

/**
 * A Prometheus histogram with one label, `kind`, kept in plain arrays: an observation is a Map
 * lookup, a short scan of the bucket bounds and two additions (prom-client's Histogram hashes its
 * labels and builds objects on each one). Registered in a prom-client registry, it is read, written
 * out and summed over a cluster's workers like prom-client's own histograms.
 */
interface HistogramValue {
  metricName: string
  labels: Record<string, string | number>
  value: number
}

export class KindHistogram {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  readonly #bounds: readonly number[]
  /** Per kind: counts per bucket (not cumulative; the last is above every bound), and the sum. */
  readonly #kinds = new Map<string, { counts: Float64Array; sum: number }>()

  constructor(
    readonly name: string,
    readonly help: string,
    bounds: readonly number[],
    registry: Registry,
  ) {
    this.#bounds = [...bounds].sort((a, b) => a - b)
    registry.registerMetric(this as never)
  }

  observe(kind: string, value: number): void {
    if (!Number.isFinite(value)) return
    let tally = this.#kinds.get(kind)
    if (tally === undefined) this.#kinds.set(kind, (tally = { counts: new Float64Array(this.#bounds.length + 1), sum: 0 }))
    const bounds = this.#bounds
    let i = 0
    while (i < bounds.length && value > bounds[i]!) i++
    tally.counts[i]!++
    tally.sum += value
  }

  /** The values in prom-client's form: per kind, cumulative `_bucket`s with `le`, then `_sum` and `_count`. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: HistogramValue[] }> {
    const values: HistogramValue[] = []
    for (const [kind, { counts, sum }] of this.#kinds) {
      let total = 0
      for (let i = 0; i < counts.length; i++) {
        total += counts[i]!
        values.push({ metricName: `${this.name}_bucket`, labels: { le: i < this.#bounds.length ? this.#bounds[i]! : '+Inf', kind }, value: total })
      }
      values.push({ metricName: `${this.name}_sum`, labels: { kind }, value: sum }, { metricName: `${this.name}_count`, labels: { kind }, value: total })
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  reset(): void {
    this.#kinds.clear()
  }
}

/** What the admin listener serves: a prom-client Registry, or the primary's aggregate of a cluster's. */
export interface MetricsSource {
  readonly contentType: string
  metrics(): Promise<string>
}

/** Serve `GET /metrics` on its own listener. Resolves with the listening server. */
export function startAdminServer(source: MetricsSource, host: string, port: number): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      return
    }
    source.metrics().then(
      (text) => response.writeHead(200, { 'content-type': source.contentType }).end(text),
      () => response.writeHead(500).end(),
    )
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve(server))
  })
}
