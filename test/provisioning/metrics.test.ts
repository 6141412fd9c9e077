/**
 * Costs from operator data (seed 000 §4.2.1): distance from coordinates, money by link class, and
 * their weighted combination into routingcost, from a config file.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loadConfigText, locate } from '../../src/provisioning/config.ts'
import { buildSnapshot } from '../../src/provisioning/snapshot.ts'
import { SpecError } from '../../src/provisioning/spec.ts'
import { isAltoConfigError } from '../../src/protocol/errors.ts'

const CONFIG = `
network-maps:
  - id: m
    pids:
      waw: { ipv4: [10.1.0.0/16] }
      krk: { ipv4: [10.2.0.0/16] }
      transit: { ipv4: [0.0.0.0/0] }
cost-maps:
  - cost-metric: delay-rt
    intra-pid: 1
    costs:
      waw: { krk: 6, transit: 20 }
      krk: { waw: 6, transit: 24 }
      transit: { waw: 20, krk: 24 }
  - cost-metric: priv:geo-distance
    distance:
      coordinates: { waw: [52.23, 21.01], krk: [50.06, 19.94], transit: [50.11, 8.68] }
  - cost-metric: priv:monetary
    link-class:
      classes: { transit: transit }
      prices: { internal: 0, peering: 1, transit: 10 }
  - cost-metric: routingcost
    combine:
      scale: 100
      metrics:
        - { cost-metric: delay-rt, weight: 0.5 }
        - { cost-metric: priv:geo-distance, weight: 0.2 }
        - { cost-metric: priv:monetary, weight: 0.3 }
`

const load = (text: string) => loadConfigText(text, { file: 'alto.yaml', baseDir: '.' })

test('distance, link-class and combined costs', () => {
  const snapshot = buildSnapshot(load(CONFIG).network)
  const cost = (metric: string, src: string, dst: string) => {
    const served = snapshot.findCostMap('m', { 'cost-mode': 'numerical', 'cost-metric': metric })!
    return served.map.cost(served.networkMap.pidIndex(src), served.networkMap.pidIndex(dst))
  }
  const km = cost('priv:geo-distance', 'waw', 'krk')
  assert.ok(km > 245 && km < 260, `Warsaw-Kraków is about 252 km, got ${km}`)
  assert.equal(cost('priv:geo-distance', 'waw', 'waw'), 0)
  assert.equal(cost('priv:geo-distance', 'krk', 'waw'), km)
  assert.equal(cost('priv:monetary', 'waw', 'krk'), 0)
  assert.equal(cost('priv:monetary', 'waw', 'transit'), 10)
  assert.equal(cost('priv:monetary', 'transit', 'krk'), 10)
  // routingcost = 100 * (0.5 rtt/maxRtt + 0.2 km/maxKm + 0.3 money/maxMoney)
  const maxKm = Math.max(...['waw', 'krk', 'transit'].flatMap((a) => ['waw', 'krk', 'transit'].map((b) => cost('priv:geo-distance', a, b))))
  const expected = (a: string, b: string) => 100 * (0.5 * (cost('delay-rt', a, b) / 24) + 0.2 * (cost('priv:geo-distance', a, b) / maxKm) + 0.3 * (cost('priv:monetary', a, b) / 10))
  for (const [a, b] of [['waw', 'krk'], ['waw', 'transit'], ['krk', 'transit'], ['waw', 'waw']] as const) {
    assert.ok(Math.abs(cost('routingcost', a, b) - expected(a, b)) < 0.001, `${a}->${b}: ${cost('routingcost', a, b)} vs ${expected(a, b)}`)
  }
  assert.ok(cost('routingcost', 'waw', 'krk') < cost('routingcost', 'waw', 'transit'))
  // Each input is served as its own cost type, ordinal variants too.
  assert.deepEqual([...snapshot.costTypes.keys()].sort(), ['num-delay-rt', 'num-priv:geo-distance', 'num-priv:monetary', 'num-routingcost', 'ord-delay-rt', 'ord-priv:geo-distance', 'ord-priv:monetary', 'ord-routingcost'])
})

test('mistakes in metric sources are reported with their line', () => {
  const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1
  const unknownPid = CONFIG.replace('transit: [50.11, 8.68]', 'fra: [50.11, 8.68]')
  const config = load(unknownPid)
  try {
    buildSnapshot(config.network)
    assert.fail('expected an error')
  } catch (error) {
    assert.ok(error instanceof SpecError)
    assert.equal(locate(config, error.path).line, lineOf(unknownPid, 'fra: [50.11'))
    assert.match(error.message, /PID fra is not in network map m/)
  }
  const missingInput = CONFIG.replace('{ cost-metric: priv:monetary, weight: 0.3 }', '{ cost-metric: priv:latency, weight: 0.3 }')
  const config2 = load(missingInput)
  assert.throws(() => buildSnapshot(config2.network), (error: unknown) => error instanceof SpecError && locate(config2, error.path).line === lineOf(missingInput, 'priv:latency') && /no numerical priv:latency/.test(error.message))
  for (const [bad, message] of [
    [CONFIG.replace('[52.23, 21.01]', '[152.23, 21.01]'), /latitude, longitude/],
    [CONFIG.replace('transit: 10 }', 'transits: 10 }'), /unknown key/],
    [CONFIG.replace('weight: 0.5', 'weight: -1'), /must not be negative/],
    [CONFIG.replace('    distance:\n', '    costs: {}\n    distance:\n'), /not both/],
  ] as const) {
    assert.throws(() => load(bad), (error: unknown) => isAltoConfigError(error) && message.test(error.message) && /alto\.yaml:\d+/.test(error.message), String(message))
  }
})
