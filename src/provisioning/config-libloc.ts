/**
 * @module provisioning/config-libloc
 * The `libloc:` key of a network map in a config file (docs/libloc.md): a libloc location database
 * (Debian's `libloc-database`) read into one PID per origin AS or per country. The database is
 * read here, while the config loads, so that a bad file or option is an error naming the config
 * line; the file joins the list the server watches for changes.
 */
import { readFileSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import type { PrefixSet } from '../netmap/network-map.ts'
import type { AddressType, NetworkMapData } from '../protocol/types.ts'
import { boolean, failureReason, integer, list, mapping, need, oneOf, pidName, text, type Ctx } from './config-source.ts'
import { LibLocDatabase, LibLocError } from './libloc.ts'
import { libLocPrefixes, type LibLocMapOptions, type LibLocMapSummary } from './libloc-map.ts'
import type { SpecPath } from './spec.ts'

const KEYS = ['file', 'pid', 'families', 'only', 'default-pid', 'catch-all', 'aggregate']
const FAMILIES: readonly AddressType[] = ['ipv4', 'ipv6']
const asNumber = integer(1, 4294967295)

export interface LibLocNetworkMap {
  /** Every PID, with no prefixes: the names. */
  pids: NetworkMapData
  prefixes: PrefixSet
  summary: LibLocMapSummary
}

/** Check a `libloc:` mapping at `path`, read the database it names and turn it into PIDs. */
export function libLocNetworkMap(value: unknown, path: SpecPath, ctx: Ctx): LibLocNetworkMap {
  const o = mapping(value, path, ctx, KEYS)
  const pid = oneOf(['asn', 'country'] as const)(need(o, 'pid', path, ctx), [...path, 'pid'], ctx)
  const options: LibLocMapOptions = { pid }
  if (o.families !== undefined) {
    const families = list(o.families, [...path, 'families'], ctx).map((f, i) => oneOf(FAMILIES)(f, [...path, 'families', i], ctx))
    if (families.length === 0) ctx.src.fail([...path, 'families'], 'must name ipv4, ipv6 or both')
    options.families = [...new Set(families)]
  }
  if (o.only !== undefined) {
    const items = list(o.only, [...path, 'only'], ctx)
    if (items.length === 0) ctx.src.fail([...path, 'only'], 'must not be empty (leave it out to keep every AS or country)')
    options.only = items.map((item, i) => (pid === 'asn' ? asnOf(item, [...path, 'only', i], ctx) : countryOf(item, [...path, 'only', i], ctx)))
  }
  if (o['default-pid'] !== undefined) options.defaultPid = pidName(o['default-pid'], [...path, 'default-pid'], ctx)
  if (o['catch-all'] !== undefined) {
    options.catchAll = boolean(o['catch-all'], [...path, 'catch-all'], ctx)
    if (options.catchAll && options.defaultPid === undefined) ctx.src.fail([...path, 'catch-all'], 'needs default-pid: the PID that 0.0.0.0/0 and ::/0 go to')
  }
  if (o.aggregate !== undefined) options.aggregate = boolean(o.aggregate, [...path, 'aggregate'], ctx)
  if (options.defaultPid !== undefined && /^(as\d+|country-[a-z0-9]{2})$/.test(options.defaultPid)) {
    ctx.src.fail([...path, 'default-pid'], `${JSON.stringify(options.defaultPid)} has the form of the PIDs the database gives; choose another name, e.g. unknown`)
  }

  const filePath = [...path, 'file']
  const name = text(need(o, 'file', path, ctx), filePath, ctx)
  const file = isAbsolute(name) ? name : join(ctx.baseDir, name)
  let bytes: Buffer
  try {
    bytes = readFileSync(file)
  } catch (error) {
    const hint = (error as { code?: unknown }).code === 'ENOENT' && file.startsWith('/usr/share/libloc-location/') ? ' (apt-get install libloc-database)' : ''
    return ctx.src.fail(filePath, `cannot read ${file}: ${failureReason(error)}${hint}`)
  }
  ctx.read?.push(file)
  try {
    const { set, summary } = libLocPrefixes(LibLocDatabase.fromBytes(bytes), options)
    const pids: NetworkMapData = {}
    for (const p of set.pids) pids[p] = {}
    if (set.pids.length === 0) ctx.src.fail(path, `${file} gives no network for these options: the map would have no PIDs`)
    return { pids, prefixes: set, summary }
  } catch (error) {
    if (!(error instanceof LibLocError)) throw error
    const at = error.offset === undefined ? '' : ` (byte ${error.offset})`
    return ctx.src.fail(filePath, `${file} is not a usable libloc database: ${error.message}${at}`)
  }
}

function asnOf(value: unknown, path: SpecPath, ctx: Ctx): number {
  if (typeof value === 'string') {
    const digits = /^as(\d+)$/i.exec(value)?.[1]
    if (digits === undefined) ctx.src.fail(path, `${JSON.stringify(value)} is not an AS number (13335 or AS13335)`)
    return asNumber(Number(digits), path, ctx)
  }
  return asNumber(value, path, ctx)
}

function countryOf(value: unknown, path: SpecPath, ctx: Ctx): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9]{2}$/.test(value)) ctx.src.fail(path, `must be a two-letter country code such as US or de, not ${JSON.stringify(value)}`)
  return value
}
