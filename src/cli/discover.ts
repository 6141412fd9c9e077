/**
 * @module cli/discover
 * `alto discover`: find ALTO servers by DNS, for a domain (RFC 7286) or for an address or prefix
 * (RFC 8686), and print their IRD URIs best-first.
 */
import { readFileSync } from 'node:fs'
import { InvalidArgumentError, Option, type Command } from 'commander'
import { discoverDomain, discoveryFailedError, parseDhclientLeases, UdpNaptrResolver, xdomdisc, type UnaptrResult } from '../discovery/index.ts'
import { EXIT, ExitError } from './exit.ts'
import { collect } from './options.ts'

interface DiscoverFlags {
  domain?: string
  for?: string
  dhcpLeases?: string
  dns?: string[]
  timeout: number
  tries: number
  allowHttp?: boolean
  json?: boolean
}

function parseMs(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('milliseconds, a whole number of at least 1')
  return n
}

export function registerDiscover(program: Command): Command {
  return program
    .command('discover')
    .description('Find ALTO servers by DNS: for a domain (RFC 7286) or for the network of an address (RFC 8686)')
    .addOption(new Option('--domain <name>', 'the access network\'s domain (from configuration or DHCP option 213/15)').conflicts(['for', 'dhcpLeases']))
    .addOption(new Option('--for <address[/len]>', 'an IPv4/IPv6 address or prefix: the server responsible for it (IPv4 /8 or longer, IPv6 /32 or longer)').conflicts('dhcpLeases'))
    .option('--dhcp-leases <file>', 'take the domain from a dhclient lease file (option 213, else domain-name)')
    .option('--dns <host:port>', 'DNS server to ask, e.g. a local validating resolver; repeatable (default: the system\'s)', collect)
    .option('--timeout <ms>', 'time per DNS try', parseMs, 2000)
    .option('--tries <n>', 'tries per DNS server', parseMs, 2)
    .option('--allow-http', 'accept ALTO:http URIs too (default: https only)')
    .option('--json', 'print [{"uri","order","preference"}]; on failure {"error", "tried": [...]}')
    .addHelpText(
      'after',
      `
Examples:
  alto discover --domain example.net
  alto discover --for 198.51.100.7 --dns 127.0.0.1:53
  alto discover --for 2001:db8:1::/48 --json

Exit status: 0 with URIs best-first (order, then preference); 1 when nothing was found
(with the names tried and their outcome); 2 for bad input such as an IPv4 prefix shorter than /8.
docs/discovery.md shows the DNS records an operator publishes.`,
    )
    .action(async (flags: DiscoverFlags) => {
      let domain = flags.domain
      if (flags.dhcpLeases) {
        let text: string
        try {
          text = readFileSync(flags.dhcpLeases, 'utf8')
        } catch (error) {
          throw new ExitError(EXIT.usage, `cannot read ${flags.dhcpLeases}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
        }
        domain = parseDhclientLeases(text)[0]
        if (!domain) throw new ExitError(EXIT.failed, `${flags.dhcpLeases} has no access-network domain (option 213) or domain-name`)
      }
      if (!domain && !flags.for) throw new ExitError(EXIT.usage, 'give --domain NAME, --for ADDRESS[/LEN] or --dhcp-leases FILE')
      const resolver = new UdpNaptrResolver({ timeoutMs: flags.timeout, tries: flags.tries, ...(flags.dns ? { servers: flags.dns } : {}) })
      const options = { allowHttp: flags.allowHttp ?? false }
      const subject = domain ?? flags.for!
      let result: UnaptrResult
      try {
        result = domain ? await discoverDomain(resolver, domain, options) : await xdomdisc(resolver, flags.for!, options)
      } finally {
        resolver.close()
      }
      if (result.uris.length === 0) {
        const error = discoveryFailedError(subject, result)
        if (flags.json) process.stdout.write(`${JSON.stringify({ error: error.message, temporary: result.temporary, tried: result.trace })}\n`)
        throw new ExitError(EXIT.failed, error.message)
      }
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(result.uris.map(({ uri, order, preference }) => ({ uri, order, preference })))}\n`)
        return
      }
      for (const { uri, order, preference } of result.uris) process.stdout.write(`${uri}\t(order ${order}, preference ${preference})\n`)
      if (result.temporary) process.stderr.write('alto: note: some DNS lookups failed temporarily; a later retry may find a closer server\n')
    })
}
