import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { LineCounter, parseDocument } from 'yaml'
import { AltoConfigError } from '../../src/protocol/errors.ts'
import { configSource, Source } from '../../src/provisioning/config-source.ts'
import { formatSpecPath, loadConfigFile, loadConfigText, locate, rfcCostMapToSpec, rfcNetworkMapToSpec } from '../../src/provisioning/config.ts'
import type { NetworkSpec } from '../../src/provisioning/spec.ts'

const FIXTURES = fileURLToPath(new URL('../fixtures/config/', import.meta.url))
const RFC = fileURLToPath(new URL('../fixtures/rfc7285/', import.meta.url))
const fixture = (name: string): string => join(FIXTURES, name)
const readJson = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'))

function configError(fn: () => unknown): AltoConfigError {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof AltoConfigError, `expected AltoConfigError, got ${String(error)}`)
    return error
  }
  assert.fail('expected an AltoConfigError')
}

test('a config using every key loads to the expected server options and spec', () => {
  const config = loadConfigFile(fixture('full.yaml'))
  assert.deepEqual(config.server, {
    host: '0.0.0.0',
    port: 8443,
    publicUrl: 'https://alto.example.net/',
    tls: { cert: readFileSync(fixture('tls/server.crt'), 'utf8'), key: readFileSync(fixture('tls/server.key'), 'utf8') },
    auth: {
      realm: 'ALTO',
      users: [
        {
          name: 'alice',
          passwordHash: 'scrypt$16384$8$1$skEWpmRoxFWADO7Y9jV+2A==$t+VFWIEqwl6E+01EO7JQIR1vJbF3F7KZRaL0SCEdJchCa7tSf5i3vLXZ8oSi28yrDLYx9alnTn9AedG3L2jqBA==',
        },
      ],
    },
    access: { allow: ['10.0.0.0/8', '2001:db8::/32', '127.0.0.0/8', '::1/128'] },
    limits: {
      bodyBytes: 65536,
      headerTimeoutMs: 5000,
      requestTimeoutMs: 20000,
      rateLimit: { max: 100, windowMs: 1000 },
      overload: { maxEventLoopDelayMs: 500, maxInFlight: 0, retryAfterS: 2 },
    },
    admin: { host: '127.0.0.1', port: 9181 },
    logLevel: 'debug',
    answerCacheBytes: 33554432,
  })
  const expected: NetworkSpec = {
    networkMaps: [
      {
        id: 'my-default-network-map',
        vtag: '42',
        pids: {
          PID1: { ipv4: ['192.0.2.0/24', '198.51.100.0/25'] },
          PID2: { ipv4: ['198.51.100.128/25'] },
          PID3: { ipv4: ['0.0.0.0/0'], ipv6: ['::/0'] },
        },
        path: ['network-maps', 0, 'pids'],
      },
      {
        id: 'sites-network-map',
        vtag: 'c0ffee',
        pids: {
          krakow: { ipv4: ['10.32.0.0/12'], ipv6: ['2001:db8:200::/40'] },
          warszawa: { ipv4: ['10.16.0.0/12'] },
          rest: { ipv4: ['0.0.0.0/0'], ipv6: ['::/0'] },
        },
        path: ['network-maps', 1, 'pids'],
      },
    ],
    costMaps: [
      {
        networkMap: 'my-default-network-map',
        metric: 'routingcost',
        name: 'num-routing',
        ordinal: true,
        ordinalName: 'ord-routing',
        description: 'RTT-based routing cost',
        intraPid: 1,
        default: 100,
        costs: { PID1: { PID2: 5, PID3: 10 }, PID2: { PID1: 5, PID3: 15 }, PID3: { PID1: 20, PID2: 15 } },
        path: ['cost-maps', 0, 'costs'],
      },
      {
        networkMap: 'my-default-network-map',
        metric: 'hopcount',
        ordinal: false,
        costs: { PID1: { PID2: 2 } },
        path: ['cost-maps', 1, 'costs'],
      },
      {
        networkMap: 'sites-network-map',
        metric: 'delay-ow',
        name: 'num-delay',
        description: 'one-way delay in ms',
        costs: {
          krakow: { krakow: 0.5, warszawa: 2.3, rest: 20 },
          warszawa: { krakow: 2.3, warszawa: 0.5, rest: 19 },
          rest: { krakow: 20, warszawa: 19 },
        },
        path: ['cost-maps', 2, 'costs'],
      },
    ],
    properties: [
      {
        name: 'priv:ietf-example-prop',
        prefixes: { '192.0.2.34/32': '1' },
        pids: { networkMap: 'my-default-network-map', values: { PID1: 'north', PID2: '' } },
        path: ['endpoint-properties', 'priv:ietf-example-prop'],
      },
      {
        name: 'priv:site',
        pids: { networkMap: 'my-default-network-map', values: { PID3: 'elsewhere' } },
        path: ['endpoint-properties', 'priv:site'],
      },
    ],
  }
  assert.deepEqual(config.network, expected)
})

test('the example in docs/config.md loads', () => {
  const markdown = readFileSync(fileURLToPath(new URL('../../docs/config.md', import.meta.url)), 'utf8')
  const example = /```yaml\n([\s\S]*?)```/.exec(markdown)?.[1]
  assert.ok(example, 'docs/config.md has a yaml example')
  // The example's tls/server.crt and tls/server.key exist among the fixtures.
  const config = loadConfigText(example, { file: 'docs/config.md', baseDir: FIXTURES })
  assert.equal(config.network.networkMaps[0]?.id, 'my-default-network-map')
  assert.equal(config.network.costMaps[0]?.networkMap, 'my-default-network-map')
  assert.equal(config.server.logLevel, 'info')
})

test('a minimal config needs only a network map', () => {
  const config = loadConfigText('network-maps:\n  - id: net\n    pids: { all: { ipv4: [0.0.0.0/0] } }\n', { file: 'min.yaml', baseDir: '.' })
  assert.deepEqual(config, {
    server: {},
    network: {
      networkMaps: [{ id: 'net', pids: { all: { ipv4: ['0.0.0.0/0'] } }, path: ['network-maps', 0, 'pids'] }],
      costMaps: [],
      properties: [],
    },
  })
})

// Each bad-*.yaml fixture states in its first four lines the line, field, message (its start)
// and file ("-": the fixture itself) that the error must name.
for (const name of readdirSync(FIXTURES).filter((f) => f.startsWith('bad-') && f.endsWith('.yaml')).sort()) {
  const header = readFileSync(fixture(name), 'utf8').split('\n').slice(0, 4)
  const expect = Object.fromEntries(header.map((line) => /^# expect-([a-z]+): ?(.*)$/.exec(line)?.slice(1, 3) ?? []))
  const { line = '', field = '', message = '', file = '' } = expect as Record<string, string | undefined>
  test(`${name}: ${field || '(no field)'} ${message}`, () => {
    const error = configError(() => loadConfigFile(fixture(name)))
    const expectedFile = file === '-' ? fixture(name) : fixture(file)
    assert.equal(error.file, expectedFile)
    assert.equal(error.line, line === 'none' ? undefined : Number(line))
    assert.equal(error.field ?? '', field)
    const where = [expectedFile, line === 'none' ? undefined : line].filter((x) => x !== undefined).join(':')
    const prefix = `${where}: ${field ? `${field}: ` : ''}`
    const expectedMessage = message.replaceAll('{dir}', FIXTURES.replace(/\/$/, ''))
    assert.ok(error.message.startsWith(prefix + expectedMessage), `message was: ${error.message}`)
  })
}

test('an unknown key far from every known key gets no suggestion', () => {
  const error = configError(() => loadConfigFile(fixture('bad-unknown-key-top.yaml')))
  assert.match(error.message, /colour: unknown key$/)
})

test('an unreadable config file is named', () => {
  const error = configError(() => loadConfigFile(fixture('no-such.yaml')))
  assert.equal(error.file, fixture('no-such.yaml'))
  assert.match(error.message, /cannot read config file: no such file/)
})

test('referenced files resolve against baseDir', () => {
  const text = readFileSync(fixture('full.yaml'), 'utf8')
  assert.equal(loadConfigText(text, { file: 'inline.yaml', baseDir: FIXTURES }).network.networkMaps[1]?.id, 'sites-network-map')
  const error = configError(() => loadConfigText(text, { file: 'inline.yaml', baseDir: '/nonexistent' }))
  assert.equal(error.file, 'inline.yaml')
  assert.equal(error.line, 7)
  assert.match(error.message, /server\.tls\.cert: cannot read \/nonexistent\/tls\/server\.crt: no such file/)
})

test('a checked file lets go of its parsed document and finds lines again from its text', () => {
  const text = readFileSync(fixture('locate.yaml'), 'utf8')
  const lines = new LineCounter()
  const src = new Source('locate.yaml', text, { doc: parseDocument(text, { lineCounter: lines }), lines })
  const paths = [['network-maps', 0, 'pids', 'PID1', 'ipv4', 1], ['network-maps', 0, 'pids', 'PID2'], ['network-maps', 1, 'file']]
  const before = paths.map((path) => src.line(path))
  assert.deepEqual(before.slice(0, 2), [9, 10])
  src.release()
  assert.deepEqual(paths.map((path) => src.line(path)), before)
  // A source without its text keeps its document: there would be nothing to parse again.
  const ownLines = new LineCounter()
  const kept = new Source('x.yaml', undefined, { doc: parseDocument('a:\n  b: 1\n', { lineCounter: ownLines }), lines: ownLines })
  kept.release()
  assert.equal(kept.line(['a', 'b']), 2)
})

test('a loaded config does not hold its parsed YAML document, and still locates lines', () => {
  const config = loadConfigFile(fixture('locate.yaml'))
  assert.equal(configSource(config)?.holdsDocument, false)
  assert.equal(locate(config, ['network-maps', 0, 'pids', 'PID1', 'ipv4', 1]).line, 9)
})

test('locate maps spec paths to lines of the config', () => {
  const config = loadConfigFile(fixture('locate.yaml'))
  const file = fixture('locate.yaml')
  const cases: [readonly (string | number)[], number, string][] = [
    [['network-maps', 0, 'pids', 'PID1', 'ipv4', 1], 9, 'network-maps[0].pids.PID1.ipv4[1]'],
    [['network-maps', 0, 'pids', 'PID2', 'ipv4', 1], 10, 'network-maps[0].pids.PID2.ipv4[1]'],
    [['network-maps', 0, 'id'], 4, 'network-maps[0].id'],
    [['cost-maps', 0, 'costs', 'PID1', 'PID2'], 17, 'cost-maps[0].costs.PID1.PID2'],
    [['cost-maps', 0, 'costs', 'PID2', 'PID1'], 18, 'cost-maps[0].costs.PID2.PID1'],
    [['endpoint-properties', 'priv:region', 'prefixes', '192.0.2.0/24'], 23, 'endpoint-properties.priv:region.prefixes["192.0.2.0/24"]'],
    [['endpoint-properties', 'priv:region', 'prefixes', '10.0.0.0/33'], 24, 'endpoint-properties.priv:region.prefixes["10.0.0.0/33"]'],
    // The deepest node that exists: PID1's row, the cost map entry, the whole list.
    [['cost-maps', 0, 'costs', 'PID1', 'PID3'], 16, 'cost-maps[0].costs.PID1.PID3'],
    [['cost-maps', 0, 'network-map'], 14, 'cost-maps[0].network-map'],
    [['network-maps', 0, 'pids', 'PID1', 'ipv4', 7], 7, 'network-maps[0].pids.PID1.ipv4[7]'],
  ]
  for (const [path, line, field] of cases) assert.deepEqual(locate(config, path), { file, line, field }, field)
  // A config copied with other server options still locates (the network spec is the same object).
  assert.deepEqual(locate({ ...config, server: { port: 1 } }, ['cost-maps', 0, 'costs', 'PID2', 'PID1']), { file, line: 18, field: 'cost-maps[0].costs.PID2.PID1' })
})

test('locate names the RFC 7285 JSON file a map came from, with its line and JSON field', () => {
  const config = loadConfigFile(fixture('locate.yaml'))
  assert.deepEqual(locate(config, ['network-maps', 1, 'pids', 'west', 'ipv4', 1]), {
    file: fixture('maps/network-map-semantic.json'),
    line: 10,
    field: 'network-map.west.ipv4[1]',
  })
  assert.deepEqual(locate(config, ['network-maps', 1, 'id']), { file: fixture('locate.yaml'), line: 11, field: 'network-maps[1].id' })
  const full = loadConfigFile(fixture('full.yaml'))
  assert.deepEqual(locate(full, ['cost-maps', 2, 'costs', 'warszawa', 'rest']), {
    file: fixture('maps/cost-map.json'),
    line: 8,
    field: 'cost-map.warszawa.rest',
  })
})

test('locate on a config the loader did not make names no line', () => {
  const config = { server: {}, network: { networkMaps: [], costMaps: [], properties: [] } }
  assert.deepEqual(locate(config, ['network-maps', 0]), { file: '<unknown>', field: 'network-maps[0]' })
})

test('rfcNetworkMapToSpec reads the RFC 7285 §11.2.1.7 example', () => {
  assert.deepEqual(rfcNetworkMapToSpec(readJson(join(RFC, 'network-map.json')), 'network-map.json'), {
    id: 'my-default-network-map',
    vtag: 'da65eca2eb7a10ce8b059740b0b2e3f8eb1d4785',
    pids: {
      PID1: { ipv4: ['192.0.2.0/24', '198.51.100.0/25'] },
      PID2: { ipv4: ['198.51.100.128/25'] },
      PID3: { ipv4: ['0.0.0.0/0'], ipv6: ['::/0'] },
    },
  })
})

test('rfcCostMapToSpec reads the RFC 7285 §11.2.3.7 example', () => {
  assert.deepEqual(rfcCostMapToSpec(readJson(join(RFC, 'cost-map.json')), 'cost-map.json'), {
    networkMap: 'my-default-network-map',
    metric: 'routingcost',
    costs: {
      PID1: { PID1: 1, PID2: 5, PID3: 10 },
      PID2: { PID1: 5, PID2: 1, PID3: 15 },
      PID3: { PID1: 20, PID2: 15 },
    },
  })
})

test('RFC 7285 bodies with structural errors name the file and JSON field', () => {
  const cases: [() => unknown, string][] = [
    [() => rfcNetworkMapToSpec([], 'a.json'), 'a.json: must be a mapping, not a list'],
    [() => rfcNetworkMapToSpec({ 'network-map': {} }, 'a.json'), 'a.json: meta: is missing (required)'],
    [
      () => rfcNetworkMapToSpec({ meta: { vtag: { 'resource-id': 'm', tag: '1' } }, 'network-map': { P: { ipv4: '10.0.0.0/8' } } }, 'a.json'),
      'a.json: network-map.P.ipv4: must be a list, not the string "10.0.0.0/8"',
    ],
    [
      () => rfcNetworkMapToSpec({ meta: { vtag: { 'resource-id': 'bad.id', tag: '1' } }, 'network-map': {} }, 'a.json'),
      'a.json: meta.vtag.resource-id: "bad.id" is not a valid resource id',
    ],
    [
      () => rfcCostMapToSpec({ meta: { 'dependent-vtags': [], 'cost-type': {} }, 'cost-map': {} }, 'c.json'),
      'c.json: meta.dependent-vtags: must not be empty',
    ],
    [
      () =>
        rfcCostMapToSpec(
          { meta: { 'dependent-vtags': [{ 'resource-id': 'm', tag: '1' }], 'cost-type': { 'cost-mode': 'ordinal', 'cost-metric': 'routingcost' } }, 'cost-map': {} },
          'c.json',
        ),
      'c.json: meta.cost-type.cost-mode: is ordinal: provide the numerical cost map',
    ],
    [
      () =>
        rfcCostMapToSpec(
          { meta: { 'dependent-vtags': [{ 'resource-id': 'm', tag: '1' }], 'cost-type': { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' } }, 'cost-map': { A: { B: -1 } } },
          'c.json',
        ),
      'c.json: cost-map.A.B: must not be negative',
    ],
  ]
  for (const [fn, message] of cases) {
    const error = configError(fn)
    assert.equal(error.line, undefined)
    assert.ok(error.message.startsWith(message), `message was: ${error.message}`)
  }
})

test('formatSpecPath writes fields the way the messages name them', () => {
  assert.equal(formatSpecPath(['cost-maps', 1, 'costs', 'PID1', 'PID9']), 'cost-maps[1].costs.PID1.PID9')
  assert.equal(formatSpecPath(['endpoint-properties', 'priv:x', 'prefixes', '192.0.2.0/24']), 'endpoint-properties.priv:x.prefixes["192.0.2.0/24"]')
  assert.equal(formatSpecPath([]), '')
})
