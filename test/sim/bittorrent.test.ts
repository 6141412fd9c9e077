/**
 * The BitTorrent scenario on small swarms over the default network: bytes are conserved, ALTO
 * policies keep traffic inside PIDs, and a seed gives one result wherever the runs execute.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loadNetwork } from '../../src/provisioning/load.ts'
import { runBittorrent } from '../../src/sim/scenarios/bittorrent.ts'
import type { SimNetwork } from '../../src/sim/network.ts'

function defaultNetwork(): SimNetwork {
  const { snapshot, source } = loadNetwork({})
  const networkMap = snapshot.defaultNetworkMap
  const costMap = snapshot.findCostMap(networkMap.resourceId, { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' })!.map
  return { networkMap, costMap, source }
}

const network = defaultNetwork()
const small = { network, peers: 300, fileSize: 4 * 2 ** 20, pieceSize: 128 * 2 ** 10, workers: 0 }

test('every byte uploaded is downloaded, and every peer completes the file', async () => {
  const r = await runBittorrent({ ...small, policies: ['random', 'peer-alto', 'tracker-alto-0', 'tracker-alto-20'], seed: 4 })
  for (const o of r.summary.outcomes) {
    assert.equal(o.completed, 1, o.policy)
    assert.ok(Math.abs(o.uploaded - o.downloaded) <= 1, `${o.policy}: ${o.uploaded} up, ${o.downloaded} down`)
    assert.equal(o.useful, o.downloaded, o.policy)
    assert.equal(o.downloaded, 300 * 4 * 2 ** 20, o.policy)
    assert.ok(Math.abs(o.bytes - o.downloaded) <= 1, o.policy)
  }
})

test('ALTO policies lower cross-PID traffic and its cost against the random tracker', async () => {
  const r = await runBittorrent({ ...small, policies: ['random', 'peer-alto', 'tracker-alto-20', 'tracker-alto-50'], seed: 9 })
  const by = Object.fromEntries(r.summary.outcomes.map((o) => [o.policy, o]))
  const random = by.random!
  assert.ok(random.crossPidShare > 0.85, `random crosses PIDs for ${random.crossPidShare}`)
  assert.ok(by['peer-alto']!.crossPidShare < random.crossPidShare)
  // About 18 peers a PID: the tracker fills lists from the next cheapest PIDs.
  assert.ok(by['tracker-alto-20']!.crossPidShare < 0.75 * random.crossPidShare, String(by['tracker-alto-20']!.crossPidShare))
  // More random peers, more traffic between PIDs.
  assert.ok(by['tracker-alto-20']!.crossPidShare < by['tracker-alto-50']!.crossPidShare)
  for (const id of ['peer-alto', 'tracker-alto-20', 'tracker-alto-50']) {
    assert.ok(by[id]!.costPerByte < random.costPerByte, id)
    assert.ok(by[id]!.crossIspShare <= random.crossIspShare, id)
  }
  // The PID without seeders still completes.
  for (const o of r.summary.outcomes) assert.equal(o.seedlessPid.completed, 1, o.policy)
})

test('the same seed gives identical JSON, in this thread or in worker threads', async () => {
  const options = { ...small, peers: 120, policies: ['random', 'tracker-alto-20'], seed: 21 }
  const a = JSON.stringify(await runBittorrent(options))
  const b = JSON.stringify(await runBittorrent(options))
  const c = JSON.stringify(await runBittorrent({ ...options, workers: 2 }))
  const d = JSON.stringify(await runBittorrent({ ...options, seed: 22 }))
  assert.equal(a, b)
  assert.equal(a, c)
  assert.notEqual(a, d)
})

test('bad options are refused', async () => {
  await assert.rejects(runBittorrent({ network, peers: 1 }), RangeError)
  await assert.rejects(runBittorrent({ network, policies: ['nearest'] }), RangeError)
  await assert.rejects(runBittorrent({ network, fileSize: 2 ** 30, pieceSize: 2 ** 10 }), RangeError)
})
