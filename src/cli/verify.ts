/**
 * @module cli/verify
 * `alto verify BUNDLE`: check a redistribution bundle against keys the user trusts — a JWKS
 * (URL or file), or the authoritative server given by URL or found by discovery — and,
 * optionally, against the request the user wants answered. Exit 0 when valid, 1 with the reason
 * when not, 2 on bad usage.
 */
import { readFileSync } from 'node:fs'
import { Option, type Command } from 'commander'
import { Agent } from 'undici'
import { AltoServerLocator, discoverClient } from '../client/discover.ts'
import { isAltoError } from '../protocol/errors.ts'
import { MediaType } from '../protocol/media-types.ts'
import type { CostMode } from '../protocol/types.ts'
import { BUNDLE_MEDIA_TYPE } from '../redistribution/bundle.ts'
import { httpGet, type HttpOptions } from '../redistribution/http.ts'
import { parseIrd, reusableResources } from '../redistribution/ird.ts'
import { JwksKeys, ServerKeys, type KeySource } from '../redistribution/keys.ts'
import { isBundleRejectedError } from '../redistribution/reasons.ts'
import { verifyBundle, type Wanted } from '../redistribution/verify.ts'
import { EXIT, ExitError } from './exit.ts'
import { collect } from './options.ts'

interface VerifyFlags {
  jwks?: string
  server?: string
  domain?: string
  for?: string
  dns?: string[]
  allowHttp?: boolean
  issuer?: string
  uri?: string
  resource?: string
  costType?: string
  request?: string
  json?: boolean
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('Check a redistributed ALTO answer (an application/alto-bundle+json file): signature, digests, issuer, expiry and, when told, that it answers your request')
    .argument('<bundle>', 'bundle file, - for standard input, or the http:// URL a sharing peer serves it at')
    .addOption(new Option('--jwks <url|file>', 'trust the keys of this JWKS').conflicts(['server', 'domain', 'for']))
    .addOption(new Option('--server <url>', 'the authoritative ALTO server (its IRD URI): keys from the JWKS it lists').conflicts(['domain', 'for']))
    .addOption(new Option('--domain <name>', 'find the authoritative server by RFC 7286 discovery for this domain').conflicts('for'))
    .option('--for <address>', 'find the authoritative server by RFC 8686 discovery for this address')
    .option('--dns <host:port>', 'DNS server for discovery; repeatable', collect)
    .option('--allow-http', 'accept ALTO:http URIs in discovery')
    .option('--issuer <uri>', 'with --jwks: the IRD URI the attestation must be issued by')
    .option('--uri <uri>', 'the resource URI you want answered')
    .option('--resource <id>', 'the resource you want, by IRD id (needs the server)')
    .option('--cost-type <name|mode/metric>', 'the cost type you want, e.g. numerical/routingcost, or an IRD name with the server')
    .option('--request <file>', 'the POST parameters you want answered (JSON)')
    .option('--json', 'print {"valid", "reason"?, "message"?, ...} as one JSON line')
    .addHelpText(
      'after',
      `
Examples:
  alto verify networkmap.bundle.json --server https://alto.isp.example/
  alto verify http://127.0.0.1:40001/alto-bundles/<hash> --for 198.51.100.7 --cost-type numerical/routingcost
  alto verify costmap.bundle.json --jwks keys.json --issuer https://alto.isp.example/

Keys come only from what you name here, never from the bundle. Exit status: 0 valid; 1 rejected
(the reason is printed: response-digest, wrong-request, expired, unknown-key, … see
docs/redistribution.md); 2 bad usage or an unreadable file.`,
    )
    .action(async (file: string, flags: VerifyFlags) => {
      // One connection pool, closed at the end, so that no kept-alive socket holds the process.
      const http = { dispatcher: new Agent({ keepAliveTimeout: 1000 }) }
      try {
        await run(file, flags, http)
      } finally {
        await http.dispatcher.close()
      }
    })
}

async function run(file: string, flags: VerifyFlags, http: HttpOptions): Promise<void> {
  const bytes = await readBundle(file, http)
  const anchor = await trustAnchor(flags, http)
  const wanted = await wantedOf(flags, anchor.server, http)
  let verified
  try {
    verified = await verifyBundle(bytes, wanted, { keys: anchor.keys })
  } catch (error) {
    if (!isBundleRejectedError(error)) throw error
    if (flags.json) process.stdout.write(`${JSON.stringify({ valid: false, reason: error.reason, message: error.message })}\n`)
    throw new ExitError(EXIT.failed, error.message)
  }
  const c = verified.claims
  const summary = {
    valid: true,
    issuer: c.iss,
    method: c.req.method,
    uri: c.req.uri,
    contentType: c.res.ct,
    kid: verified.kid,
    issuedAt: new Date(verified.issuedAt).toISOString(),
    expiresAt: new Date(verified.expiresAt).toISOString(),
    vtag: c.vtag,
    dependentVtags: c['dependent-vtags'],
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`)
    return
  }
  const tags = (c.vtag ? [c.vtag] : (c['dependent-vtags'] ?? [])).map((v) => `${v['resource-id']}/${v.tag}`).join(', ') || 'none'
  process.stdout.write(`valid: ${c.req.method} ${c.req.uri} -> ${c.res.ct} (vtags: ${tags}); issued by ${c.iss} with key ${verified.kid} at ${summary.issuedAt}, expires ${summary.expiresAt}\n`)
}

async function readBundle(file: string, http: HttpOptions): Promise<Buffer> {
  if (/^https?:\/\//i.test(file)) {
    const answer = await httpGet(file, BUNDLE_MEDIA_TYPE, http)
    if (answer.status !== 200) throw new ExitError(EXIT.failed, `${file} answered HTTP ${answer.status}`)
    return answer.body
  }
  try {
    return file === '-' ? readFileSync(0) : readFileSync(file)
  } catch (error) {
    throw new ExitError(EXIT.usage, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
  }
}

/** The keys to trust and, when known, the authoritative server's IRD URI. */
async function trustAnchor(flags: VerifyFlags, http: HttpOptions): Promise<{ keys: KeySource; server?: string }> {
  if (flags.jwks) {
    let jwks: unknown
    const source = flags.jwks
    try {
      jwks = JSON.parse(/^https?:\/\//i.test(source) ? (await httpGet(source, 'application/jwk-set+json,application/json', http)).body.toString('utf8') : readFileSync(source, 'utf8'))
      return { keys: new JwksKeys(jwks, { description: source, ...(flags.issuer ? { issuer: flags.issuer } : {}) }) }
    } catch (error) {
      if (isAltoError(error)) throw error
      throw new ExitError(EXIT.usage, `--jwks ${source}: ${(error as Error).message}`)
    }
  }
  let server = flags.server
  const discovery = { allowHttp: flags.allowHttp ?? false, ...(flags.dns ? { dns: flags.dns } : {}) }
  if (!server && flags.domain) {
    const client = await discoverClient(flags.domain, discovery)
    server = client.irdUri
    await client.close()
  }
  if (!server && flags.for) {
    const locator = new AltoServerLocator(discovery)
    try {
      const located = await locator.locate(flags.for)
      if (!located.client) throw new ExitError(EXIT.failed, `no ALTO server found for ${flags.for} by RFC 8686 discovery`)
      server = located.client.irdUri
    } finally {
      await locator.close()
    }
  }
  if (!server) throw new ExitError(EXIT.usage, 'say which keys to trust: --jwks URL|FILE, --server URL, --domain NAME or --for ADDRESS')
  try {
    return { keys: new ServerKeys({ issuer: server, ...http }), server }
  } catch {
    throw new ExitError(EXIT.usage, `--server ${server} is not a URL`)
  }
}

async function wantedOf(flags: VerifyFlags, server: string | undefined, http: HttpOptions): Promise<Wanted | undefined> {
  if (!flags.uri && !flags.resource && !flags.costType && !flags.request) return undefined
  let uri = flags.uri
  let costType: Wanted['costType']
  let mediaType: string | undefined
  const literal = flags.costType && /^(numerical|ordinal)\/([A-Za-z0-9:_.-]+)$/.exec(flags.costType)
  if (literal) costType = { 'cost-mode': literal[1] as CostMode, 'cost-metric': literal[2]! }
  if (flags.resource || (flags.costType && !literal)) {
    if (!server) throw new ExitError(EXIT.usage, '--resource and IRD cost type names need --server, --domain or --for')
    const answer = await httpGet(server, MediaType.directory, http)
    const ird = answer.status === 200 ? parseIrd(answer.body) : undefined
    if (!ird) throw new ExitError(EXIT.failed, `cannot read the IRD at ${server}`)
    if (flags.resource) {
      const entry = ird.resources[flags.resource]
      if (!entry) throw new ExitError(EXIT.usage, `the IRD at ${server} has no resource ${flags.resource}`)
      uri = new URL(entry.uri, server).href
      mediaType = entry['media-type']
      const reusable = reusableResources(ird, server).find((r) => r.id === flags.resource)
      costType ??= reusable?.costType
    }
    if (flags.costType && !literal) {
      const type = ird.meta?.['cost-types']?.[flags.costType]
      if (!type) throw new ExitError(EXIT.usage, `the IRD at ${server} has no cost type named ${flags.costType}`)
      costType = type
    }
  }
  if (!uri) throw new ExitError(EXIT.usage, 'say which resource you want: --uri URI or --resource ID')
  const wanted: Wanted = { uri }
  if (mediaType) wanted.mediaType = mediaType
  if (costType) wanted.costType = costType
  if (flags.request) {
    try {
      wanted.request = JSON.parse(readFileSync(flags.request, 'utf8'))
    } catch (error) {
      throw new ExitError(EXIT.usage, `--request ${flags.request}: ${(error as Error).message}`)
    }
  }
  return wanted
}
