/**
 * `alto build-map` as a user runs it: real MRT dumps in, an RFC 7285 network map file out, the
 * summary on stderr or as JSON, and the exit statuses of DESIGN.md.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { NetworkMap } from '../../src/netmap/network-map.ts'
import type { NetworkMapBody } from '../../src/protocol/types.ts'
import { runAlto } from '../helpers/cli.ts'

const MRT = fileURLToPath(new URL('../fixtures/mrt/', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'altokit-build-map-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const out = (name: string): string => join(dir, name)

function readMap(file: string): NetworkMapBody {
  const body = JSON.parse(readFileSync(file, 'utf8')) as NetworkMapBody
  // A valid RFC 7285 map whose tag is the content digest NetworkMap gives it.
  const map = NetworkMap.fromData(body.meta.vtag['resource-id'], body['network-map'])
  assert.equal(body.meta.vtag.tag, map.vtag)
  return body
}

const RULES = `network-map: isp-network-map
default-pid: default
catch-all: true
rules:
  - pid: region-100
    community: "65000:100"
  - pid: region-400
    community: "65000:400"
  - pid: customers
    prefixes: [192.168.0.0/16]
    next-hop: [192.168.3.12, 192.168.6.0/24]
`

test('without rules: one PID per origin AS from plain, gzip and bzip2 dumps; summary on stderr', async () => {
  const file = out('per-as.json')
  const { status, stdout, stderr } = await runAlto(['build-map', '--mrt', join(MRT, 'quagga_rib.gz'), '--mrt', join(MRT, 'openbgpd_bgp.bz2'), '--mrt', join(MRT, 'bird-mrtdump_rib'), '-o', file])
  assert.equal(status, 0, stderr)
  assert.equal(stdout, '')
  const body = readMap(file)
  assert.equal(body.meta.vtag['resource-id'], 'network-map')
  // 172.17.x.0/24 also comes from AS 65534 (a second ADD-PATH path in bird-mrtdump_rib): equal
  // ranks, so the route read first (AS 64512, quagga_rib) decides.
  assert.deepEqual(Object.keys(body['network-map']).sort(), ['as64512', 'as65015', 'default'])
  assert.deepEqual(body['network-map'].as64512, { ipv4: ['172.17.0.0/23', '172.17.2.0/24'], ipv6: ['fd01:1::/64', 'fd01:1:1::/64', 'fd01:1:2::/64'] })
  assert.match(stderr, /^wrote .*per-as\.json: network map network-map, vtag [0-9a-f]{64}$/m)
  assert.match(stderr, /read: +3 file\(s\), \d+ records: 27 RIB entries, 93 announcements, 0 withdrawals/)
  assert.match(stderr, /skipped: +0 corrupt, 0 truncated/)
  assert.ok(!stderr.includes('\r'), 'no progress bar when stderr is not a terminal')
})

test('with rules: PIDs from communities and next hops, catch-all, and a JSON summary on stdout', async () => {
  const rules = out('rules.yaml')
  writeFileSync(rules, RULES)
  const file = out('rules.json')
  const { status, stdout, stderr } = await runAlto(['build-map', '--mrt', join(MRT, 'bird-mrtdump_rib'), '--mrt', join(MRT, 'openbgpd_rib_table-v2'), '--rules', rules, '-o', file, '--json'])
  assert.equal(status, 0, stderr)
  const body = readMap(file)
  assert.equal(body.meta.vtag['resource-id'], 'isp-network-map')
  // bird-mrtdump_rib has each 172.17.x.0/24 twice (ADD-PATH): 65000:100 (region-100) and
  // 65000:400; the earlier rule wins for every prefix.
  assert.deepEqual(body['network-map']['region-100'], { ipv4: ['172.17.0.0/23', '172.17.2.0/24'] })
  assert.equal(body['network-map']['region-400'], undefined)
  assert.deepEqual(body['network-map'].customers, { ipv4: ['192.168.0.12/30', '192.168.4.0/23'] })
  assert.deepEqual(body['network-map'].default!.ipv6, ['::/0'])
  assert.ok(body['network-map'].default!.ipv4!.includes('0.0.0.0/0'))
  const summary = JSON.parse(stdout)
  assert.equal(summary.resourceId, 'isp-network-map')
  assert.equal(summary.vtag, body.meta.vtag.tag)
  assert.equal(summary.input.files, 2)
  assert.equal(summary.input.rib, 18 + 31)
  assert.equal(summary.warnings, 0)
  assert.deepEqual(
    summary.byRule.map((r: { pid: string; line: number; prefixes: number }) => [r.pid, r.line, r.prefixes]),
    [
      ['region-100', 5, 3],
      ['region-400', 7, 0],
      ['customers', 9, 6],
    ],
  )
  assert.equal(summary.pids, 3)
  // bird-mrtdump_rib holds two dumps of the same 9 routes: the second replaces the first.
  assert.equal(summary.routes, 9 + 31)
})

test('--id names the map; --peer keeps one peer\'s routes; -o - writes the map to stdout', async () => {
  const { status, stdout, stderr } = await runAlto(['build-map', '--mrt', join(MRT, 'quagga_rib'), '--id', 'my-map', '--peer', 'FD02:0::10', '-o', '-'])
  assert.equal(status, 0, stderr)
  const body = JSON.parse(stdout) as NetworkMapBody
  assert.equal(body.meta.vtag['resource-id'], 'my-map')
  // quagga_rib: peer 192.168.0.10 sent IPv4 and IPv6 routes, fd02::10 only the IPv6 ones.
  assert.deepEqual(body['network-map'], { as64512: { ipv6: ['fd01:1::/64', 'fd01:1:1::/64', 'fd01:1:2::/64'] } })
  assert.match(stderr, /wrote the map to stdout/)
  assert.match(stderr, /routes: +3 held/)
})

test('damaged input: warnings and exit 0; with --strict exit 1 and no map written', async () => {
  const file = out('damaged.json')
  const lenient = await runAlto(['build-map', '--mrt', join(MRT, 'openbgpd_bgp.corrupt'), '--mrt', join(MRT, 'quagga_rib.truncated'), '-o', file])
  assert.equal(lenient.status, 0, lenient.stderr)
  assert.match(lenient.stderr, /alto: warning: .*openbgpd_bgp\.corrupt: offset 636: corrupt: a corrupt record header/)
  assert.match(lenient.stderr, /alto: warning: .*quagga_rib\.truncated: offset 860: truncated/)
  assert.match(lenient.stderr, /skipped: +3 corrupt, 1 truncated, 256 bytes resynchronized/)
  readMap(file)
  const strictFile = out('strict.json')
  const strict = await runAlto(['build-map', '--mrt', join(MRT, 'openbgpd_bgp.corrupt'), '-o', strictFile, '--strict'])
  assert.equal(strict.status, 1)
  assert.match(strict.stderr, /the input is damaged \(3 corrupt, 0 truncated\); no map written/)
  assert.ok(!existsSync(strictFile))
})

test('bad usage and bad input exit 2; a map with no PID exits 1', async () => {
  const badRules = out('bad-rules.yaml')
  writeFileSync(badRules, 'rules:\n  - pid: a\n    comunity: "1:2"\n')
  const noPid = out('no-pid.yaml')
  writeFileSync(noPid, 'rules:\n  - pid: a\n    community: "9:9"\n')
  const cases: [string[], number, RegExp][] = [
    [['build-map', '-o', out('x.json')], 2, /required option '--mrt <file>'/],
    [['build-map', '--mrt', join(MRT, 'quagga_rib')], 2, /required option '-o, --output <file>'/],
    [['build-map', '--mrt', join(MRT, 'nope'), '-o', out('x.json')], 2, /cannot read .*nope: no such file/],
    [['build-map', '--mrt', MRT, '-o', out('x.json')], 2, /is not a file/],
    [['build-map', '--mrt', join(MRT, 'quagga_rib'), '--rules', badRules, '-o', out('x.json')], 2, /bad-rules\.yaml:3: rules\[0\]\.comunity: unknown key \(did you mean "community"\?\)/],
    [['build-map', '--mrt', join(MRT, 'quagga_rib'), '--id', 'no spaces', '-o', out('x.json')], 2, /a resource id is 1-64 characters/],
    [['build-map', '--mrt', join(MRT, 'quagga_rib'), '--peer', 'router1', '-o', out('x.json')], 2, /an IPv4 or IPv6 address/],
    [['build-map', '--mrt', join(MRT, 'quagga_rib'), '--json', '-o', '-'], 2, /--json prints the summary on stdout/],
    [['build-map', '--mrt', join(MRT, 'quagga_rib'), '--rules', noPid, '-o', out('x.json')], 1, /no network map: the network map has no PIDs/],
  ]
  for (const [args, expected, message] of cases) {
    const { status, stderr } = await runAlto(args)
    assert.equal(status, expected, `${args.join(' ')}: ${stderr}`)
    assert.match(stderr, message, args.join(' '))
  }
})

test('--help explains the command', async () => {
  const { status, stdout } = await runAlto(['build-map', '--help'])
  assert.equal(status, 0)
  assert.match(stdout, /--mrt <file>/)
  assert.match(stdout, /--rules <file>/)
  assert.match(stdout, /Exit status: 0 map written/)
})
