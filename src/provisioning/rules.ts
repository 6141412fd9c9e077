/**
 * @module provisioning/rules
 * Rules that turn BGP routes into PIDs (docs/mrt.md): each rule names a PID and conditions on a
 * route (standard or large community, origin AS, AS-path regular expression, next hop, prefix
 * list); the first rule that matches a route gives its PID. {@link MapBuilder} collects routes
 * (announcements and withdrawals, from MRT or a live session), resolves each prefix to one PID and
 * aggregates each PID's prefixes into an RFC 7285 `network-map` member.
 *
 * A prefix seen in several routes (several peers, several ADD-PATH paths) goes to the PID of the
 * route whose matching rule comes first in the file; routes no rule matches come after every rule
 * (first the per-origin-AS PIDs when enabled, then the default PID); between equal ranks the route
 * seen first wins. The result depends only on the rules and the order of the input.
 */
import { readFileSync } from 'node:fs'
import { LineCounter, parseDocument } from 'yaml'
import { formatAddress, parseAddress, parseAnyPrefix, type ParsedPrefix } from '../netmap/address.ts'
import { AltoConfigError } from '../protocol/errors.ts'
import type { AddressType, NetworkMapData } from '../protocol/types.ts'
import { boolean, type Ctx, describe, failureReason, list, mapping, need, pidName, resourceId, Source, text } from './config-source.ts'
import type { Route } from './route.ts'
import type { SpecPath } from './spec.ts'

/** One rule: a PID and conditions. Every condition given must hold; a list matches any member. */
export interface Rule {
  pid: string
  /** RFC 1997 communities `ASN:VALUE`: the route carries at least one. */
  communities?: readonly string[]
  /** RFC 8092 large communities `GLOBAL:LOCAL1:LOCAL2`: the route carries at least one. */
  largeCommunities?: readonly string[]
  /** The route's origin AS (last AS of an AS_SEQUENCE) is one of these. */
  originAs?: readonly number[]
  /** Tested against the AS path as space-separated decimal ASNs, e.g. `64500 3356 15169`. */
  asPath?: RegExp
  /** The next hop is one of these addresses or inside one of these prefixes. */
  nextHops?: readonly ParsedPrefix[]
  /** The route's prefix equals or lies inside one of these. */
  prefixes?: readonly ParsedPrefix[]
  /** 1-based line of the rule in its file, for summaries. */
  line?: number
}

export interface RuleSet {
  /** Resource id of the network map built (RFC 7285 §10.2). */
  networkMap?: string
  /** PID of the routes no rule matches; without it they are left out of the map. */
  defaultPid?: string
  /** Put 0.0.0.0/0 and ::/0 in the default PID, so every address has a PID. @default false */
  catchAll?: boolean
  /** Routes no rule matches get the PID `as<N>` of their origin AS N (before the default PID). @default false */
  pidPerOriginAs?: boolean
  rules: readonly Rule[]
}

/** What `alto build-map` uses without a rules file: one PID per origin AS, the rest in `default`. */
export const ORIGIN_AS_RULES: RuleSet = Object.freeze({ defaultPid: 'default', pidPerOriginAs: true, rules: [] })

// ---------------------------------------------------------------------------------------------
// Matching

const nextHopCache = new Map<string, ParsedPrefix | null>()

function parsedNextHop(text: string): ParsedPrefix | undefined {
  let parsed = nextHopCache.get(text)
  if (parsed === undefined) {
    const address = parseAddress(text.includes(':') ? 'ipv6' : 'ipv4', text)
    parsed = address ? { family: address.family, bytes: address.bytes, length: address.bytes.length * 8, text: address.text } : null
    if (nextHopCache.size > 100_000) nextHopCache.clear()
    nextHopCache.set(text, parsed)
  }
  return parsed ?? undefined
}

/** True when `inner` (bytes/length) equals `outer` or lies inside it. */
export function prefixContains(outer: ParsedPrefix, family: AddressType, bytes: Uint8Array, length: number): boolean {
  if (outer.family !== family || outer.length > length) return false
  const whole = outer.length >>> 3
  for (let i = 0; i < whole; i++) if (outer.bytes[i] !== bytes[i]) return false
  const rest = outer.length & 7
  if (rest === 0) return true
  const mask = (0xff00 >>> rest) & 0xff
  return (outer.bytes[whole]! & mask) === (bytes[whole]! & mask)
}

/** Does `route` satisfy every condition of `rule`? */
export function ruleMatches(rule: Rule, route: Route): boolean {
  if (rule.communities && !rule.communities.some((c) => route.communities.includes(c))) return false
  if (rule.largeCommunities && !rule.largeCommunities.some((c) => route.largeCommunities.includes(c))) return false
  if (rule.originAs && (route.originAs === undefined || !rule.originAs.includes(route.originAs))) return false
  if (rule.prefixes && !rule.prefixes.some((p) => prefixContains(p, route.family, route.bytes, route.length))) return false
  if (rule.nextHops) {
    const hop = route.nextHop === undefined ? undefined : parsedNextHop(route.nextHop)
    if (!hop || !rule.nextHops.some((p) => prefixContains(p, hop.family, hop.bytes, hop.length))) return false
  }
  if (rule.asPath) {
    rule.asPath.lastIndex = 0 // a /g or /y expression keeps state between tests
    if (!rule.asPath.test(route.asPath.join(' '))) return false
  }
  return true
}

/** Index of the first rule `route` matches, or -1. */
export function firstMatch(rules: readonly Rule[], route: Route): number {
  for (let i = 0; i < rules.length; i++) if (ruleMatches(rules[i]!, route)) return i
  return -1
}

// ---------------------------------------------------------------------------------------------
// Building

export interface BuildSummary {
  /** Routes held when the map was built (announced and not withdrawn). */
  routes: number
  /** Of those, routes no rule matched. */
  unmatchedRoutes: number
  /** Distinct prefixes of those routes. */
  prefixes: number
  /** Prefixes whose PID came from a rule. */
  matchedPrefixes: number
  /** Prefixes no route's rule matched: put in a per-origin-AS PID or the default PID, or left out. */
  unmatchedPrefixes: number
  /** Unmatched prefixes left out of the map (no default PID). */
  droppedPrefixes: number
  /** Prefixes per rule, in rule order (the rule that decided each prefix). */
  byRule: { pid: string; line?: number; prefixes: number }[]
  pids: number
  /** Prefixes in the map after aggregation, by family. */
  mapPrefixes: Record<AddressType, number>
}

interface Candidate {
  /** Peer and path identifier: the route's identity among routes for one prefix. */
  key: string
  rank: number
  pid: string
  seq: number
  matched: boolean
}

interface PrefixState {
  family: AddressType
  bytes: Uint8Array
  length: number
  candidates: Candidate[]
}

/**
 * Collects routes and builds a network map from them with a {@link RuleSet}. Announcing a route
 * again from the same peer and path replaces it; a withdrawal removes it.
 *
 * ```ts
 * const builder = new MapBuilder(rules)
 * for await (const e of new MrtReader(file)) e.kind === 'withdraw' ? builder.withdraw(e.route) : builder.add(e.route)
 * const { data, summary } = builder.build()
 * ```
 */
export class MapBuilder {
  readonly #rules: RuleSet
  readonly #prefixes = new Map<string, PrefixState>()
  readonly #peers = new Map<string, string>() // interned keys: many routes share a peer
  #seq = 0
  #routes = 0

  constructor(rules: RuleSet) {
    this.#rules = rules
  }

  /** Routes currently held. */
  get size(): number {
    return this.#routes
  }

  add(route: Route): void {
    const { rank, pid, matched } = this.#classify(route)
    const key = this.#routeKey(route)
    const id = route.family === 'ipv4' ? route.prefix : `:${route.prefix}`
    let state = this.#prefixes.get(id)
    if (!state) {
      state = { family: route.family, bytes: route.bytes, length: route.length, candidates: [] }
      this.#prefixes.set(id, state)
    }
    const existing = state.candidates.find((c) => c.key === key)
    if (existing) {
      // A re-announcement keeps the route's place in the order of first appearance.
      existing.rank = rank
      existing.pid = pid
      existing.matched = matched
    } else {
      state.candidates.push({ key, rank, pid, seq: this.#seq++, matched })
      this.#routes++
    }
  }

  withdraw(route: Route): void {
    const id = route.family === 'ipv4' ? route.prefix : `:${route.prefix}`
    const state = this.#prefixes.get(id)
    if (!state) return
    const key = this.#routeKey(route)
    const index = state.candidates.findIndex((c) => c.key === key)
    if (index === -1) return
    state.candidates.splice(index, 1)
    this.#routes--
    if (state.candidates.length === 0) this.#prefixes.delete(id)
  }

  #routeKey(route: Route): string {
    const key = `${route.peer ?? ''}#${route.pathId ?? ''}`
    let interned = this.#peers.get(key)
    if (interned === undefined) {
      interned = key
      this.#peers.set(key, key)
    }
    return interned
  }

  #classify(route: Route): { rank: number; pid: string; matched: boolean } {
    const rules = this.#rules.rules
    const index = firstMatch(rules, route)
    if (index !== -1) return { rank: index, pid: rules[index]!.pid, matched: true }
    if (this.#rules.pidPerOriginAs && route.originAs !== undefined) return { rank: rules.length, pid: `as${route.originAs}`, matched: false }
    // No PID: ranks after everything, and is left out unless there is a default PID.
    return { rank: rules.length + 1, pid: this.#rules.defaultPid ?? '', matched: false }
  }

  /** The `network-map` member (PID -> address type -> prefixes) and counts. */
  build(): { data: NetworkMapData; summary: BuildSummary } {
    const rules = this.#rules.rules
    const summary: BuildSummary = {
      routes: this.#routes,
      unmatchedRoutes: 0,
      prefixes: this.#prefixes.size,
      matchedPrefixes: 0,
      unmatchedPrefixes: 0,
      droppedPrefixes: 0,
      byRule: rules.map((r) => (r.line === undefined ? { pid: r.pid, prefixes: 0 } : { pid: r.pid, line: r.line, prefixes: 0 })),
      pids: 0,
      mapPrefixes: { ipv4: 0, ipv6: 0 },
    }
    const chosen: Record<AddressType, Map<string | number, Entry>> = { ipv4: new Map(), ipv6: new Map() }
    for (const state of this.#prefixes.values()) {
      let best = state.candidates[0]!
      for (const c of state.candidates) {
        if (!c.matched) summary.unmatchedRoutes++
        if (c.rank < best.rank || (c.rank === best.rank && c.seq < best.seq)) best = c
      }
      if (best.matched) {
        summary.matchedPrefixes++
        summary.byRule[best.rank]!.prefixes++
      } else {
        summary.unmatchedPrefixes++
        if (best.pid === '') {
          summary.droppedPrefixes++
          continue
        }
      }
      const entry: Entry = { bytes: state.bytes, length: state.length, pid: best.pid }
      chosen[state.family].set(keyOf(state.family, entry.bytes, entry.length), entry)
    }
    const defaultPid = this.#rules.defaultPid
    if (this.#rules.catchAll && defaultPid !== undefined) {
      // Only where no route already gives the whole space a PID.
      for (const family of ['ipv4', 'ipv6'] as const) {
        const bytes = new Uint8Array(family === 'ipv4' ? 4 : 16)
        const key = keyOf(family, bytes, 0)
        if (!chosen[family].has(key)) chosen[family].set(key, { bytes, length: 0, pid: defaultPid })
      }
    }
    const data: NetworkMapData = {}
    for (const family of ['ipv4', 'ipv6'] as const) {
      for (const entry of aggregate(family, chosen[family])) {
        const group = (data[entry.pid] ??= {})
        ;(group[family] ??= []).push(`${formatAddress(family, entry.bytes)}/${entry.length}`)
        summary.mapPrefixes[family]++
      }
    }
    summary.pids = Object.keys(data).length
    return { data, summary }
  }
}

/** The map of a complete set of routes (a BGP session's table, say): {@link MapBuilder} in one call. */
export function buildNetworkMapData(routes: Iterable<Route>, rules: RuleSet): { data: NetworkMapData; summary: BuildSummary } {
  const builder = new MapBuilder(rules)
  for (const route of routes) builder.add(route)
  return builder.build()
}

// ---------------------------------------------------------------------------------------------
// Aggregation: fewer prefixes, the same longest-prefix-match answer for every address.

interface Entry {
  bytes: Uint8Array
  length: number
  pid: string
}

function keyOf(family: AddressType, bytes: Uint8Array, length: number): string | number {
  if (family === 'ipv4') return (((bytes[0]! << 24) >>> 0) + (bytes[1]! << 16) + (bytes[2]! << 8) + bytes[3]!) * 64 + length
  return `${Buffer.from(bytes).toString('hex')}/${length}`
}

function withBit(bytes: Uint8Array, bit: number, on: boolean): Uint8Array {
  const out = bytes.slice()
  const mask = 0x80 >>> (bit & 7)
  out[bit >>> 3] = on ? out[bit >>> 3]! | mask : out[bit >>> 3]! & ~mask
  return out
}

/**
 * Repeat until nothing changes: (1) drop a prefix whose nearest covering prefix, among all PIDs,
 * has the same PID (it decides nothing); (2) merge two sibling prefixes of one PID into their
 * parent (10.0.0.0/24 + 10.0.1.0/24 -> 10.0.0.0/23) unless the parent is another PID's prefix.
 * Neither step changes the PID any address resolves to. Returns the entries in address order.
 */
function aggregate(family: AddressType, entries: Map<string | number, Entry>): Entry[] {
  for (let changed = true; changed; ) {
    changed = dropShadowed(family, entries)
    changed = mergeSiblings(family, entries) || changed
  }
  return [...entries.values()].sort(compareEntries)
}

function compareEntries(a: Entry, b: Entry): number {
  for (let i = 0; i < a.bytes.length; i++) if (a.bytes[i] !== b.bytes[i]) return a.bytes[i]! - b.bytes[i]!
  return a.length - b.length
}

function covers(outer: Entry, inner: Entry): boolean {
  if (outer.length > inner.length) return false
  const whole = outer.length >>> 3
  for (let i = 0; i < whole; i++) if (outer.bytes[i] !== inner.bytes[i]) return false
  const rest = outer.length & 7
  const mask = (0xff00 >>> rest) & 0xff
  return rest === 0 || (outer.bytes[whole]! & mask) === (inner.bytes[whole]! & mask)
}

// In address order (shorter first on ties) the prefixes covering an entry are the open ones on a
// stack; the top is its nearest cover.
function dropShadowed(family: AddressType, entries: Map<string | number, Entry>): boolean {
  const sorted = [...entries.values()].sort(compareEntries)
  const stack: Entry[] = []
  let changed = false
  for (const entry of sorted) {
    while (stack.length > 0 && !covers(stack[stack.length - 1]!, entry)) stack.pop()
    const cover = stack[stack.length - 1]
    if (cover && cover.pid === entry.pid) {
      entries.delete(keyOf(family, entry.bytes, entry.length))
      changed = true
      continue // its cover stays the nearest one for what lies inside it
    }
    stack.push(entry)
  }
  return changed
}

function mergeSiblings(family: AddressType, entries: Map<string | number, Entry>): boolean {
  const byLength: Entry[][] = []
  for (const e of entries.values()) (byLength[e.length] ??= []).push(e)
  let changed = false
  for (let length = byLength.length - 1; length > 0; length--) {
    for (const entry of byLength[length] ?? []) {
      const key = keyOf(family, entry.bytes, length)
      if (entries.get(key) !== entry) continue // merged already, as the other sibling
      const bit = length - 1
      const siblingBytes = withBit(entry.bytes, bit, !(entry.bytes[bit >>> 3]! & (0x80 >>> (bit & 7))))
      const siblingKey = keyOf(family, siblingBytes, length)
      const sibling = entries.get(siblingKey)
      if (!sibling || sibling.pid !== entry.pid) continue
      const parentBytes = withBit(entry.bytes, bit, false)
      const parentKey = keyOf(family, parentBytes, length - 1)
      const parent = entries.get(parentKey)
      if (parent && parent.pid !== entry.pid) continue
      entries.delete(key)
      entries.delete(siblingKey)
      if (!parent) {
        const merged: Entry = { bytes: parentBytes, length: length - 1, pid: entry.pid }
        entries.set(parentKey, merged)
        ;(byLength[length - 1] ??= []).push(merged)
      }
      changed = true
    }
  }
  return changed
}

// ---------------------------------------------------------------------------------------------
// The rules file (docs/mrt.md)

const TOP_KEYS = ['network-map', 'default-pid', 'catch-all', 'pid-per-origin-as', 'rules'] as const
const RULE_KEYS = ['pid', 'community', 'large-community', 'origin-as', 'as-path', 'next-hop', 'prefixes'] as const

/** A scalar or a list of scalars, as a list. */
function oneOrMany(value: unknown, path: SpecPath, ctx: Ctx): { value: unknown; path: SpecPath }[] {
  if (!Array.isArray(value)) return [{ value, path }]
  const items = list(value, path, ctx)
  if (items.length === 0) ctx.src.fail(path, 'must not be an empty list')
  return items.map((v, i) => ({ value: v, path: [...path, i] }))
}

function numbers(value: unknown, path: SpecPath, ctx: Ctx, parts: number, max: number, form: string): string {
  const t = typeof value === 'number' ? String(value) : text(value, path, ctx)
  const pieces = t.split(':')
  if (pieces.length !== parts || !pieces.every((p) => /^(0|[1-9][0-9]*)$/.test(p) && Number(p) <= max)) {
    ctx.src.fail(path, `${JSON.stringify(t)} is not a ${form}`)
  }
  return pieces.map(Number).join(':')
}

function asNumber(value: unknown, path: SpecPath, ctx: Ctx): number {
  const t = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.replace(/^AS/i, '') : describe(value)
  if (!/^(0|[1-9][0-9]*)$/.test(t) || Number(t) > 0xffffffff) ctx.src.fail(path, `must be an AS number from 0 to 4294967295, not ${describe(value)}`)
  return Number(t)
}

function prefixValue(value: unknown, path: SpecPath, ctx: Ctx): ParsedPrefix {
  const parsed = parseAnyPrefix(text(value, path, ctx))
  if ('error' in parsed) ctx.src.fail(path, parsed.error)
  return parsed
}

function rule(value: unknown, path: SpecPath, ctx: Ctx): Rule {
  const o = mapping(value, path, ctx, RULE_KEYS)
  const at = (key: string): SpecPath => [...path, key]
  const result: Rule = { pid: pidName(need(o, 'pid', path, ctx), at('pid'), ctx) }
  const line = ctx.src.line(path)
  if (line !== undefined) result.line = line
  if (o.community !== undefined) result.communities = oneOrMany(o.community, at('community'), ctx).map((v) => numbers(v.value, v.path, ctx, 2, 0xffff, 'community ASN:VALUE (two numbers 0-65535, RFC 1997)'))
  if (o['large-community'] !== undefined) {
    result.largeCommunities = oneOrMany(o['large-community'], at('large-community'), ctx).map((v) => numbers(v.value, v.path, ctx, 3, 0xffffffff, 'large community GLOBAL:LOCAL1:LOCAL2 (three numbers 0-4294967295, RFC 8092)'))
  }
  if (o['origin-as'] !== undefined) result.originAs = oneOrMany(o['origin-as'], at('origin-as'), ctx).map((v) => asNumber(v.value, v.path, ctx))
  if (o['as-path'] !== undefined) {
    const source = text(o['as-path'], at('as-path'), ctx)
    try {
      result.asPath = new RegExp(source)
    } catch (error) {
      ctx.src.fail(at('as-path'), `is not a valid regular expression: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  if (o['next-hop'] !== undefined) result.nextHops = oneOrMany(o['next-hop'], at('next-hop'), ctx).map((v) => prefixValue(v.value, v.path, ctx))
  if (o.prefixes !== undefined) result.prefixes = oneOrMany(o.prefixes, at('prefixes'), ctx).map((v) => prefixValue(v.value, v.path, ctx))
  if (Object.keys(o).length === 1) ctx.src.fail(path, `has no condition: give one of ${RULE_KEYS.slice(1).join(', ')} (default-pid takes every route no rule matches)`)
  return result
}

/**
 * Parse and check a rules file's text.
 * @throws AltoConfigError naming file, line and field
 */
export function loadRulesText(text: string, options: { file: string }): RuleSet {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines })
  const syntax = doc.errors[0]
  if (syntax) {
    const message = (syntax.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')
    throw new AltoConfigError(`invalid YAML: ${message}`, { file: options.file, line: syntax.linePos?.[0].line })
  }
  const src = new Source(options.file, undefined, { doc, lines })
  const ctx: Ctx = { src, baseDir: '.' }
  const root: unknown = doc.toJS()
  if (root === null || root === undefined) src.fail([], 'the file is empty; it needs at least rules or default-pid')
  const top = mapping(root, [], ctx, TOP_KEYS)
  const set: { -readonly [K in keyof RuleSet]: RuleSet[K] } = { rules: [] }
  if (top['network-map'] !== undefined) set.networkMap = resourceId(top['network-map'], ['network-map'], ctx)
  if (top['default-pid'] !== undefined) set.defaultPid = pidName(top['default-pid'], ['default-pid'], ctx)
  if (top['catch-all'] !== undefined) set.catchAll = boolean(top['catch-all'], ['catch-all'], ctx)
  if (top['pid-per-origin-as'] !== undefined) set.pidPerOriginAs = boolean(top['pid-per-origin-as'], ['pid-per-origin-as'], ctx)
  if (set.catchAll && set.defaultPid === undefined) src.fail(['catch-all'], 'needs default-pid: the PID that 0.0.0.0/0 and ::/0 go to')
  if (top.rules !== undefined && top.rules !== null) set.rules = list(top.rules, ['rules'], ctx).map((r, i) => rule(r, ['rules', i], ctx))
  if (set.rules.length === 0 && set.defaultPid === undefined && !set.pidPerOriginAs) src.fail(['rules'], 'is empty, and there is no default-pid or pid-per-origin-as: every route would be left out')
  return set
}

/**
 * Read a rules file.
 * @throws AltoConfigError naming file, line and field
 */
export function loadRulesFile(path: string): RuleSet {
  let content: string
  try {
    content = readFileSync(path, 'utf8')
  } catch (error) {
    throw new AltoConfigError(`cannot read rules file: ${failureReason(error)}`, { file: path })
  }
  return loadRulesText(content, { file: path })
}
