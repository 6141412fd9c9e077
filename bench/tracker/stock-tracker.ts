/**
 * @module bench/tracker/stock-tracker
 * The benchmark baseline: the stock `bittorrent-tracker` server (random peer selection) with HTTP
 * and UDP on loopback, run as its own process so it never shares a thread with the load.
 *
 *   node --import tsx bench/tracker/stock-tracker.ts [--peers-cache N]
 *
 * Prints `Tracker listening on http://127.0.0.1:P/announce and udp://127.0.0.1:U`, like
 * `alto tracker`, and exits on SIGTERM/SIGINT (so `--cpu-prof` profiles get written).
 */
import type { AddressInfo } from 'node:net'
import Server from 'bittorrent-tracker/server'

const at = process.argv.indexOf('--peers-cache')
// The stock swarm is an LRU of 1000 peers unless told otherwise; the benchmark swarm is larger.
const peersCacheLength = at > 0 ? Number(process.argv[at + 1]) : undefined

const server = new Server({ udp: true, http: true, ws: false, stats: false, trustProxy: false, ...(peersCacheLength ? { peersCacheLength } : {}) })
server.on('error', (error: Error) => {
  process.stderr.write(`stock tracker: ${error.message}\n`)
  process.exit(1)
})
server.on('warning', () => undefined)
server.listen(0, { http: '127.0.0.1', udp: '127.0.0.1', udp6: '::1' }, () => {
  const http = (server.http!.address() as AddressInfo).port
  const udp = server.udp4!.address().port
  process.stdout.write(`Tracker listening on http://127.0.0.1:${http}/announce and udp://127.0.0.1:${udp}\n`)
})
const stop = () => {
  setTimeout(() => process.exit(0), 2000).unref()
  server.close(() => process.exit(0))
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
