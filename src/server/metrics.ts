/**
 * @module server/metrics
 * Prometheus metrics on a registry of the server's own (not prom-client's global one, so several
 * servers in one process, as in tests, do not collide), served on a separate admin listener.
 * Each metric's `aggregator` says how the primary of a cluster (server/cluster.ts) combines the
 * workers' values: counters and histograms add up, gauges of state do not.
 */
import { createServer, type Server } from 'node:http'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'

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

  readonly requests = new Counter({
    name: 'alto_requests_total',
    help: 'ALTO requests by resource kind and HTTP status',
    labelNames: ['kind', 'status'],
    registers: [this.registry],
  })
  readonly duration = new Histogram({
    name: 'alto_request_duration_seconds',
    help: 'Time to answer an ALTO request',
    labelNames: ['kind'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  })
  readonly answerCache = new Counter({
    name: 'alto_answer_cache_total',
    help: 'POST answers served from the answer cache (hit) or computed (miss)',
    labelNames: ['result'],
    registers: [this.registry],
  })
  readonly #cacheResults = { hit: this.answerCache.labels('hit'), miss: this.answerCache.labels('miss') }

  recordCache(hit: boolean): void {
    this.#cacheResults[hit ? 'hit' : 'miss'].inc()
  }

  // Label-bound children, looked up once per label set instead of hashing labels on every request.
  readonly #requestCounters = new Map<string, { inc(): void }>()
  readonly #durations = new Map<string, { observe(value: number): void }>()

  /** Count one answered request of a resource kind, with its status and duration. */
  recordRequest(kind: string, status: number, seconds: number): void {
    const key = `${kind} ${status}`
    let counter = this.#requestCounters.get(key)
    if (!counter) this.#requestCounters.set(key, (counter = this.requests.labels(kind, String(status))))
    counter.inc()
    let histogram = this.#durations.get(kind)
    if (!histogram) this.#durations.set(kind, (histogram = this.duration.labels(kind)))
    histogram.observe(seconds)
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
    help: 'Measured event-loop delay (p99)',
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
