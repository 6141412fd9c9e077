/**
 * The ceiling of an HTTP benchmark on this machine: a bare `node:http` server that reads the request
 * body and answers with pre-built bytes, with no routing, parsing, validation or logging.
 *
 *   node --import tsx bench/lib/ceiling-server.ts BODY_FILE [WORKERS] [batched]
 *
 * With WORKERS > 1 it forks that many node:cluster workers sharing the socket, like `alto serve
 * --workers N`. With `batched`, the answers of one event-loop turn are written together at its end,
 * as ALTOkit's fast lane writes them (src/server/write-batch.ts); without it, each as it is ready.
 */
import cluster from 'node:cluster'
import { readFileSync } from 'node:fs'
import { createServer, type ServerResponse } from 'node:http'

const [bodyFile, workerArg, mode] = process.argv.slice(2)
const workers = Number(workerArg ?? 1)
const batched = mode === 'batched'
const body = readFileSync(bodyFile!)
const headers = { 'content-type': 'application/json', 'content-length': String(body.length) }

if (workers > 1 && cluster.isPrimary) {
  let listening = 0
  let port = 0
  cluster.setupPrimary({ stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  for (let i = 0; i < workers; i++) {
    cluster.fork().on('listening', (address) => {
      port = address.port
      if (++listening === workers) process.stdout.write(`ceiling listening on http://127.0.0.1:${port}/\n`)
    })
  }
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill()
    process.exit(0)
  })
} else {
  const pending: ServerResponse[] = []
  const flush = () => {
    for (const response of pending) response.writeHead(200, headers).end(body)
    pending.length = 0
  }
  const server = createServer((request, response) => {
    request.on('data', () => {})
    if (batched) request.on('end', () => pending.push(response) === 1 && setImmediate(flush))
    else request.on('end', () => response.writeHead(200, headers).end(body))
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    if (cluster.isPrimary && address && typeof address === 'object') process.stdout.write(`ceiling listening on http://127.0.0.1:${address.port}/\n`)
  })
  process.on('SIGTERM', () => server.close(() => process.exit(0)))
}
