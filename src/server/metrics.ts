/**
 * @module server/metrics
 * Prometheus metrics on a registry of the server's own (not prom-client's global one, so several
 * servers in one process, as in tests, do not collide), served on a separate admin listener.
 */
import { createServer, type Server } from 'node:http'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'

export class ServerMetrics {
  readonly registry = new Registry()
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
  readonly inFlight = new Gauge({ name: 'alto_requests_in_flight', help: 'Requests being handled', registers: [this.registry] })
  readonly shed = new Gauge({ name: 'alto_requests_shed', help: 'Requests refused with 503 since start', registers: [this.registry] })
  readonly eventLoopDelay = new Gauge({ name: 'alto_event_loop_delay_seconds', help: 'Measured event-loop delay (p99)', registers: [this.registry] })
  readonly snapshotBuilt = new Gauge({ name: 'alto_snapshot_built_timestamp_seconds', help: 'When the served snapshot was built', registers: [this.registry] })
  readonly pids = new Gauge({ name: 'alto_network_map_pids', help: 'PIDs per network map', labelNames: ['network_map'], registers: [this.registry] })
}

/** Serve `GET /metrics` on its own listener. Resolves with the listening server. */
export function startAdminServer(metrics: ServerMetrics, host: string, port: number, beforeScrape?: () => void): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      return
    }
    beforeScrape?.()
    metrics.registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => response.writeHead(500).end(),
    )
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve(server))
  })
}
