/**
 * Test helpers for redistribution: an ALTO server that signs (the signer hooked into the real
 * server the way docs/redistribution.md's integration note wires it), a controllable clock, and
 * bundles made from the server's answers.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { buildSnapshot, type Snapshot } from '../../src/provisioning/snapshot.ts'
import type { NetworkSpec } from '../../src/provisioning/spec.ts'
import type { AltoServer } from '../../src/server/app.ts'
import {
  AttestationSigner,
  ATTESTATION_HEADER,
  ATTESTATION_KEYS_ID,
  ATTESTATION_KEYS_PATH,
  attestationKeysIrdEntry,
  generateSigningKey,
  JWK_SET_MEDIA_TYPE,
  type SigningOptions,
} from '../../src/server/signing.ts'
import type { Bundle } from '../../src/redistribution/bundle.ts'
import { MT, rfcServer, rfcSpec } from '../helpers/rfc-server.ts'

/** A clock tests move by hand (milliseconds). */
export class TestClock {
  t: number
  constructor(start = Date.UTC(2030, 0, 1)) {
    this.t = start
  }
  readonly now = (): number => this.t
  advance(ms: number): void {
    this.t += ms
  }
}

/** The RFC example network with other costs and vtags: the "next version" of the maps. */
export function nextVersionSpec(): NetworkSpec {
  const spec = rfcSpec()
  spec.networkMaps[0]!.vtag = 'version-two-of-the-map'
  const costs = spec.costMaps[0]!.costs
  for (const row of Object.values(costs)) for (const dst of Object.keys(row)) row[dst] = row[dst]! + 7
  return spec
}

export interface SigningServer {
  server: AltoServer
  signer: AttestationSigner
  /** Base URL with a trailing slash: the IRD URI, the issuer. */
  url: string
  /** Requests the server saw, by path. */
  counts: Map<string, number>
  /** Response body bytes the server sent, by path. */
  bytes: Map<string, number>
  setSnapshot(snapshot: Snapshot): void
  close(): Promise<void>
}

/**
 * A listening ALTO server on the RFC network that signs its answers. The hooks below stand in for
 * the lines the integration note adds to app.ts and resources.ts: the JWKS route, the IRD entry
 * listing it, and the signer's onSend hook.
 */
export async function startSigningServer(options: Partial<SigningOptions> & { snapshot?: Snapshot; listen?: boolean } = {}): Promise<SigningServer> {
  const signer = new AttestationSigner({ key: JSON.stringify(generateSigningKey()), ...options })
  // Hooks added from outside see only what fastify answers: the fast lane stays off here.
  const server = wireSigning(rfcServer({ host: '127.0.0.1', port: 0, fastLane: false }, options.snapshot ?? buildSnapshot(rfcSpec())), signer)
  const counts = new Map<string, number>()
  server.app.addHook('onRequest', async (request) => {
    const path = request.url.split('?', 1)[0]!
    counts.set(path, (counts.get(path) ?? 0) + 1)
  })
  const bytes = new Map<string, number>()
  server.app.addHook('onResponse', async (request, reply) => {
    const path = request.url.split('?', 1)[0]!
    bytes.set(path, (bytes.get(path) ?? 0) + Number(reply.getHeader('content-length') ?? 0))
  })
  const url = options.listen === false ? 'http://localhost:80/' : await server.listen()
  return { server, signer, url, counts, bytes, setSnapshot: (s) => server.setSnapshot(s), close: () => server.close() }
}

/** Hook `signer` into a server from outside (what app.ts will do inside). */
export function wireSigning(server: AltoServer, signer: AttestationSigner): AltoServer {
  const base = (request: FastifyRequest) => `http://${request.headers.host}`
  server.app.get(ATTESTATION_KEYS_PATH, async (_request, reply) => reply.type(JWK_SET_MEDIA_TYPE).header('cache-control', 'public, max-age=60').send(signer.jwksBytes))
  // Stand-in for the resources.ts line that lists the JWKS in the IRD; one buffer per IRD version,
  // as ResourceTable.ird() keeps it, so the signer's per-body cache works as it will in app.ts.
  const listed = new WeakMap<Buffer, Buffer>()
  server.app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (reply.statusCode !== 200 || reply.getHeader('content-type') !== MT.directory || reply.getHeader('content-encoding') || !Buffer.isBuffer(payload)) return payload
    let augmented = listed.get(payload)
    if (!augmented) {
      const ird = JSON.parse(payload.toString('utf8'))
      ird.resources[ATTESTATION_KEYS_ID] = attestationKeysIrdEntry(base(request))
      augmented = Buffer.from(JSON.stringify(ird))
      listed.set(payload, augmented)
    }
    return augmented
  })
  server.app.addHook('onSend', signer.onSendHook(base))
  return server
}

/** A bundle from an injected exchange with a signing server. */
export async function injectBundle(server: AltoServer, path: string, options: { accept: string; post?: { contentType: string; body: string } }): Promise<Bundle> {
  const response = await server.app.inject({
    method: options.post ? 'POST' : 'GET',
    url: path,
    headers: { accept: options.accept, ...(options.post ? { 'content-type': options.post.contentType, prefer: 'alto-attestation' } : {}) },
    ...(options.post ? { payload: options.post.body } : {}),
  })
  if (response.statusCode !== 200) throw new Error(`${path}: HTTP ${response.statusCode} ${response.body}`)
  const attestation = response.headers[ATTESTATION_HEADER]
  if (typeof attestation !== 'string') throw new Error(`${path}: no attestation`)
  return {
    attestation,
    request: { method: options.post ? 'POST' : 'GET', uri: `http://localhost:80${path}`, contentType: options.post?.contentType ?? null, body: Buffer.from(options.post?.body ?? '') },
    response: { contentType: String(response.headers['content-type']).split(';')[0]!, body: response.rawPayload },
  }
}

export { MT }
