/**
 * @module discovery/unaptr
 * U-NAPTR (RFC 4848), the DDDS application (RFC 3403) that both RFC 7286 §3.2 and RFC 8686 §3.4
 * use to turn a domain name into URIs of an ALTO server's Information Resource Directory.
 *
 * What is accepted, record by record:
 * - the services field names the application service (`ALTO`, case-insensitive) and at least one
 *   wanted protocol: `ALTO:https`, `ALTO:http:https`; `https` only, unless `allowHttp`. Records of
 *   other services (`SIP+D2U`, `ALTO:ftp`) are ignored;
 * - flags `u` (terminal): the regexp must be the whole-string literal replacement
 *   `<d>.*<d><URI><d>` (any delimiter, RFC 3402 §3.2; `^.*$` and a trailing `i` flag are allowed),
 *   with an empty replacement field; the URI must parse and its scheme must be one the record
 *   lists and we accept;
 * - empty flags (non-terminal): the regexp is empty and the replacement is the next name to look
 *   up. Its services field may also be empty (S-NAPTR, RFC 3958, lets a non-terminal leave it
 *   open). Chains are bounded by `maxDepth`, loops are cut, and one resolution makes at most
 *   {@link MAX_LOOKUPS} lookups;
 * - any other flag: ignored (U-NAPTR has only `u` and empty).
 *
 * DDDS order (RFC 3403 §4.1): the usable records are sorted by ORDER, then PREFERENCE; the lowest
 * ORDER group that yields a URI wins and higher ORDER values are not considered. Within that group
 * the URIs keep PREFERENCE order; URIs reached through a non-terminal record carry the ORDER and
 * PREFERENCE of that record (and, among themselves, the order of the chain's own records).
 * A URI seen twice is reported once.
 */
import { createAltoError, type AltoError } from '../protocol/errors.ts'
import { normalizeDomainName, type NaptrRecord, type NaptrResolver } from './dns.ts'

export interface DiscoveredUri {
  uri: string
  order: number
  preference: number
}

export interface UnaptrOptions {
  /** Accept `ALTO:http` records and `http:` URIs too (RFC 7286 allows both). @default false */
  allowHttp?: boolean
  /** Non-terminal records followed at most, one after the other. @default 5 */
  maxDepth?: number
}

export type LookupOutcome = 'records' | 'nodata' | 'nxdomain' | 'temporary' | 'loop' | 'depth'

export interface UnaptrResult {
  uris: DiscoveredUri[]
  /** A lookup failed temporarily (timeout, SERVFAIL…): a later retry may find more. */
  temporary: boolean
  /** Every name looked up, with its outcome. */
  trace: { name: string; outcome: LookupOutcome; detail?: string }[]
}

/** Lookups one resolution makes at most, however wide the tree of non-terminal records. */
export const MAX_LOOKUPS = 32

interface Wanted {
  service: string
  protocols: ReadonlySet<string>
  maxDepth: number
}

/**
 * U-NAPTR for `name` and application service `service`: a tag (`'ALTO'`, protocols `https`, plus
 * `http` when `allowHttp`) or a full service parameter (`'ALTO:https'`, RFC 8686 §3.1 "SP").
 */
export async function resolveUnaptr(resolver: NaptrResolver, name: string, service: string, options: UnaptrOptions = {}): Promise<UnaptrResult> {
  const start = normalizeDomainName(name)
  const maxDepth = options.maxDepth ?? 5
  if (!Number.isInteger(maxDepth) || maxDepth < 0) throw createAltoError('ALTO_ERR_BAD_DISCOVERY_INPUT', [`option maxDepth must be an integer >= 0, got ${String(maxDepth)}`])
  const wanted = parseServiceParameter(service, options.allowHttp ?? false, maxDepth)
  const result: UnaptrResult = { uris: [], temporary: false, trace: [] }
  const uris = await resolveName(resolver, start, wanted, 0, [], result)
  const seen = new Set<string>()
  result.uris = uris.filter((found) => !seen.has(found.uri) && seen.add(found.uri))
  return result
}

function parseServiceParameter(service: string, allowHttp: boolean, maxDepth: number): Wanted {
  const [tag = '', ...protocols] = String(service).toLowerCase().split(':')
  if (!/^[a-z0-9][a-z0-9.+-]*$/.test(tag) || protocols.some((p) => !/^[a-z0-9][a-z0-9.+-]*$/.test(p))) {
    throw createAltoError('ALTO_ERR_BAD_DISCOVERY_INPUT', [`not a U-NAPTR service parameter: ${JSON.stringify(service)}`])
  }
  const acceptable = allowHttp ? ['https', 'http'] : ['https']
  return { service: tag, protocols: new Set((protocols.length > 0 ? protocols : acceptable).filter((p) => acceptable.includes(p))), maxDepth }
}

async function resolveName(resolver: NaptrResolver, name: string, wanted: Wanted, depth: number, path: readonly string[], result: UnaptrResult): Promise<DiscoveredUri[]> {
  if (path.includes(name)) {
    result.trace.push({ name, outcome: 'loop', detail: `${path.at(-1)} leads back to ${name}` })
    return []
  }
  if (depth > wanted.maxDepth) {
    result.trace.push({ name, outcome: 'depth', detail: `more than ${wanted.maxDepth} non-terminal records in a row` })
    return []
  }
  if (result.trace.filter((step) => step.outcome !== 'loop' && step.outcome !== 'depth').length >= MAX_LOOKUPS) {
    result.trace.push({ name, outcome: 'depth', detail: `lookup budget of ${MAX_LOOKUPS} spent` })
    return []
  }
  let answer
  try {
    answer = await resolver.naptr(name)
  } catch (error) {
    // An injected resolver that throws is treated like one that timed out (RFC 8686 §3.5).
    answer = { kind: 'temporary' as const, reason: error instanceof Error ? error.message : String(error) }
  }
  if (answer.kind === 'temporary') {
    result.temporary = true
    result.trace.push({ name, outcome: 'temporary', detail: answer.reason })
    return []
  }
  if (answer.kind !== 'records') {
    result.trace.push({ name, outcome: answer.kind })
    return []
  }
  const usable = answer.records.filter((record) => isTerminal(record, wanted) || isNonTerminal(record, wanted))
  result.trace.push({ name, outcome: 'records', detail: `${answer.records.length} NAPTR, ${usable.length} for ${wanted.service.toUpperCase()}` })
  usable.sort((a, b) => a.order - b.order || a.preference - b.preference)
  for (let i = 0; i < usable.length; ) {
    const order = usable[i]!.order
    const found: DiscoveredUri[] = []
    for (; i < usable.length && usable[i]!.order === order; i++) {
      const record = usable[i]!
      if (isTerminal(record, wanted)) {
        const uri = terminalUri(record, wanted)
        if (uri !== undefined) found.push({ uri, order: record.order, preference: record.preference })
      } else {
        const next = await resolveName(resolver, normalizeDomainName(record.replacement), wanted, depth + 1, [...path, name], result)
        for (const { uri } of next) found.push({ uri, order: record.order, preference: record.preference })
      }
    }
    // RFC 3403 §4.1: once an ORDER group matched, records of higher ORDER are not considered.
    if (found.length > 0) return found
  }
  return []
}

function isDomainName(name: string): boolean {
  try {
    normalizeDomainName(name)
    return true
  } catch {
    return false
  }
}

function splitServices(services: string): { service: string; protocols: string[] } {
  const [service = '', ...protocols] = services.toLowerCase().split(':')
  return { service, protocols }
}

function isTerminal(record: NaptrRecord, wanted: Wanted): boolean {
  if (record.flags.toLowerCase() !== 'u' || record.replacement !== '') return false
  const { service, protocols } = splitServices(record.services)
  return service === wanted.service && protocols.some((p) => wanted.protocols.has(p))
}

function isNonTerminal(record: NaptrRecord, wanted: Wanted): boolean {
  if (record.flags !== '' || record.regexp !== '' || !isDomainName(record.replacement)) return false
  if (record.services === '') return true
  const { service, protocols } = splitServices(record.services)
  return service === wanted.service && (protocols.length === 0 || protocols.some((p) => wanted.protocols.has(p)))
}

/** The URI of a terminal record, when its regexp is a literal whole-string replacement to a URI we accept. */
function terminalUri(record: NaptrRecord, wanted: Wanted): string | undefined {
  const uri = literalReplacement(record.regexp)
  if (uri === undefined || /[\s\x00-\x1f\x7f]/.test(uri)) return undefined
  let parsed: URL
  try {
    parsed = new URL(uri)
  } catch {
    return undefined
  }
  const scheme = parsed.protocol.slice(0, -1)
  const listed = splitServices(record.services).protocols
  return wanted.protocols.has(scheme) && listed.includes(scheme) && parsed.hostname !== '' ? uri : undefined
}

/**
 * `<d>.*<d><repl><d>[i]` (RFC 3402 §3.2) -> repl with `\<d>` and `\\` unescaped; undefined for any
 * other regexp, including back-references (`\1`), which U-NAPTR has no use for (RFC 4848 §2.2).
 */
export function literalReplacement(regexp: string): string | undefined {
  const delimiter = regexp[0]
  if (delimiter === undefined || /[0-9\\i]/.test(delimiter)) return undefined
  const parts: string[] = []
  let current = ''
  let i = 1
  for (; i < regexp.length && parts.length < 2; i++) {
    const c = regexp[i]!
    if (c === '\\') {
      const next = regexp[++i]
      if (next === undefined) return undefined
      current += c + next
    } else if (c === delimiter) {
      parts.push(current)
      current = ''
    } else {
      current += c
    }
  }
  const flags = regexp.slice(i)
  if (parts.length !== 2 || (flags !== '' && flags !== 'i')) return undefined
  const [ere, repl] = parts as [string, string]
  if (ere !== '.*' && ere !== '^.*$') return undefined
  let out = ''
  for (let j = 0; j < repl.length; j++) {
    const c = repl[j]!
    if (c !== '\\') {
      out += c
      continue
    }
    const next = repl[++j]!
    if (/[0-9]/.test(next)) return undefined
    out += next
  }
  return out === '' ? undefined : out
}

/** Why a discovery found no URI, in one line: each name with its outcome, and whether a retry may help. */
export function explainNoUri(result: UnaptrResult): string {
  const steps = result.trace.map((step) => `${step.name} ${step.outcome === 'records' ? `has no usable ALTO record (${step.detail ?? ''})` : step.outcome.toUpperCase()}${step.outcome === 'temporary' && step.detail ? ` (${step.detail})` : ''}`)
  const tail = result.temporary ? '; some lookups failed temporarily, a later retry may succeed' : ''
  return `${steps.join(', ') || 'nothing looked up'}${tail}`
}

/** ALTO_ERR_DISCOVERY_FAILED for `subject` (a domain, address or prefix), explained by the result's trace. */
export function discoveryFailedError(subject: string, result: UnaptrResult): AltoError {
  return createAltoError('ALTO_ERR_DISCOVERY_FAILED', [subject, explainNoUri(result)])
}
