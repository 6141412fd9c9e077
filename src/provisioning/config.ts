/**
 * @module provisioning/config
 * Loads a config file (docs/config.md) into an {@link AltoConfig}. This file is the schema: the
 * sections and keys of the file, their defaults and cross-references, built from the checks in
 * config-source.ts, so that every error names file, line and field. Checks that need the prefix
 * parser are left to buildSnapshot, whose SpecError paths {@link locate} maps back to the file and
 * line they came from (the config, or an RFC 7285 JSON file it references).
 */
import { readFileSync } from 'node:fs'
import { isIPv4, isIPv6 } from 'node:net'
import { dirname } from 'node:path'
import { LineCounter, parseDocument } from 'yaml'
import { AltoConfigError } from '../protocol/errors.ts'
import { isValidPropertyName } from '../protocol/names.ts'
import type { AddressType, CostMapData, NetworkMapData } from '../protocol/types.ts'
import {
  anyString,
  boolean,
  cost,
  costMetric,
  costTypeName,
  type Ctx,
  describe,
  didYouMean,
  failureReason,
  fields,
  integer,
  list,
  listOf,
  mapping,
  need,
  oneOf,
  type Origins,
  pidName,
  readJson,
  readReferenced,
  recordOrigins,
  resourceId,
  Source,
  text,
  versionTag,
  keyFile,
} from './config-source.ts'
import { metricSource, SOURCE_KEYS } from './config-metrics.ts'
import { bgpSection } from './config-bgp.ts'
import { libLocNetworkMap } from './config-libloc.ts'
import type { AltoConfig, CostMapSpec, NetworkMapSpec, NetworkSpec, PropertySpec, ServerConfig, SpecPath } from './spec.ts'

// Kept importable from here, where load.ts and the tests have always found them.
export { formatSpecPath, locate } from './config-source.ts'

// ---------------------------------------------------------------------------------------------
// The server section.

function pemFile(value: unknown, path: SpecPath, ctx: Ctx): string {
  const { file, content } = readReferenced(value, path, ctx)
  if (!content.includes('-----BEGIN ')) ctx.src.fail(path, `${file} is not a PEM file (no -----BEGIN line)`)
  return content
}

function httpUrl(value: unknown, path: SpecPath, ctx: Ctx): string {
  const url = text(value, path, ctx)
  let protocol = ''
  try {
    protocol = new URL(url).protocol
  } catch {
    // reported below
  }
  if (protocol !== 'http:' && protocol !== 'https:') ctx.src.fail(path, `${JSON.stringify(url)} is not an http:// or https:// URL`)
  return url
}

function addressPrefix(value: unknown, path: SpecPath, ctx: Ctx): string {
  const prefix = text(value, path, ctx)
  const [address = '', length, extra] = prefix.split('/')
  const bits = isIPv4(address) ? 32 : isIPv6(address) ? 128 : 0
  if (bits === 0 || extra !== undefined || length === undefined || !/^\d{1,3}$/.test(length) || Number(length) > bits) {
    ctx.src.fail(path, `${JSON.stringify(prefix)} is not an address prefix like 10.0.0.0/8 or 2001:db8::/32`)
  }
  return prefix
}

// The form `alto hash-password` writes: scrypt$N$r$p$salt$hash, salt and hash in base64.
const SCRYPT_HASH = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/

function passwordHash(value: unknown, path: SpecPath, ctx: Ctx): string {
  const hash = text(value, path, ctx)
  const [, n = 0, r = 0, p = 0] = (SCRYPT_HASH.exec(hash) ?? []).map(Number)
  if (!(n > 1 && Number.isInteger(Math.log2(n)) && r > 0 && p > 0)) {
    ctx.src.fail(path, 'must have the form scrypt$N$r$p$salt$hash (N a power of 2, salt and hash in base64), as `alto hash-password` prints')
  }
  return hash
}

function userName(value: unknown, path: SpecPath, ctx: Ctx): string {
  const name = text(value, path, ctx)
  // RFC 7617 §2: the user-id of Basic authentication cannot contain a colon.
  if (name.includes(':')) ctx.src.fail(path, 'must not contain ":" (RFC 7617 §2)')
  return name
}

type User = { name: string; passwordHash: string }
function users(value: unknown, path: SpecPath, ctx: Ctx): User[] {
  const all = listOf(fields<User>({ name: userName, 'password-hash': passwordHash }, ['name', 'password-hash']), true)(value, path, ctx)
  all.forEach((user, i) => {
    if (all.findIndex((u) => u.name === user.name) < i) ctx.src.fail([...path, i, 'name'], `user ${JSON.stringify(user.name)} is listed twice`)
  })
  return all
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
const port = integer(0, 65535)
const positive = integer(1)

/** The largest answer cache `server.answer-cache-bytes` sets up (16 GiB; its tables of sightings then take 128 MiB). */
export const MAX_ANSWER_CACHE_BYTES = 2 ** 34

/** The most worker processes `server.workers` (and `alto serve --workers`) accept. */
export const MAX_WORKERS = 1024

function workers(value: unknown, path: SpecPath, ctx: Ctx): number | 'auto' {
  if (value === 'auto') return value
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_WORKERS) {
    ctx.src.fail(path, `must be an integer from 1 to ${MAX_WORKERS}, or auto (one per core), not ${describe(value)}`)
  }
  return value
}

const serverSection = fields<ServerConfig>({
  host: text,
  port,
  'public-url': httpUrl,
  tls: fields({ cert: pemFile, key: pemFile }, ['cert', 'key']),
  auth: fields({ realm: text, users }, ['users']),
  access: fields({ allow: listOf(addressPrefix) }, ['allow']),
  limits: fields({
    'body-bytes': positive,
    'header-timeout-ms': positive,
    'request-timeout-ms': positive,
    'rate-limit': fields({ max: integer(0), 'window-ms': positive }, ['max', 'window-ms']),
    overload: fields({ 'max-event-loop-delay-ms': positive, 'max-in-flight': integer(0), 'retry-after-s': positive }),
  }),
  admin: fields({ host: text, port }, ['port']),
  signing: fields({ key: keyFile, 'previous-keys': listOf(keyFile), 'lifetime-s': positive }, ['key']),
  'log-level': oneOf(LOG_LEVELS),
  workers,
  'answer-cache-bytes': integer(0, MAX_ANSWER_CACHE_BYTES),
})

// ---------------------------------------------------------------------------------------------
// Network maps, cost maps, endpoint properties.

const ADDRESS_TYPES: readonly AddressType[] = ['ipv4', 'ipv6']

/** PID -> address type -> prefixes (the prefixes themselves are checked by buildSnapshot). */
function pidsData(value: unknown, path: SpecPath, ctx: Ctx): NetworkMapData {
  const o = mapping(value, path, ctx)
  if (Object.keys(o).length === 0) ctx.src.fail(path, 'must name at least one PID')
  const data: NetworkMapData = {}
  for (const [pid, entry] of Object.entries(o)) {
    pidName(pid, [...path, pid], ctx)
    const types = mapping(entry, [...path, pid], ctx, ADDRESS_TYPES)
    const prefixes: Partial<Record<AddressType, string[]>> = {}
    for (const type of ADDRESS_TYPES) {
      if (types[type] !== undefined) prefixes[type] = listOf(text)(types[type], [...path, pid, type], ctx)
    }
    data[pid] = prefixes
  }
  return data
}

/**
 * src PID -> dst PID -> cost, checked where it stands. A map of 2,000 PIDs has 4 million costs:
 * each PID name is checked once, not once per row, and a path is built only to report a failure.
 */
function costsData(value: unknown, path: SpecPath, ctx: Ctx): CostMapData {
  const data = mapping(value, path, ctx)
  const names = new Set<string>()
  const checkName = (pid: string, at: () => SpecPath) => {
    if (names.has(pid)) return
    pidName(pid, at(), ctx)
    names.add(pid)
  }
  for (const src of Object.keys(data)) {
    checkName(src, () => [...path, src])
    const row = mapping(data[src], [...path, src], ctx)
    for (const dst of Object.keys(row)) {
      checkName(dst, () => [...path, src, dst])
      const c = row[dst]
      if (typeof c !== 'number' || !Number.isFinite(c) || c < 0) cost(c, [...path, src, dst], ctx) // fails, saying why
    }
  }
  return data as CostMapData
}

function networkMapBody(body: unknown, ctx: Ctx): NetworkMapSpec {
  const o = mapping(body, [], ctx)
  const meta = mapping(need(o, 'meta', [], ctx), ['meta'], ctx)
  const vtag = mapping(need(meta, 'vtag', ['meta'], ctx), ['meta', 'vtag'], ctx)
  return {
    id: resourceId(need(vtag, 'resource-id', ['meta', 'vtag'], ctx), ['meta', 'vtag', 'resource-id'], ctx),
    vtag: versionTag(need(vtag, 'tag', ['meta', 'vtag'], ctx), ['meta', 'vtag', 'tag'], ctx),
    pids: pidsData(need(o, 'network-map', [], ctx), ['network-map'], ctx),
  }
}

function costMapBody(body: unknown, ctx: Ctx): CostMapSpec {
  const o = mapping(body, [], ctx)
  const meta = mapping(need(o, 'meta', [], ctx), ['meta'], ctx)
  const dependent = listOf((v, p, c) => mapping(v, p, c), true)(need(meta, 'dependent-vtags', ['meta'], ctx), ['meta', 'dependent-vtags'], ctx)
  const at = ['meta', 'dependent-vtags', 0]
  const networkMap = resourceId(need(dependent[0] ?? {}, 'resource-id', at, ctx), [...at, 'resource-id'], ctx)
  const type = mapping(need(meta, 'cost-type', ['meta'], ctx), ['meta', 'cost-type'], ctx)
  const mode = need(type, 'cost-mode', ['meta', 'cost-type'], ctx)
  if (mode === 'ordinal') {
    ctx.src.fail(['meta', 'cost-type', 'cost-mode'], 'is ordinal: provide the numerical cost map; ALTOkit derives the ordinal one from it')
  }
  if (mode !== 'numerical') ctx.src.fail(['meta', 'cost-type', 'cost-mode'], `must be "numerical", not ${describe(mode)}`)
  const spec: CostMapSpec = {
    networkMap,
    metric: costMetric(need(type, 'cost-metric', ['meta', 'cost-type'], ctx), ['meta', 'cost-type', 'cost-metric'], ctx),
    costs: costsData(need(o, 'cost-map', [], ctx), ['cost-map'], ctx),
  }
  if (type.description !== undefined) spec.description = anyString(type.description, ['meta', 'cost-type', 'description'], ctx)
  return spec
}

/** An RFC 7285 §11.2.1.6 network map body as a spec (`path` left to its default). */
export function rfcNetworkMapToSpec(body: unknown, file: string): NetworkMapSpec {
  return networkMapBody(body, { src: new Source(file), baseDir: dirname(file) })
}

/** An RFC 7285 §11.2.3.6 numerical cost map body as a spec (`path` left to its default). */
export function rfcCostMapToSpec(body: unknown, file: string): CostMapSpec {
  return costMapBody(body, { src: new Source(file), baseDir: dirname(file) })
}

function networkMaps(value: unknown, ctx: Ctx, origins: Origins): NetworkMapSpec[] {
  if (value === undefined) ctx.src.fail(['network-maps'], 'is missing: at least one network map is required')
  const items = listOf((v, p, c) => mapping(v, p, c, ['id', 'vtag', 'pids', 'file', 'libloc']))(value, ['network-maps'], ctx)
  if (items.length === 0) ctx.src.fail(['network-maps'], 'must list at least one network map')
  const specs: NetworkMapSpec[] = []
  items.forEach((o, i) => {
    const at = ['network-maps', i]
    const id = o.id === undefined ? undefined : resourceId(o.id, [...at, 'id'], ctx)
    let spec: NetworkMapSpec
    let pidsAt: SpecPath = [...at, 'pids']
    if (o.libloc !== undefined) {
      for (const other of ['pids', 'file']) if (o[other] !== undefined) ctx.src.fail([...at, other], 'give one of pids, file and libloc')
      if (id === undefined) ctx.src.fail([...at, 'id'], 'is missing (required with libloc)')
      const { pids, prefixes } = libLocNetworkMap(o.libloc, [...at, 'libloc'], ctx)
      spec = { id, pids, prefixes }
      pidsAt = [...at, 'libloc']
    } else if (o.file !== undefined) {
      if (o.pids !== undefined) ctx.src.fail([...at, 'pids'], 'give pids or file, not both')
      const json = readJson(o.file, [...at, 'file'], ctx)
      spec = networkMapBody(json.body, json.ctx)
      origins.files.push({ prefix: [...at, 'pids'], inner: ['network-map'], source: json.ctx.src })
    } else {
      if (id === undefined) ctx.src.fail([...at, 'id'], 'is missing (required unless file gives it)')
      if (o.pids === undefined) ctx.src.fail([...at, 'pids'], 'is missing: give pids, or file with an RFC 7285 network map, or libloc with a libloc database (docs/libloc.md)')
      spec = { id, pids: pidsData(o.pids, [...at, 'pids'], ctx) }
    }
    if (id !== undefined) spec.id = id
    if (o.vtag !== undefined) spec.vtag = versionTag(o.vtag, [...at, 'vtag'], ctx)
    spec.path = pidsAt
    const first = specs.findIndex((s) => s.id === spec.id)
    if (first !== -1) ctx.src.fail([...at, o.id === undefined ? 'file' : 'id'], `network map id ${JSON.stringify(spec.id)} is already used by network-maps[${first}]`)
    specs.push(spec)
  })
  return specs
}

function findNetworkMap(maps: readonly NetworkMapSpec[], id: string, path: SpecPath, src: Source): NetworkMapSpec {
  const map = maps.find((m) => m.id === id)
  if (!map) src.fail(path, `unknown network map ${JSON.stringify(id)}${didYouMean(id, maps.map((m) => m.id))}`)
  return map
}

const COST_MAP_KEYS = ['network-map', 'cost-metric', 'name', 'ordinal', 'ordinal-name', 'description', 'intra-pid', 'default', 'costs', 'file', ...SOURCE_KEYS]

function costMaps(value: unknown, ctx: Ctx, maps: readonly NetworkMapSpec[], origins: Origins): CostMapSpec[] {
  if (value === undefined || value === null) return []
  const specs: CostMapSpec[] = []
  const typeNames = new Map<string, number>()
  list(value, ['cost-maps'], ctx).forEach((item, i) => {
    const at = ['cost-maps', i]
    const o = mapping(item, at, ctx, COST_MAP_KEYS)
    // The config line to blame for a value: the key if given, else what supplied its default.
    const given = (key: string): SpecPath => [...at, o[key] !== undefined ? key : o.file !== undefined ? 'file' : 'cost-metric']
    let spec: CostMapSpec
    let costs: { src: Source; path: SpecPath }
    const source = metricSource(o, at, ctx)
    if (source) {
      const metric = costMetric(need(o, 'cost-metric', at, ctx), [...at, 'cost-metric'], ctx)
      spec = { networkMap: maps[0]?.id ?? '', metric, costs: {}, source }
      costs = { src: ctx.src, path: [...at, 'costs'] }
    } else if (o.file !== undefined) {
      if (o.costs !== undefined) ctx.src.fail([...at, 'costs'], 'give costs or file, not both')
      const json = readJson(o.file, [...at, 'file'], ctx)
      spec = costMapBody(json.body, json.ctx)
      origins.files.push({ prefix: [...at, 'costs'], inner: ['cost-map'], source: json.ctx.src })
      costs = { src: json.ctx.src, path: ['cost-map'] }
    } else {
      const metric = costMetric(need(o, 'cost-metric', at, ctx), [...at, 'cost-metric'], ctx)
      if (o.costs === undefined) ctx.src.fail([...at, 'costs'], `is missing: give costs, a file with an RFC 7285 cost map, or one of ${SOURCE_KEYS.join(', ')}`)
      spec = { networkMap: maps[0]?.id ?? '', metric, costs: costsData(o.costs, [...at, 'costs'], ctx) }
      costs = { src: ctx.src, path: [...at, 'costs'] }
    }
    if (o['network-map'] !== undefined) spec.networkMap = resourceId(o['network-map'], [...at, 'network-map'], ctx)
    if (o['cost-metric'] !== undefined) spec.metric = costMetric(o['cost-metric'], [...at, 'cost-metric'], ctx)
    if (o.name !== undefined) spec.name = costTypeName(o.name, [...at, 'name'], ctx)
    if (o.ordinal !== undefined) spec.ordinal = boolean(o.ordinal, [...at, 'ordinal'], ctx)
    if (o['ordinal-name'] !== undefined) {
      if (spec.ordinal === false) ctx.src.fail([...at, 'ordinal-name'], 'has no effect with ordinal: false')
      spec.ordinalName = costTypeName(o['ordinal-name'], [...at, 'ordinal-name'], ctx)
    }
    if (o.description !== undefined) spec.description = anyString(o.description, [...at, 'description'], ctx)
    if (o['intra-pid'] !== undefined) spec.intraPid = cost(o['intra-pid'], [...at, 'intra-pid'], ctx)
    if (o.default !== undefined) spec.default = cost(o.default, [...at, 'default'], ctx)
    spec.path = [...at, 'costs']

    const fromFile = o['network-map'] === undefined && o.file !== undefined
    const map = fromFile
      ? findNetworkMap(maps, spec.networkMap, ['meta', 'dependent-vtags', 0, 'resource-id'], costs.src)
      : findNetworkMap(maps, spec.networkMap, given('network-map'), ctx.src)
    for (const [src, row] of Object.entries(spec.costs)) {
      if (!Object.hasOwn(map.pids, src)) costs.src.fail([...costs.path, src], `PID ${JSON.stringify(src)} is not in network map ${JSON.stringify(map.id)}`)
      for (const dst of Object.keys(row)) {
        if (!Object.hasOwn(map.pids, dst)) costs.src.fail([...costs.path, src, dst], `PID ${JSON.stringify(dst)} is not in network map ${JSON.stringify(map.id)}`)
      }
    }

    const twin = specs.findIndex((s) => s.networkMap === spec.networkMap && s.metric === spec.metric)
    if (twin !== -1) {
      ctx.src.fail(given('cost-metric'), `network map ${JSON.stringify(spec.networkMap)} already has a ${spec.metric} cost map (cost-maps[${twin}])`)
    }
    const names: [string, SpecPath][] = [[spec.name ?? `num-${spec.metric}`, given('name')]]
    if (spec.ordinal !== false) names.push([spec.ordinalName ?? `ord-${spec.metric}`, given('ordinal-name')])
    for (const [name, path] of names) {
      const owner = typeNames.get(name)
      if (owner !== undefined) ctx.src.fail(path, `cost type name ${JSON.stringify(name)} is already used by cost-maps[${owner}]`)
      typeNames.set(name, i)
    }
    specs.push(spec)
  })
  return specs
}

function stringValues(value: unknown, path: SpecPath, ctx: Ctx): Record<string, string> {
  const values: Record<string, string> = {}
  for (const [key, v] of Object.entries(mapping(value, path, ctx))) values[key] = anyString(v, [...path, key], ctx)
  return values
}

function properties(value: unknown, ctx: Ctx, maps: readonly NetworkMapSpec[]): PropertySpec[] {
  if (value === undefined || value === null) return []
  return Object.entries(mapping(value, ['endpoint-properties'], ctx)).map(([name, entry]) => {
    const at = ['endpoint-properties', name]
    if (!isValidPropertyName(name)) ctx.src.fail(at, 'is not a valid property name (1-32 characters of A-Z a-z 0-9 - : _; RFC 7285 §10.8)')
    if (name.endsWith('.pid')) ctx.src.fail(at, 'is served automatically for every network map')
    const o = mapping(entry, at, ctx, ['prefixes', 'pids'])
    if (o.prefixes === undefined && o.pids === undefined) ctx.src.fail(at, 'needs prefixes, pids or both')
    const spec: PropertySpec = { name, path: at }
    if (o.prefixes !== undefined) spec.prefixes = stringValues(o.prefixes, [...at, 'prefixes'], ctx)
    if (o.pids !== undefined) {
      const byPid = mapping(o.pids, [...at, 'pids'], ctx, ['network-map', 'values'])
      const id = byPid['network-map'] === undefined ? (maps[0]?.id ?? '') : resourceId(byPid['network-map'], [...at, 'pids', 'network-map'], ctx)
      const map = findNetworkMap(maps, id, [...at, 'pids', 'network-map'], ctx.src)
      const values = stringValues(need(byPid, 'values', [...at, 'pids'], ctx), [...at, 'pids', 'values'], ctx)
      for (const pid of Object.keys(values)) {
        if (!Object.hasOwn(map.pids, pid)) ctx.src.fail([...at, 'pids', 'values', pid], `PID ${JSON.stringify(pid)} is not in network map ${JSON.stringify(id)}`)
      }
      spec.pids = { networkMap: id, values }
    }
    return spec
  })
}

// ---------------------------------------------------------------------------------------------

/**
 * Parse and check a config file's text. Relative file names in it are resolved against
 * `options.baseDir`; errors name `options.file`.
 * @throws AltoConfigError naming file, line and field
 */
export function loadConfigText(text: string, options: { file: string; baseDir: string }): AltoConfig {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines })
  const syntax = doc.errors[0]
  if (syntax) {
    const message =
      syntax.code === 'MULTIPLE_DOCS'
        ? 'the file holds more than one YAML document'
        : (syntax.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')
    throw new AltoConfigError(`invalid YAML: ${message}`, { file: options.file, line: syntax.linePos?.[0].line })
  }
  const src = new Source(options.file, text, { doc, lines })
  const ctx: Ctx = { src, baseDir: options.baseDir, read: [options.file] }
  let root: unknown
  try {
    root = doc.toJS()
  } catch (error) {
    throw new AltoConfigError(`invalid YAML: ${error instanceof Error ? error.message : String(error)}`, { file: options.file })
  }
  if (root === null || root === undefined) src.fail([], 'the file is empty; it needs at least network-maps')
  const top = mapping(root, [], ctx, ['server', 'network-maps', 'cost-maps', 'endpoint-properties', 'bgp'])
  const origins: Origins = { main: src, files: [] }
  const server = top.server === undefined || top.server === null ? {} : serverSection(top.server, ['server'], ctx)
  const maps = networkMaps(top['network-maps'], ctx, origins)
  const network: NetworkSpec = {
    networkMaps: maps,
    costMaps: costMaps(top['cost-maps'], ctx, maps, origins),
    properties: properties(top['endpoint-properties'], ctx, maps),
  }
  const config: AltoConfig = { server, network }
  if (top.bgp !== undefined && top.bgp !== null) {
    config.bgp = bgpSection(top.bgp, ctx, maps)
    // Each worker would open its own BGP session to the speaker (docs/operator-guide.md §7).
    if (server.workers !== undefined && server.workers !== 1) src.fail(['server', 'workers'], 'must be 1 with a bgp: section: a live BGP feed runs in one process')
  }
  recordOrigins(config, origins)
  src.release() // checked: lines are parsed again from the text if a later error needs one
  FILES.set(config, [...new Set(ctx.read)])
  return config
}

const FILES = new WeakMap<AltoConfig, string[]>()

/** The files a loaded config was read from: itself and every file it names (for reload-on-change). */
export function configFiles(config: AltoConfig): string[] {
  return FILES.get(config) ?? []
}

/**
 * Read a config file and the files it names (TLS keys, RFC 7285 JSON maps), relative to its folder.
 * @throws AltoConfigError naming file, line and field
 */
export function loadConfigFile(path: string): AltoConfig {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new AltoConfigError(`cannot read config file: ${failureReason(error)}`, { file: path })
  }
  return loadConfigText(text, { file: path, baseDir: dirname(path) })
}
