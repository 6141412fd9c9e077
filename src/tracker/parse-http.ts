/**
 * @module tracker/parse-http
 * HTTP tracker requests (BEP 3 announce and scrape, BEP 23 compact, BEP 7 IPv6). info_hash and
 * peer_id are binary, so the query string is percent-decoded to bytes, not to text.
 */
import { parseAddress } from '../netmap/address.ts'
import { AnnounceError, type AnnounceEvent, type AnnounceParams, type ScrapeParams } from './announce.ts'

/** Query parameters as raw bytes; repeated keys keep every value. */
export function parseQuery(query: string): Map<string, Buffer[]> {
  const out = new Map<string, Buffer[]>()
  if (query === '') return out
  for (const part of query.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const key = percentDecode(eq < 0 ? part : part.slice(0, eq)).toString('latin1')
    const value = percentDecode(eq < 0 ? '' : part.slice(eq + 1))
    const list = out.get(key)
    if (list) list.push(value)
    else out.set(key, [value])
  }
  return out
}

function percentDecode(text: string): Buffer {
  const bytes: number[] = []
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16))
      i += 2
    } else if (c < 0x80) {
      bytes.push(c)
    } else {
      bytes.push(...Buffer.from(text[i]!, 'utf8'))
    }
  }
  return Buffer.from(bytes)
}

function one(params: Map<string, Buffer[]>, key: string): Buffer | undefined {
  return params.get(key)?.[0]
}

function integer(params: Map<string, Buffer[]>, key: string, options: { required?: boolean; max?: number } = {}): number | undefined {
  const raw = one(params, key)
  if (raw === undefined || raw.length === 0) {
    if (options.required) throw new AnnounceError(`missing ${key}`)
    return undefined
  }
  const text = raw.toString('latin1')
  if (!/^\d{1,20}$/.test(text)) throw new AnnounceError(`invalid ${key}`)
  const value = Number(text)
  if (options.max !== undefined && value > options.max) throw new AnnounceError(`invalid ${key}`)
  return value
}

function infoHashOf(raw: Buffer | undefined): string {
  if (raw === undefined) throw new AnnounceError('missing info_hash')
  if (raw.length !== 20) throw new AnnounceError('invalid info_hash: must be 20 bytes')
  return raw.toString('hex')
}

const EVENTS: Record<string, AnnounceEvent> = { started: 'started', completed: 'completed', stopped: 'stopped', '': 'update', empty: 'update', paused: 'update' }

/** Parse an announce; `remote` is the socket's address (IPv4-mapped IPv6 already unwrapped). */
export function parseHttpAnnounce(query: string, remote: string): AnnounceParams {
  const params = parseQuery(query)
  const infoHash = infoHashOf(one(params, 'info_hash'))
  const peerId = one(params, 'peer_id')
  if (peerId === undefined) throw new AnnounceError('missing peer_id')
  if (peerId.length !== 20) throw new AnnounceError('invalid peer_id: must be 20 bytes')
  const port = integer(params, 'port', { required: true, max: 65535 })!
  if (port === 0) throw new AnnounceError('invalid port')
  const eventText = one(params, 'event')?.toString('latin1') ?? ''
  const event = EVENTS[eventText]
  if (event === undefined) throw new AnnounceError(`invalid event ${eventText}`)
  const family = remote.includes(':') ? 'ipv6' : 'ipv4'
  const address = parseAddress(family, remote)
  if (!address) throw new AnnounceError('unusable client address')
  const left = integer(params, 'left')
  const numwant = integer(params, 'numwant')
  return {
    transport: 'http',
    infoHash,
    peerId,
    family,
    ip: address.text,
    bytes: address.bytes,
    port,
    left: left ?? Number.NaN,
    event,
    numwant,
    compact: one(params, 'compact')?.toString('latin1') !== '0',
    noPeerId: one(params, 'no_peer_id')?.toString('latin1') === '1',
  }
}

export function parseHttpScrape(query: string): ScrapeParams {
  const params = parseQuery(query)
  return { infoHashes: (params.get('info_hash') ?? []).map(infoHashOf) }
}
