/**
 * @module discovery/rfc7286
 * RFC 7286 ALTO server discovery for the client's own network: a domain name (§3.1: configured,
 * or from DHCP) -> U-NAPTR with `ALTO:https` (§3.2) -> the URIs of the server's IRD.
 *
 * Node cannot read DHCP options, so the domain comes from the caller: configuration, a command
 * line flag, or {@link parseDhclientLeases} over an ISC dhclient lease file. Per §3.1.2 a DHCPv4
 * client tries option 213 (OPTION_V4_ACCESS_DOMAIN, RFC 5986) first and option 15 (Domain Name,
 * RFC 2132) after it.
 */
import { normalizeDomainName, type NaptrResolver } from './dns.ts'
import { resolveUnaptr, type UnaptrOptions, type UnaptrResult } from './unaptr.ts'

/**
 * RFC 7286 §3: the IRD URIs for a domain. Throws ALTO_ERR_BAD_DISCOVERY_INPUT when `domain` is not
 * a domain name; a domain without ALTO records gives empty `uris` (see `trace` for why).
 */
export async function discoverDomain(resolver: NaptrResolver, domain: string, options: UnaptrOptions = {}): Promise<UnaptrResult> {
  return resolveUnaptr(resolver, normalizeDomainName(domain), 'ALTO', options)
}

export interface DhclientLeaseOptions {
  /**
   * Names under which the lease file may carry option 213: ISC DHCP built with RFC 5986 support
   * calls it `v4-access-domain`; otherwise dhclient writes `unknown-213`, or the name the
   * administrator declared in dhclient.conf (`option alto-domain code 213 = string;`).
   * @default ['unknown-213', 'v4-access-domain']
   */
  accessDomainOptions?: readonly string[]
}

/**
 * Domain names from an ISC dhclient lease file (`/var/lib/dhcp/dhclient*.leases`): the values of
 * option 213 first, then of option 15 (`domain-name`), each from the newest lease (the last in the
 * file) back, without duplicates.
 *
 * An option dhclient has no type for is written as hex bytes (`7:65:78:…:0`) or, when every byte
 * is printable, as a quoted string with `\ooo` escapes. The value is a name in DNS wire format
 * (RFC 5986); a plain-text name (how dhclient prints a known domain-name option) is accepted too.
 */
export function parseDhclientLeases(text: string, options: DhclientLeaseOptions = {}): string[] {
  const accessOptions = new Set(options.accessDomainOptions ?? ['unknown-213', 'v4-access-domain'])
  const access: string[][] = []
  const domain: string[][] = []
  let lease = -1
  for (const statement of statements(text)) {
    if (statement[0] === 'lease') lease++
    if (statement[0] !== 'option' || statement.length < 3 || lease < 0) continue
    const [, option, ...value] = statement as [string, string, ...string[]]
    if (accessOptions.has(option)) (access[lease] ??= []).push(...accessDomainNames(value.join(' ')))
    else if (option === 'domain-name') (domain[lease] ??= []).push(...value.flatMap((v) => decodeValue(v).toString('latin1').split(/\s+/)))
  }
  const names = [...access.reverse().flat(), ...domain.reverse().flat()].flatMap((name) => {
    try {
      return [normalizeDomainName(name)]
    } catch {
      return []
    }
  })
  return [...new Set(names)]
}

/**
 * Statements (split at `;`, `{` and `}`) as lists of tokens; quoted strings stay one token with
 * their quotes and escapes.
 */
function statements(text: string): string[][] {
  const out: string[][] = []
  let tokens: string[] = []
  let token = ''
  const endToken = (): void => {
    if (token !== '') tokens.push(token)
    token = ''
  }
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c === '"') {
      let j = i + 1
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1
      token += text.slice(i, j + 1)
      i = j
    } else if (c === '#' && token === '') {
      while (i < text.length && text[i] !== '\n') i++
    } else if (c === ';' || c === '{' || c === '}') {
      endToken()
      if (c === '{') tokens.push('{')
      if (tokens.length > 0) out.push(tokens)
      tokens = []
    } else if (/\s/.test(c)) {
      endToken()
    } else {
      token += c
    }
  }
  return out
}

/** A dhclient option value as bytes: `"quoted\ooo"` or colon-separated hex (`7:65:0`). */
function decodeValue(value: string): Buffer {
  if (value.startsWith('"')) {
    const bytes: number[] = []
    const body = value.slice(1, value.endsWith('"') && value.length > 1 ? -1 : undefined)
    for (let i = 0; i < body.length; i++) {
      if (body[i] !== '\\') {
        bytes.push(body.charCodeAt(i) & 0xff)
      } else if (/^[0-7]{3}$/.test(body.slice(i + 1, i + 4))) {
        bytes.push(parseInt(body.slice(i + 1, i + 4), 8) & 0xff)
        i += 3
      } else if (i + 1 < body.length) {
        bytes.push(body.charCodeAt(++i) & 0xff)
      }
    }
    return Buffer.from(bytes)
  }
  if (/^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2})*$/.test(value)) return Buffer.from(value.split(':').map((h) => parseInt(h, 16)))
  return Buffer.from(value, 'latin1')
}

/** Option 213's names: DNS wire format (RFC 1035 §3.1, no compression), else plain text. */
function accessDomainNames(value: string): string[] {
  const bytes = decodeValue(value)
  const names: string[] = []
  let labels: string[] = []
  for (let i = 0; i < bytes.length; ) {
    const length = bytes[i]!
    if (length > 63 || i + 1 + length > bytes.length) return [bytes.toString('latin1').replace(/\0+$/, '')]
    if (length === 0) {
      if (labels.length > 0) names.push(labels.join('.'))
      labels = []
    } else {
      labels.push(bytes.toString('latin1', i + 1, i + 1 + length))
    }
    i += 1 + length
  }
  if (labels.length > 0) names.push(labels.join('.'))
  return names
}
