import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { parseAddress } from '../../src/netmap/address.ts'
import { NetworkMap } from '../../src/netmap/network-map.ts'
import { AltoConfigError } from '../../src/protocol/errors.ts'
import { configFiles, loadConfigText } from '../../src/provisioning/config.ts'
import { LibLocDatabase, LibLocFlag } from '../../src/provisioning/libloc.ts'
import { libLocPrefixes, type LibLocMapOptions } from '../../src/provisioning/libloc-map.ts'
import { loadNetwork } from '../../src/provisioning/load.ts'
import { startAlto } from '../helpers/cli.ts'
import { REAL_DB, realDatabase, writeLibLoc, type TestDatabase } from './libloc-build.ts'

const dir = mkdtempSync(join(tmpdir(), 'alto-libloc-config-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const NESTED: TestDatabase = {
  networks: [
    { prefix: '10.0.0.0/8', asn: 64500, country: 'DE' },
    { prefix: '10.2.0.0/16', asn: 64500, country: 'DE' }, // same AS as around it
    { prefix: '10.2.3.0/24', asn: 64501, country: 'DE' },
    { prefix: '10.2.3.128/25', asn: 64500, country: 'FR' }, // back to the outer AS
    { prefix: '10.3.0.0/16', country: 'DE', flags: LibLocFlag.drop }, // no AS
    { prefix: '192.0.2.0/24', asn: 64502 }, // no country
    { prefix: '2001:db8::/32', asn: 64500, country: 'nl' }, // lower case in the file
    { prefix: '2001:db8:5::/48', asn: 64503, country: 'NL' },
  ],
}
const nested = LibLocDatabase.fromBytes(writeLibLoc(NESTED).bytes)
const nestedFile = join(dir, 'nested.db')
writeFileSync(nestedFile, writeLibLoc(NESTED).bytes)

function mapOf(options: LibLocMapOptions): NetworkMap {
  return NetworkMap.fromPrefixes('net', libLocPrefixes(nested, options).set)
}

function pidAt(map: NetworkMap, text: string): string | undefined {
  return map.lookup(parseAddress(text.includes(':') ? 'ipv6' : 'ipv4', text)!)
}

describe('libloc networks to PIDs', () => {
  test('one PID per AS, nested networks resolved by longest prefix; AS 0 left out without a default PID', () => {
    const { set, summary } = libLocPrefixes(nested, { pid: 'asn' })
    const map = NetworkMap.fromPrefixes('net', set)
    assert.deepEqual(map.pids, ['as64500', 'as64501', 'as64502', 'as64503'])
    assert.deepEqual(map.prefixesOf('as64500'), { ipv4: ['10.0.0.0/8', '10.2.3.128/25'], ipv6: ['2001:db8::/32'] })
    assert.equal(pidAt(map, '10.2.3.1'), 'as64501')
    assert.equal(pidAt(map, '10.2.3.200'), 'as64500')
    assert.equal(pidAt(map, '10.2.9.9'), 'as64500')
    assert.equal(pidAt(map, '10.3.0.1'), 'as64500') // its own network has no AS: the one around it answers
    assert.equal(pidAt(map, '2001:db8:5::1'), 'as64503')
    assert.equal(pidAt(map, '11.0.0.1'), undefined)
    assert.deepEqual(summary, { networks: 8, prefixes: { ipv4: 4, ipv6: 2 }, pids: 4, otherFamily: 0, leftOut: 1, toDefault: 0, aggregated: 1 })
  })

  test('aggregation leaves out networks that change no lookup', () => {
    const aggregated = mapOf({ pid: 'asn', defaultPid: 'unknown' })
    const every = mapOf({ pid: 'asn', defaultPid: 'unknown', aggregate: false })
    assert.deepEqual(every.prefixesOf('as64500').ipv4, ['10.0.0.0/8', '10.2.0.0/16', '10.2.3.128/25'])
    assert.deepEqual(aggregated.prefixesOf('as64500').ipv4, ['10.0.0.0/8', '10.2.3.128/25'])
    let seed = 7
    for (let i = 0; i < 20_000; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      const address = Uint8Array.of(10, (seed >>> 24) & 3, (seed >>> 16) & 7, seed & 0xff)
      assert.equal(aggregated.lookupIndex('ipv4', address), every.lookupIndex('ipv4', address))
    }
  })

  test('one PID per country, lower-cased; no country goes to the default PID, with catch-all everything resolves', () => {
    const map = mapOf({ pid: 'country', defaultPid: 'unknown', catchAll: true })
    assert.deepEqual(map.pids, ['country-de', 'country-fr', 'country-nl', 'unknown'])
    assert.equal(pidAt(map, '10.2.3.200'), 'country-fr')
    assert.equal(pidAt(map, '10.3.0.1'), 'country-de')
    assert.equal(pidAt(map, '192.0.2.1'), 'unknown')
    assert.equal(pidAt(map, '2001:db8:5::1'), 'country-nl')
    assert.equal(pidAt(map, '8.8.8.8'), 'unknown')
    assert.equal(map.coversEverything, true)
    // Left out: 10.2.0.0/16, 10.2.3.0/24 and 10.3.0.0/16 (DE inside DE), 192.0.2.0/24 (unknown
    // inside the catch-all 0.0.0.0/0), 2001:db8:5::/48 (NL inside NL); ::/0 is the catch-all's.
    assert.deepEqual(map.prefixesOf('unknown'), { ipv4: ['0.0.0.0/0'], ipv6: ['::/0'] })
    assert.deepEqual(map.prefixCounts, { ipv4: 3, ipv6: 2 })
  })

  test('a /0 network of the database wins over the catch-all', () => {
    const db = LibLocDatabase.fromBytes(writeLibLoc({ networks: [{ prefix: '::/0', country: 'EU' }, { prefix: '0.0.0.0/0' }, { prefix: '2001:db8::/32', country: 'EU' }] }).bytes)
    const map = NetworkMap.fromPrefixes('net', libLocPrefixes(db, { pid: 'country', defaultPid: 'unknown', catchAll: true }).set)
    assert.deepEqual(map.prefixesOf('country-eu'), { ipv6: ['::/0'] })
    assert.deepEqual(map.prefixesOf('unknown'), { ipv4: ['0.0.0.0/0'] })
  })

  test('only some ASes or countries; the rest to the default PID or left out', () => {
    const some = mapOf({ pid: 'asn', only: [64501, 'AS64503'], defaultPid: 'rest' })
    assert.deepEqual(some.pids, ['as64501', 'as64503', 'rest'])
    assert.equal(pidAt(some, '10.2.3.1'), 'as64501')
    assert.equal(pidAt(some, '10.2.3.200'), 'rest')
    assert.equal(pidAt(some, '10.9.9.9'), 'rest')
    const countries = mapOf({ pid: 'country', only: ['fr'] })
    assert.deepEqual(countries.pids, ['country-fr'])
    assert.equal(pidAt(countries, '10.2.3.200'), 'country-fr')
    assert.equal(pidAt(countries, '10.2.3.1'), undefined)
  })

  test('families', () => {
    const { set, summary } = libLocPrefixes(nested, { pid: 'asn', families: ['ipv6'] })
    assert.equal(set.ipv4, undefined)
    assert.equal(summary.otherFamily, 6)
    assert.deepEqual(NetworkMap.fromPrefixes('net', set).pids, ['as64500', 'as64503'])
  })
})

describe('libloc in a config file', () => {
  const write = (name: string, text: string): string => {
    const file = join(dir, name)
    writeFileSync(file, text)
    return file
  }
  const load = (yaml: string) => loadConfigText(yaml, { file: join(dir, 'alto.yaml'), baseDir: dir })
  function configError(yaml: string): AltoConfigError {
    try {
      load(yaml)
    } catch (error) {
      assert.ok(error instanceof AltoConfigError, `expected AltoConfigError, got ${String(error)}`)
      return error
    }
    assert.fail('the config was accepted')
  }
  const head = (libloc: string) => `network-maps:\n  - id: world\n    libloc:\n${libloc}`

  test('loads, names the database among the files to watch, and serves the same tag as the same map given as pids', () => {
    const config = load(head('      file: nested.db\n      pid: asn\n      default-pid: unknown\n      catch-all: true\n'))
    const spec = config.network.networkMaps[0]!
    assert.deepEqual(Object.keys(spec.pids).sort(), ['as64500', 'as64501', 'as64502', 'as64503', 'unknown'])
    assert.ok(spec.prefixes)
    assert.ok(configFiles(config).includes(nestedFile))

    const configFile = write('served.yaml', head(`      file: ${nestedFile}\n      pid: asn\n      default-pid: unknown\n      catch-all: true\n`))
    const map = loadNetwork({ config: configFile }).snapshot.networkMaps.get('world')!
    assert.equal(pidAt(map, '10.2.3.1'), 'as64501')
    assert.equal(pidAt(map, '10.3.0.1'), 'unknown')
    assert.equal(NetworkMap.fromData('world', map.toBody()['network-map']).vtag, map.vtag)
  })

  test('a cost map may name its PIDs, and is refused for a PID the database does not give', () => {
    const costs = (pid: string) => `cost-maps:\n  - cost-metric: routingcost\n    costs:\n      as64500: { ${pid}: 3 }\n`
    const yaml = head('      file: nested.db\n      pid: asn\n')
    assert.equal(load(yaml + costs('as64501')).network.costMaps.length, 1)
    const error = configError(yaml + costs('as99'))
    assert.equal(error.line, 9)
    assert.match(error.message, /PID "as99" is not in network map "world"/)
  })

  test('errors name the file, line and field', () => {
    const cases: [string, number, RegExp][] = [
      [head('      file: nested.db\n'), 3, /libloc\.pid: is missing/],
      [head('      file: nested.db\n      pid: as\n'), 5, /must be one of asn, country/],
      [head('      file: nested.db\n      pid: asn\n      defualt-pid: x\n'), 6, /unknown key \(did you mean "default-pid"\?\)/],
      [head('      pid: asn\n'), 3, /libloc\.file: is missing/],
      [head('      file: missing.db\n      pid: asn\n'), 4, /cannot read .*missing\.db: no such file/],
      [head('      file: alto.yaml\n      pid: asn\n'), 4, /is not a usable libloc database: not a libloc database/],
      [head('      file: nested.db\n      pid: country\n      only: [USA]\n'), 6, /libloc\.only\[0\]: must be a two-letter country code/],
      [head('      file: nested.db\n      pid: asn\n      only: [as13335x]\n'), 6, /is not an AS number/],
      [head('      file: nested.db\n      pid: asn\n      only: []\n'), 6, /must not be empty/],
      [head('      file: nested.db\n      pid: asn\n      catch-all: true\n'), 6, /needs default-pid/],
      [head('      file: nested.db\n      pid: asn\n      default-pid: as5\n'), 6, /has the form of the PIDs the database gives/],
      [head('      file: nested.db\n      pid: asn\n      families: [ipv5]\n'), 6, /must be one of ipv4, ipv6/],
      [head('      file: nested.db\n      pid: asn\n      only: [64999]\n'), 3, /gives no network for these options/],
      [`${head('      file: nested.db\n      pid: asn\n')}    pids: { a: {} }\n`, 6, /give one of pids, file and libloc/],
      ['network-maps:\n  - libloc: { file: nested.db, pid: asn }\n', 2, /id: is missing \(required with libloc\)/],
    ]
    writeFileSync(join(dir, 'alto.yaml'), 'not a database\n')
    for (const [yaml, line, message] of cases) {
      const error = configError(yaml)
      assert.equal(error.file, join(dir, 'alto.yaml'), yaml)
      assert.equal(error.line, line, `${yaml}\n${error.message}`)
      assert.match(error.message, message)
    }
  })

  test('a damaged database is an error at its file: line', () => {
    const { bytes, layout } = writeLibLoc({ networks: [{ prefix: '10.0.0.0/8', asn: 1 }] })
    new DataView(bytes.buffer).setUint32(layout.tree + 12 * layout.nodeOf[0]!, 1) // a cycle
    writeFileSync(join(dir, 'cycle.db'), bytes)
    const error = configError(head('      pid: asn\n      file: cycle.db\n'))
    assert.equal(error.line, 5)
    assert.match(error.message, /cycle\.db is not a usable libloc database: node 1 is reached twice .* \(byte \d+\)/)
  })
})

describe('alto serve --config with a libloc network map (the real database)', () => {
  test('answers endpoint cost and endpoint property queries for known addresses', async (t) => {
    realDatabase() // fails with what to install when the database is missing
    const config = join(dir, 'serve.yaml')
    writeFileSync(
      config,
      [
        'network-maps:',
        '  - id: world',
        '    libloc:',
        `      file: ${REAL_DB}`,
        '      pid: asn',
        '      only: [13335, 15169]',
        '      default-pid: other',
        '      catch-all: true',
        'cost-maps:',
        '  - cost-metric: routingcost',
        '    intra-pid: 1',
        '    default: 10',
        '    costs:',
        '      as13335: { as15169: 5 }',
        '',
      ].join('\n'),
    )
    const server = await startAlto(['serve', '--config', config, '--port', '0', '--log-level', 'warn'])
    t.after(() => server.child.kill('SIGTERM'))
    const ird = (await (await fetch(server.url)).json()) as { resources: Record<string, { uri: string; 'media-type': string; accepts?: string }> }
    const find = (accepts: string) => Object.values(ird.resources).find((r) => r.accepts === accepts)!.uri
    const post = async (accepts: string, body: unknown) => {
      const response = await fetch(new URL(find(accepts), server.url), { method: 'POST', headers: { 'content-type': accepts }, body: JSON.stringify(body) })
      assert.equal(response.status, 200, await response.clone().text())
      return (await response.json()) as Record<string, unknown>
    }

    const ecs = await post('application/alto-endpointcostparams+json', {
      'cost-type': { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' },
      endpoints: { srcs: ['ipv4:1.1.1.1'], dsts: ['ipv4:8.8.8.8', 'ipv6:2a00:1450::1', 'ipv4:1.0.0.1', 'ipv4:192.0.2.1'] },
    })
    assert.deepEqual(ecs['endpoint-cost-map'], { 'ipv4:1.1.1.1': { 'ipv4:8.8.8.8': 5, 'ipv6:2a00:1450::1': 5, 'ipv4:1.0.0.1': 1, 'ipv4:192.0.2.1': 10 } })

    const eps = await post('application/alto-endpointpropparams+json', { properties: ['world.pid'], endpoints: ['ipv4:1.1.1.1', 'ipv6:2a00:1450::1', 'ipv4:192.0.2.1'] })
    assert.deepEqual(eps['endpoint-properties'], {
      'ipv4:1.1.1.1': { 'world.pid': 'as13335' },
      'ipv6:2a00:1450::1': { 'world.pid': 'as15169' },
      'ipv4:192.0.2.1': { 'world.pid': 'other' },
    })
  })
})
