/**
 * The client guide's example application runs as documented against the default network.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { buildSnapshot } from '../../src/provisioning/snapshot.ts'
import { defaultNetworkSpec } from '../../src/provisioning/default-network.ts'
import { createAltoServer } from '../../src/server/app.ts'

const example = fileURLToPath(new URL('../../examples/p2p-peer.ts', import.meta.url))

function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', example, ...args])
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('close', (status) => (clearTimeout(timer), resolve({ status, stdout, stderr })))
  })
}

test('examples/p2p-peer.ts connects to the best peers, one in five random', async (t) => {
  const server = createAltoServer(buildSnapshot(defaultNetworkSpec()), { port: 0, logger: pino({ level: 'silent' }) })
  const url = await server.listen()
  t.after(() => server.close())
  const candidates = ['10.1.7.7:6881', '10.1.8.8:6881', '10.1.9.9:6881', '10.1.10.10:6881', '10.6.0.1:6881', '198.51.100.9:6881', '203.0.113.5:6881']
  const result = await run([url, '10.1.2.3', ...candidates])
  assert.equal(result.status, 0, result.stderr)
  const lines = result.stdout.trim().split('\n')
  assert.equal(lines.length, 5)
  // Four Warsaw peers by cost, then the fifth place drawn at random from the rest.
  for (const line of lines.slice(0, 4)) assert.match(line, /^connect 10\.1\.\d+\.\d+:6881 {2}\(region-warszawa, cost 0\.5\)$/)
  assert.match(lines[4]!, /^connect (10\.6\.0\.1|198\.51\.100\.9|203\.0\.113\.5):6881 {2}\(\S+, random pick\)$/)
})
