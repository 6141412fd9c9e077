/**
 * A P2P application using ALTOkit's client: it gets candidate peers (here from the command line;
 * in a real client, from a tracker or PEX), asks ALTO which are best, and connects to the top
 * ones, keeping a fifth of them random so that no region is cut off (seed 000 §4.4.2).
 *
 *   node --import tsx examples/p2p-peer.ts http://127.0.0.1:8181/ 10.1.2.3 10.1.7.7:6881 10.6.0.1:6881 198.51.100.9:6881 …
 */
import { AltoClient, isAltoError } from '../src/index.ts'

const [irdUri, self, ...candidates] = process.argv.slice(2)
if (!irdUri || !self || candidates.length === 0) {
  console.error('usage: p2p-peer.ts IRD-URI SELF-ADDRESS CANDIDATE...')
  process.exit(2)
}

// One client for the application's lifetime: it caches the maps and revalidates them by ETag.
const alto = new AltoClient(irdUri, { timeoutMs: 2000, retries: 1 })

async function choosePeers(wanted: number) {
  try {
    const ranking = await alto.rankPeers(self!, candidates, { mode: 'map', randomFraction: 0.2, limit: wanted })
    // ALTO is advisory: without guidance the list is random, and the application goes on.
    if (!ranking.guided) console.error(`no ALTO guidance (${ranking.reason}); choosing at random`)
    return ranking.peers
  } catch (error) {
    // Only malformed addresses throw; a real client would drop the bad candidate.
    if (isAltoError(error)) console.error(error.message)
    throw error
  }
}

const peers = await choosePeers(5)
for (const peer of peers) {
  const why = peer.random ? 'random pick' : `cost ${peer.cost}`
  console.log(`connect ${peer.peer}  (${peer.pid ?? 'unknown PID'}, ${why})`)
}
await alto.close()
