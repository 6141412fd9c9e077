/**
 * Building snapshots from specs: what is served, and errors located by spec path.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildSnapshot } from '../../src/provisioning/snapshot.ts'
import { SpecError, type NetworkSpec } from '../../src/provisioning/spec.ts'
import { parseTypedAddress } from '../../src/netmap/address.ts'

function spec(): NetworkSpec {
  return {
    networkMaps: [{ id: 'm', pids: { A: { ipv4: ['10.0.0.0/8'] }, B: { ipv4: ['0.0.0.0/0'], ipv6: ['::/0'] } } }],
    costMaps: [{ networkMap: 'm', metric: 'routingcost', costs: { A: { B: 5 } }, intraPid: 1 }],
    properties: [{ name: 'priv:region', prefixes: { '10.1.0.0/16': 'north' }, pids: { networkMap: 'm', values: { A: 'core', B: 'world' } } }],
  }
}

function specError(mutate: (s: NetworkSpec) => void): SpecError {
  const s = spec()
  mutate(s)
  try {
    buildSnapshot(s)
  } catch (error) {
    assert.ok(error instanceof SpecError, String(error))
    return error
  }
  assert.fail('expected a SpecError')
}

test('a snapshot holds the maps, numerical and ordinal cost types, and properties', () => {
  const snapshot = buildSnapshot(spec())
  assert.equal(snapshot.defaultNetworkMap.resourceId, 'm')
  assert.deepEqual([...snapshot.costTypes.keys()], ['num-routingcost', 'ord-routingcost'])
  assert.equal(snapshot.findCostMap('m', { 'cost-mode': 'ordinal', 'cost-metric': 'routingcost' })?.name, 'ord-routingcost')
  assert.equal(snapshot.findCostMap('m', { 'cost-mode': 'numerical', 'cost-metric': 'hopcount' }), undefined)
  const region = snapshot.properties.get('priv:region')!
  assert.equal(region.lookup(parseTypedAddress('ipv4:10.1.2.3')!), 'north', 'prefix first')
  assert.equal(region.lookup(parseTypedAddress('ipv4:10.2.2.3')!), 'core', 'then by PID')
  assert.equal(region.lookup(parseTypedAddress('ipv6:2001:db8::1')!), 'world')
})

test('errors carry the path of the offending value', () => {
  assert.deepEqual(specError((s) => (s.networkMaps[0]!.pids.B!.ipv4 = ['10.0.0.0/8'])).path, ['network-maps', 0, 'pids', 'B', 'ipv4', 0])
  assert.deepEqual(specError((s) => (s.networkMaps[0]!.pids.A!.ipv4 = ['10.0.0.1/8'])).path, ['network-maps', 0, 'pids', 'A', 'ipv4', 0])
  assert.deepEqual(specError((s) => (s.networkMaps[0]!.id = 'bad.id')).path, ['network-maps', 0, 'id'])
  assert.deepEqual(specError((s) => (s.networkMaps[0]!.vtag = 'has space')).path, ['network-maps', 0, 'vtag'])
  assert.deepEqual(specError((s) => (s.costMaps[0]!.costs = { A: { Z: 1 } })).path, ['cost-maps', 0, 'costs', 'A', 'Z'])
  assert.deepEqual(specError((s) => (s.costMaps[0]!.networkMap = 'nope')).path, ['cost-maps', 0, 'network-map'])
  assert.deepEqual(specError((s) => s.costMaps.push({ networkMap: 'm', metric: 'routingcost', costs: {}, name: 'other' })).path, ['cost-maps', 1, 'name'])
  assert.deepEqual(specError((s) => s.costMaps.push({ networkMap: 'm', metric: 'hopcount', costs: {}, name: 'num-routingcost' })).path, ['cost-maps', 1, 'name'])
  assert.deepEqual(specError((s) => (s.properties[0]!.prefixes = { '10.0.0.0/33': 'x' })).path, ['endpoint-properties', 'priv:region', 'prefixes', '10.0.0.0/33'])
  assert.deepEqual(specError((s) => (s.properties[0]!.pids!.values = { Q: 'x' })).path, ['endpoint-properties', 'priv:region', 'pids', 'values', 'Q'])
  assert.deepEqual(specError((s) => (s.properties[0]!.name = 'has.dot')).path, ['endpoint-properties', 'has.dot'])
  assert.deepEqual(specError((s) => (s.networkMaps = [])).path, ['network-maps'])
})

test('the same cost type name may serve the same type on several network maps', () => {
  const s = spec()
  s.networkMaps.push({ id: 'n', pids: { X: { ipv4: ['0.0.0.0/0'] } } })
  s.costMaps.push({ networkMap: 'n', metric: 'routingcost', costs: { X: { X: 0 } } })
  const snapshot = buildSnapshot(s)
  assert.equal(snapshot.costMaps.length, 4)
  assert.equal(snapshot.costTypes.size, 2)
})
