/**
 * @module server/app
 * The ALTO server: a fastify instance serving one {@link Snapshot} at a time. Hooks run in
 * lifecycle order: onRequest (overload, access control, rate limit, negotiation), preParsing
 * (authentication, before any body byte is read), then one handler that dispatches on the
 * resource kind. `setSnapshot` swaps in a new snapshot atomically and pushes what changed to the
 * RFC 8895 update streams.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { pino, type Logger } from 'pino'
import { createAltoError } from '../protocol/errors.ts'
import { MediaType } from '../protocol/media-types.ts'
import { parseJsonBody } from '../protocol/validate.ts'
import type { Snapshot } from '../provisioning/snapshot.ts'
import { HttpError, sendError } from './error-handler.ts'
import { ServerMetrics, startAdminServer } from './metrics.ts'
import { acceptsGzip, ifNoneMatch, negotiate } from './negotiation.ts'
import { AccessLog } from './access-log.ts'
import { FastLane } from './fast-lane.ts'
import { RequestIds } from './request-id.ts'
import { RateLimiter } from './rate-limit.ts'
import { OverloadGuard } from './overload.ts'
import { GZIP_THRESHOLD, type PreparedBody } from './prepared-body.ts'
import { ResourceTable, STREAM_CONTROL_PATH, type Resource } from './resources.ts'
import { filteredCostMap, filteredCostMapJson } from './routes/cost-map.ts'
import { endpointCosts, endpointCostsJson, type EndpointCostContext } from './routes/endpoint-cost.ts'
import { endpointProperties } from './routes/endpoint-prop.ts'
import { filteredNetworkMap } from './routes/network-map.ts'
import { AccessList, BasicAuth, clientAddress } from './security.ts'
import { DEFAULTS, resolveLimits, type ServerOptions } from './options.ts'
import { UpdateStreamService, type UpdateStreamOptions } from './update-stream.ts'
import { AttestationSigner } from './signing.ts'

const gzipAsync = promisify(gzip)

export interface AltoServer {
  /**
   * The fastify instance. Hooks and routes added to it do not see the requests the fast lane
   * answers (server/fast-lane.ts): create the server with `fastLane: false` to hook every request.
   */
  readonly app: FastifyInstance
  readonly metrics: ServerMetrics
  readonly logger: Logger
  readonly snapshot: Snapshot
  /** The lean path of the busiest requests (server/fast-lane.ts), unless off (`fastLane: false`, or `auth`). */
  readonly fastLane: FastLane | undefined
  /** The RFC 8895 update stream service, unless disabled (`updateStreams.enabled: false`). */
  readonly updateStreams: UpdateStreamService | undefined
  /** Serve a new snapshot from the next request on, and push its changes to update streams. */
  setSnapshot(snapshot: Snapshot): void
  /** Start listening; resolves with the server's base URL (real port), e.g. `http://127.0.0.1:8181/`. */
  listen(): Promise<string>
  /** The admin (metrics) URL once listening, if configured. */
  readonly adminUrl: string | undefined
  /** Stop accepting, finish in-flight requests, close listeners. */
  close(): Promise<void>
}

// The resource a request was resolved to, with the table (snapshot) it came from: a request is
// answered from the snapshot it started with, even if a new one is swapped in meanwhile.
const resolved = new WeakMap<FastifyRequest, { resource: Resource; table: ResourceTable }>()
// Takes a request out of the in-flight count early: an update stream is not a request in progress.
const leaveOverload = new WeakMap<FastifyRequest, () => void>()

export interface AltoServerOptions extends ServerOptions {
  /** RFC 8895 update streams: on by default. */
  updateStreams?: UpdateStreamOptions
  /** Answer POST services on the lean path of server/fast-lane.ts (default true; tests compare both paths). */
  fastLane?: boolean
  /** The longest a fast-lane answer waits to be written with the rest of its event-loop turn (server/write-batch.ts; default 1 ms, 0 = each at once). */
  writeBatchMs?: number
}

export function createAltoServer(initial: Snapshot, options: AltoServerOptions = {}): AltoServer {
  const limits = resolveLimits(options.limits)
  // Asynchronous writes: under load, lines written while a write is in flight go out together (one
  // system call, not one per request); pino flushes what is left when the process exits. The
  // access log batches its lines itself when it can write to our own destination (server/access-log.ts).
  const destination = options.logger ? undefined : pino.destination({ dest: 2, sync: false })
  const logger = options.logger ?? pino({ level: options.logLevel ?? DEFAULTS.logLevel }, destination!)
  const accessLog = new AccessLog(logger, destination)
  const costConstraints = options.costConstraints ?? DEFAULTS.costConstraints
  const maxAgeS = options.maxAgeS ?? DEFAULTS.maxAgeS
  const cacheScope = options.auth ? 'private' : 'public'
  const overload = new OverloadGuard(limits.overload)
  const metrics = new ServerMetrics(() => overload)
  const access = options.access && options.access.allow.length > 0 ? new AccessList(options.access.allow) : undefined
  const auth = options.auth ? new BasicAuth({ ...options.auth, ...(options.now ? { now: options.now } : {}) }) : undefined
  const streamsEnabled = options.updateStreams?.enabled ?? true
  const signer = options.signing
    ? new AttestationSigner({ ...options.signing, lifetimeS: options.signing.lifetimeS ?? maxAgeS, ...(options.now ? { now: options.now } : {}) })
    : undefined
  const layout = { costConstraints, updateStreams: streamsEnabled, attestationKeys: signer?.jwksBytes }
  let table = new ResourceTable(initial, layout)
  const updateStreams = streamsEnabled
    ? new UpdateStreamService(table, (resource, snapshot, input) => answerPost(resource, snapshot, input, undefined), options.updateStreams ?? {}, logger)
    : undefined
  let adminServer: Server | undefined
  let adminUrl: string | undefined

  // Node enforces these only when it checks its connections, so check often enough for the bound to mean something.
  const timeouts = {
    headersTimeout: limits.headerTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, limits.headerTimeoutMs / 2)),
  }
  const limiter = limits.rateLimit.max > 0 ? new RateLimiter(limits.rateLimit.max, limits.rateLimit.windowMs, options.now) : undefined
  let closing = false
  const ids = new RequestIds()
  // The POST services skip fastify's per-request machinery when nothing but an answer can come of
  // the request (server/fast-lane.ts); authentication keeps every request on the full path.
  const lane = (options.fastLane ?? true) && !auth
    ? new FastLane({
      table: () => table,
      closing: () => closing,
      overload,
      access,
      limiter,
      bodyLimit: limits.bodyBytes,
      signing: signer !== undefined,
      cacheControl: `${cacheScope}, max-age=${maxAgeS}`,
      answer: (resource, pinned, body, remote) => answerJson(resource, pinned.snapshot, body, remote),
      logger,
      accessLog,
      metrics,
      ids,
      ...(options.answerCacheBytes !== undefined ? { answerCacheBytes: options.answerCacheBytes } : {}),
      ...(options.writeBatchMs !== undefined ? { writeBatchMs: options.writeBatchMs } : {}),
    })
    : undefined
  const route = (handler: (request: IncomingMessage, response: ServerResponse) => void) => (request: IncomingMessage, response: ServerResponse) => {
    if (lane?.take(request, response)) return
    // The full path takes longer: the lane's answers waiting for the turn's end go first.
    lane?.batch.flush()
    handler(request, response)
  }
  const app = Fastify({
    loggerInstance: logger,
    // One access-log line per response is written by our onResponse hook instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.bodyBytes,
    requestTimeout: limits.requestTimeoutMs,
    return503OnClosing: true,
    genReqId: () => ids.next(),
    requestIdHeader: false,
    serverFactory: (handler) =>
      options.tls ? createHttpsServer({ ...timeouts, cert: options.tls.cert, key: options.tls.key }, route(handler)) : createHttpServer(timeouts, route(handler)),
  }) as unknown as FastifyInstance

  // Bodies are taken as bytes and parsed by the handler, which owns the mapping to E_SYNTAX.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply))
  app.setNotFoundHandler((request, reply) => sendError(new HttpError(createAltoError('ALTO_ERR_NOT_FOUND', [request.url])), request, reply))

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
    overload.enter()
    let counted = true
    const leave = () => {
      if (counted) overload.leave()
      counted = false
    }
    reply.raw.once('close', leave)
    leaveOverload.set(request, leave)
    access?.check(request.socket.remoteAddress)
  })
  if (limiter) {
    app.addHook('onRequest', async (request) => {
      const retryAfterS = limiter.take(request.socket.remoteAddress ?? 'unknown')
      if (retryAfterS > 0) throw new HttpError(createAltoError('ALTO_ERR_RATE_LIMITED', [retryAfterS]), { 'retry-after': String(retryAfterS) })
    })
  }

  // Open update streams would hold the server's close (their responses never finish) until they end.
  app.addHook('preClose', (done) => {
    closing = true
    updateStreams?.close()
    done()
  })

  app.register(async (scope) => {
    scope.addHook('onRequest', async (request) => {
      const current = table
      resolved.set(request, { resource: negotiate(current, request.method, request.url, request.headers), table: current })
    })
    if (auth) {
      scope.addHook('preParsing', async (request) => {
        await auth.check(request.headers.authorization)
      })
    }
    scope.all('/*', async (request, reply) => handle(request, reply))
  })

  // Attestations (docs/redistribution.md): every GET answer, POST answers when asked for.
  if (signer) app.addHook('onSend', signer.onSendHook(baseUrl))

  app.addHook('onResponse', async (request, reply) => {
    const kind = resolved.get(request)?.resource.kind ?? 'none'
    const seconds = reply.elapsedTime / 1000
    metrics.recordRequest(kind, reply.statusCode, seconds)
    accessLog.record(request.id, request.method, request.url, reply.statusCode, reply.elapsedTime)
  })

  async function handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { resource, table: pinned } = resolved.get(request)!
    switch (resource.kind) {
      case 'directory':
        reply.header('cache-control', `${cacheScope}, max-age=${maxAgeS}`)
        return sendPrepared(request, reply, resource.mediaType, pinned.ird(baseUrl(request)))
      case 'network-map':
      case 'cost-map':
      case 'attestation-keys':
        reply.header('cache-control', `${cacheScope}, max-age=${maxAgeS}`)
        return sendPrepared(request, reply, resource.mediaType, resource.body!)
      case 'update-stream':
        return openUpdateStream(request, reply)
      case 'stream-control': {
        const streamId = request.url.split('?', 1)[0]!.slice(STREAM_CONTROL_PATH.length + 1).replace(/\/$/, '')
        updateStreams!.control(streamId, parseRequestBody(request.body))
        // RFC 8895 §7.6: success is a bare 204; the effects show on the stream.
        return reply.code(204).send()
      }
      default: {
        const body = parseRequestBody(request.body)
        // The endpoint cost service writes its JSON directly (the hot path); the rest stringify.
        return sendJson(request, reply, resource.mediaType, answerJson(resource, pinned.snapshot, body, request.socket.remoteAddress))
      }
    }
  }

  /** RFC 8895 §6: check the request, then answer 200 with an event stream that stays open. */
  function openUpdateStream(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const plan = updateStreams!.prepare(parseRequestBody(request.body))
    // No await from here to start(): the stream begins with the versions the plan was checked on.
    leaveOverload.get(request)?.()
    reply.hijack()
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(reply.getHeaders())) if (typeof value === 'string' || typeof value === 'number') headers[name] = String(value)
    reply.raw.writeHead(200, { ...headers, 'content-type': MediaType.updateStream, 'cache-control': 'no-store', 'x-accel-buffering': 'no' })
    updateStreams!.start(plan, reply.raw, baseUrl(request))
    accessLog.record(request.id, request.method, request.url, 200, reply.elapsedTime)
    return reply
  }

  function answerPost(resource: Resource, snapshot: Snapshot, body: unknown, remote: string | undefined): unknown {
    switch (resource.kind) {
      case 'filtered-network-map':
        return filteredNetworkMap(resource, body)
      case 'filtered-cost-map':
        return filteredCostMap(resource, body, costConstraints)
      case 'endpoint-prop':
        return endpointProperties(snapshot, body)
      case 'endpoint-cost':
        return endpointCosts(resource, body, endpointCostContext(remote))
      default:
        throw new Error(`no POST handler for ${resource.kind}`)
    }
  }

  /** A POST answer as JSON text; the endpoint cost service and filtered cost maps write their own (the hot paths). */
  function answerJson(resource: Resource, snapshot: Snapshot, body: unknown, remote: string | undefined): string {
    if (resource.kind === 'endpoint-cost') return endpointCostsJson(resource, body, endpointCostContext(remote))
    if (resource.kind === 'filtered-cost-map') return filteredCostMapJson(resource, body, costConstraints)
    return JSON.stringify(answerPost(resource, snapshot, body, remote))
  }

  function endpointCostContext(remote: string | undefined): EndpointCostContext {
    const client = clientAddress(remote)
    return { clientAddress: client && `${client.family}:${client.text}`, allowConstraints: costConstraints }
  }

  function baseUrl(request: FastifyRequest): string {
    if (options.publicUrl) return options.publicUrl.replace(/\/+$/, '')
    const host = request.headers.host
    const scheme = options.tls ? 'https' : 'http'
    if (host && /^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host)) return `${scheme}://${host}`
    const address = app.server.address() as AddressInfo | null
    return address ? `${scheme}://${formatHost(address.address)}:${address.port}` : `${scheme}://localhost`
  }

  return {
    app,
    metrics,
    logger,
    fastLane: lane,
    updateStreams,
    get snapshot() {
      return table.snapshot
    },
    get adminUrl() {
      return adminUrl
    },
    setSnapshot(snapshot: Snapshot) {
      table = new ResourceTable(snapshot, layout)
      updateStreams?.update(table)
      recordSnapshot(metrics, snapshot)
      logger.info({ networkMaps: [...snapshot.networkMaps.values()].map((m) => ({ id: m.resourceId, vtag: m.vtag })) }, 'snapshot replaced')
    },
    async listen() {
      recordSnapshot(metrics, table.snapshot)
      await app.listen({ host: options.host ?? DEFAULTS.host, port: options.port ?? DEFAULTS.port, listenTextResolver: (address) => `listening on ${address}` })
      if (options.admin) {
        adminServer = await startAdminServer(metrics.registry, options.admin.host ?? '127.0.0.1', options.admin.port)
        const a = adminServer.address() as AddressInfo
        adminUrl = `http://${formatHost(a.address)}:${a.port}/metrics`
      }
      const address = app.server.address() as AddressInfo
      return `${options.tls ? 'https' : 'http'}://${formatHost(address.address)}:${address.port}/`
    },
    async close() {
      overload.close()
      await new Promise<void>((resolve) => (adminServer ? adminServer.close(() => resolve()) : resolve()))
      await app.close()
      accessLog.flush()
    },
  }
}

function recordSnapshot(metrics: ServerMetrics, snapshot: Snapshot): void {
  metrics.snapshotBuilt.set(snapshot.builtAt / 1000)
  for (const map of snapshot.networkMaps.values()) metrics.pids.set({ network_map: map.resourceId }, map.pids.length)
}

function formatHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address
}

function parseRequestBody(body: unknown): unknown {
  return parseJsonBody(Buffer.isBuffer(body) ? body : undefined)
}

function wantsGzip(request: FastifyRequest): boolean {
  return acceptsGzip(request.headers['accept-encoding'])
}

async function sendPrepared(request: FastifyRequest, reply: FastifyReply, mediaType: string, body: PreparedBody): Promise<FastifyReply> {
  reply.header('etag', body.etag).header('vary', 'Accept-Encoding').type(mediaType)
  if (ifNoneMatch(request.headers['if-none-match'], body.etag)) return reply.code(304).send()
  // A large body may still be being gzipped (server/prepared-body.ts): wait for it.
  const gzip = body.gzip && wantsGzip(request) ? await body.gzip : undefined
  if (gzip) return reply.header('content-encoding', 'gzip').send(gzip)
  return reply.send(body.bytes)
}

async function sendJson(request: FastifyRequest, reply: FastifyReply, mediaType: string, json: string): Promise<FastifyReply> {
  reply.type(mediaType).header('cache-control', 'no-store').header('vary', 'Accept-Encoding')
  if (json.length >= GZIP_THRESHOLD && wantsGzip(request)) {
    return reply.header('content-encoding', 'gzip').send(await gzipAsync(json))
  }
  // Bytes, not a string: fastify would add `; charset=utf-8`, and ALTO media types take no parameters.
  return reply.send(Buffer.from(json))
}

