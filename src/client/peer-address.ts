/**
 * @module client/peer-address
 * Peer addresses as applications write them: `192.0.2.1`, `192.0.2.1:6881`, `2001:db8::1`,
 * `[2001:db8::1]:6881`, or RFC 7285 typed `ipv4:…`/`ipv6:…`.
 */
import { createAltoError } from '../protocol/errors.ts'
import { parseAddress, parseTypedAddress, typedAddress, type ParsedAddress } from '../netmap/address.ts'

export interface PeerAddress {
  /** The text as given. */
  input: string
  address: ParsedAddress
  port: number | undefined
  /** RFC 7285 typed form, e.g. `ipv4:192.0.2.1`. */
  typed: string
}

export function parsePeerAddress(input: string): PeerAddress | undefined {
  const text = input.trim()
  let address: ParsedAddress | undefined
  let port: number | undefined
  if (text.startsWith('ipv4:') || text.startsWith('ipv6:')) {
    address = parseTypedAddress(text)
  } else if (text.startsWith('[')) {
    const match = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text)
    if (match) {
      address = parseAddress('ipv6', match[1]!)
      port = match[2] === undefined ? undefined : Number(match[2])
    }
  } else if (text.includes('.') && /^[\d.]+:\d{1,5}$/.test(text)) {
    const colon = text.lastIndexOf(':')
    address = parseAddress('ipv4', text.slice(0, colon))
    port = Number(text.slice(colon + 1))
  } else {
    address = parseAddress(text.includes(':') ? 'ipv6' : 'ipv4', text)
  }
  if (!address || (port !== undefined && port > 65535)) return undefined
  return { input, address, port, typed: typedAddress(address) }
}

/** As {@link parsePeerAddress}, throwing `ALTO_ERR_BAD_ADDRESS` for bad input. */
export function peerAddress(input: string): PeerAddress {
  const parsed = parsePeerAddress(input)
  if (!parsed) throw createAltoError('ALTO_ERR_BAD_ADDRESS', [JSON.stringify(input)])
  return parsed
}
