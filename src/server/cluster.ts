/**
 * @module server/cluster
 * Several processes serving one port (node:cluster). The primary forks copies of its own program;
 * each worker loads the network, listens on the same host and port (the primary holds the socket
 * and hands connections to the workers in turn) and reports its URL. The primary restarts a worker
 * that dies, with back-off, forwards reloads, stops them all, and serves the metrics of all of them
 * on the admin listener. docs/operator-guide.md §7 is the operator's view.
 */
import cluster, { type Worker } from 'node:cluster'
import type { Server } from 'node:http'
import type { Logger } from 'pino'
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client'
import type { AltoServerOptions } from './app.ts'
import { startAdminServer, type MetricsSource } from './metrics.ts'
import { resolveLimits } from './options.ts'

/** Set in a worker's environment by the primary: JSON {@link WorkerSettings}. */
const WORKER_ENV = 'ALTOKIT_CLUSTER_WORKER'

/** What the primary tells each worker when it forks it. */
export interface WorkerSettings {
  /** How many workers share the port. */
  workers: number
  /** The port to listen on (the configured one, or the real one once port 0 was resolved). */
  port: number
}

type Metrics = Awaited<ReturnType<Registry['getMetricsAsJSON']>>
type ToPrimary = { alto: 'listening'; url: string } | { alto: 'metrics'; id: number; metrics: Metrics }
type ToWorker = { alto: 'scrape'; id: number }

export interface ClusterOptions {
  /** Worker processes to keep running (2 or more; one process needs no cluster). */
  workers: number
  /** The port the workers listen on; 0 = one free port, chosen once and shared by all. */
  port: number
  logger: Logger
  /** The admin (metrics) listener, served by the primary for the whole cluster; absent = off. */
  admin?: { host?: string; port: number } | undefined
  /**
   * Restarting a worker that died: the first delay, doubled on each death up to `maxMs`, and back
   * to the first once a worker has lived `resetAfterMs`, so a crash loop does not spin.
   * @default { initialMs: 100, maxMs: 30_000, resetAfterMs: 60_000 }
   */
  restart?: { initialMs?: number; maxMs?: number; resetAfterMs?: number }
  /** How long {@link ClusterPrimary.stop} waits for workers to finish their requests before killing them. @default 35_000 */
  stopTimeoutMs?: number
  /** How long a scrape waits for each worker's metrics; a worker that does not answer is left out. @default 2000 */
  scrapeTimeoutMs?: number
}

interface Member {
  worker: Worker
  startedAt: number
  /** The port it was told to listen on. */
  port: number
  listening: boolean
  /** A reload was asked for before it was listening (and had its SIGHUP handler). */
  reloadPending: boolean
}

/**
 * The primary of a cluster. Call order: `start()` (resolves with the URL once every worker listens),
 * then any number of `reload()`, then `stop()`.
 */
export class ClusterPrimary implements MetricsSource {
  readonly #options: ClusterOptions
  readonly #log: Logger
  readonly #members = new Map<number, Member>()
  readonly #restartTimers = new Set<NodeJS.Timeout>()
  readonly #registry = new Registry()
  readonly #restarts = new Counter({ name: 'alto_worker_restarts_total', help: 'Workers restarted after dying', registers: [this.#registry] })
  #failures = 0
  #scrapes = 0
  #url: string | undefined
  #started: { resolve: (url: string) => void; reject: (error: Error) => void } | undefined
  #stopping = false
  #stopped: Promise<void> | undefined
  #adminServer: Server | undefined
  #adminUrl: string | undefined

  constructor(options: ClusterOptions) {
    this.#options = options
    this.#log = options.logger
    const listening = () => this.#listeningCount()
    new Gauge({
      name: 'alto_workers',
      help: 'Worker processes listening',
      registers: [this.#registry],
      collect() {
        this.set(listening())
      },
    })
  }

  /** The URL the workers serve, once they all listen. */
  get url(): string | undefined {
    return this.#url
  }

  /** The admin (metrics) URL, if configured. */
  get adminUrl(): string | undefined {
    return this.#adminUrl
  }

  /** Worker process ids, for logs. */
  get pids(): number[] {
    return [...this.#members.values()].map((m) => m.worker.process.pid ?? 0)
  }

  /** Open the admin listener, fork the workers; resolves with their URL once all of them listen. A worker that exits before that fails the start (the others are stopped). */
  async start(): Promise<string> {
    if (this.#options.admin) {
      const { host = '127.0.0.1', port } = this.#options.admin
      this.#adminServer = await startAdminServer(this, host, port)
      const address = this.#adminServer.address() as { address: string; port: number }
      this.#adminUrl = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}/metrics`
    }
    const ready = new Promise<string>((resolve, reject) => (this.#started = { resolve, reject }))
    for (let i = 0; i < this.#options.workers; i++) this.#fork()
    return ready
  }

  /** Every worker reloads its network (those still starting, as soon as they listen). */
  reload(): void {
    for (const member of this.#members.values()) {
      if (member.listening) member.worker.process.kill('SIGHUP')
      else member.reloadPending = true
    }
  }

  /** Stop the workers gracefully (SIGTERM: they finish the requests in flight), then close the admin listener. Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop()
    return this.#stopped
  }

  async #stop(): Promise<void> {
    this.#stopping = true
    for (const timer of this.#restartTimers) clearTimeout(timer)
    this.#restartTimers.clear()
    const exits = [...this.#members.values()].map((m) => exited(m.worker))
    for (const member of this.#members.values()) member.worker.process.kill('SIGTERM')
    const timer = setTimeout(() => {
      for (const member of this.#members.values()) {
        this.#log.warn({ worker: member.worker.id, workerPid: member.worker.process.pid }, 'worker did not stop in time; killing it')
        member.worker.process.kill('SIGKILL')
      }
    }, this.#options.stopTimeoutMs ?? 35_000)
    await Promise.all(exits)
    clearTimeout(timer)
    const admin = this.#adminServer
    if (admin) await new Promise<void>((resolve) => admin.close(() => resolve()))
  }

  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE

  /** The cluster's metrics: each listening worker's, aggregated by prom-client, plus the primary's own. */
  async metrics(): Promise<string> {
    const id = ++this.#scrapes
    const listening = [...this.#members.values()].filter((m) => m.listening)
    const answers = await Promise.all(listening.map((m) => this.#scrape(m.worker, id)))
    const all = [...answers.filter((a) => a !== undefined), await this.#registry.getMetricsAsJSON()]
    return AggregatorRegistry.aggregate(all).metrics()
  }

  #fork(): void {
    const settings: WorkerSettings = { workers: this.#options.workers, port: this.#portForNewWorker() }
    const worker = cluster.fork({ [WORKER_ENV]: JSON.stringify(settings) })
    const member: Member = { worker, startedAt: Date.now(), port: settings.port, listening: false, reloadPending: false }
    this.#members.set(worker.id, member)
    worker.on('message', (message: ToPrimary) => {
      if (message?.alto === 'listening') this.#onListening(member, message.url)
    })
    // E.g. a failed send to a worker that just died; its 'exit' follows.
    worker.on('error', (error) => this.#log.warn({ worker: worker.id, error: error.message }, 'worker channel error'))
    worker.once('exit', (code: number | null, signal: NodeJS.Signals | null) => this.#onExit(member, code, signal))
  }

  /**
   * With port 0, the primary binds one free port for the first workers and shares it with every
   * worker that asks for port 0 while one of them still listens. Once none does, that socket is
   * gone: a replacement must ask for the real port, or it would be given a new one.
   */
  #portForNewWorker(): number {
    if (this.#options.port !== 0 || this.#url === undefined) return this.#options.port
    const holder = [...this.#members.values()].find((m) => m.listening)
    return holder ? holder.port : Number(new URL(this.#url).port)
  }

  #onListening(member: Member, url: string): void {
    const { worker } = member
    if (this.#url !== undefined && url !== this.#url) {
      // The shared socket closed between its fork and its listen (every other worker died): see #portForNewWorker.
      this.#log.error({ worker: worker.id, workerPid: worker.process.pid, url, expected: this.#url }, 'worker listens elsewhere; replacing it')
      worker.process.kill('SIGKILL')
      return
    }
    member.listening = true
    this.#log.info({ worker: worker.id, workerPid: worker.process.pid }, 'worker ready')
    if (member.reloadPending) {
      member.reloadPending = false
      worker.process.kill('SIGHUP')
    }
    if (this.#url === undefined && this.#listeningCount() === this.#options.workers) {
      this.#url = url
      this.#started?.resolve(url)
      this.#started = undefined
    }
  }

  #onExit(member: Member, code: number | null, signal: NodeJS.Signals | null): void {
    const { worker } = member
    this.#members.delete(worker.id)
    if (this.#stopping) return
    const why = { worker: worker.id, workerPid: worker.process.pid, code, signal }
    if (this.#started) {
      const started = this.#started
      this.#started = undefined
      this.#log.error(why, 'worker exited while starting; stopping')
      this.stop().then(
        () => started.reject(new Error(`worker ${worker.id} exited with ${signal ?? `status ${code}`} before listening`)),
        (error: unknown) => started.reject(error instanceof Error ? error : new Error(String(error))),
      )
      return
    }
    const { initialMs = 100, maxMs = 30_000, resetAfterMs = 60_000 } = this.#options.restart ?? {}
    if (Date.now() - member.startedAt >= resetAfterMs) this.#failures = 0
    const delayMs = Math.min(maxMs, initialMs * 2 ** this.#failures)
    this.#failures++
    this.#log.error({ ...why, restartInMs: delayMs }, 'worker died; restarting it')
    const timer = setTimeout(() => {
      this.#restartTimers.delete(timer)
      this.#restarts.inc()
      this.#fork()
    }, delayMs)
    this.#restartTimers.add(timer)
  }

  #listeningCount(): number {
    let n = 0
    for (const member of this.#members.values()) if (member.listening) n++
    return n
  }

  #scrape(worker: Worker, id: number): Promise<Metrics | undefined> {
    return new Promise((resolve) => {
      const finish = (metrics: Metrics | undefined) => {
        clearTimeout(timer)
        worker.off('message', onMessage)
        worker.off('exit', onExit)
        resolve(metrics)
      }
      const onMessage = (message: ToPrimary) => {
        if (message?.alto === 'metrics' && message.id === id) finish(message.metrics)
      }
      const onExit = () => finish(undefined)
      const timer = setTimeout(() => {
        this.#log.warn({ worker: worker.id }, 'worker sent no metrics in time; left out of this scrape')
        finish(undefined)
      }, this.#options.scrapeTimeoutMs ?? 2000)
      worker.on('message', onMessage)
      worker.once('exit', onExit)
      const request: ToWorker = { alto: 'scrape', id }
      worker.send(request, (error: Error | null) => {
        if (error) finish(undefined)
      })
    })
  }
}

function exited(worker: Worker): Promise<void> {
  if (worker.process.exitCode !== null || worker.process.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => worker.once('exit', () => resolve()))
}

/** A worker's end of the cluster. */
export interface ClusterWorker extends WorkerSettings {
  /** Tell the primary this worker serves `url` (after its reload and stop handlers are in place). */
  listening(url: string): void
  /** Answer the primary's scrapes from `registry`. */
  serveMetrics(registry: Registry): void
  /** Leave the cluster once the server is closed, so that the process can exit. */
  leave(): void
}

/** This process's end of an ALTOkit cluster, or undefined when it is not one of its workers. */
export function clusterWorker(): ClusterWorker | undefined {
  const raw = process.env[WORKER_ENV]
  if (!cluster.isWorker || raw === undefined) return undefined
  const settings = JSON.parse(raw) as WorkerSettings
  const send = (message: ToPrimary) => {
    if (process.connected) process.send!(message)
  }
  return {
    ...settings,
    listening: (url) => send({ alto: 'listening', url }),
    serveMetrics(registry) {
      process.on('message', (message: ToWorker) => {
        if (message?.alto !== 'scrape') return
        registry.getMetricsAsJSON().then(
          (metrics) => send({ alto: 'metrics', id: message.id, metrics }),
          () => send({ alto: 'metrics', id: message.id, metrics: [] }),
        )
      })
    },
    leave() {
      if (process.connected) cluster.worker?.disconnect()
    },
  }
}

/**
 * A worker's server options: no admin listener (the primary serves the whole cluster's), no RFC 8895
 * update streams (a stream's control requests could reach another worker than the one holding the
 * stream, so the IRD does not offer them), and each worker its share of the per-client rate limit.
 */
export function workerServerOptions(options: AltoServerOptions, settings: WorkerSettings): AltoServerOptions {
  const { admin: _admin, ...rest } = options
  const { max, windowMs } = resolveLimits(options.limits).rateLimit
  // Rounded up: a client can reach about `max` requests per window over all workers.
  const share = max === 0 ? 0 : Math.ceil(max / settings.workers)
  return {
    ...rest,
    port: settings.port,
    updateStreams: { ...options.updateStreams, enabled: false },
    limits: { ...options.limits, rateLimit: { max: share, windowMs } },
  }
}
