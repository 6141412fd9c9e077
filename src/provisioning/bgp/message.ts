/**
 * @module provisioning/bgp/message
 * The BGP-4 wire format apart from UPDATE (which is update-codec.ts): the 19-byte header and its
 * checks (RFC 4271 §4.1, §6.1), a framing reader for a TCP byte stream, and the OPEN (with
 * capabilities, RFC 5492, and extended optional parameters, RFC 9072), KEEPALIVE, NOTIFICATION and
 * ROUTE-REFRESH (RFC 2918) messages. Pure: bytes in, values out, {@link BgpError} on bad input.
 */
import { BgpError, ErrorCode, HeaderSubcode, OpenSubcode } from './errors.ts'

export const MessageType = { OPEN: 1, UPDATE: 2, NOTIFICATION: 3, KEEPALIVE: 4, ROUTE_REFRESH: 5 } as const

export const HEADER_LENGTH = 19
/** RFC 4271 §4.1; we do not offer the Extended Message capability (RFC 8654). */
export const MAX_MESSAGE_LENGTH = 4096

/** Smallest (and for KEEPALIVE and ROUTE-REFRESH, only) valid length per type (RFC 4271 §6.1, RFC 2918 §3). */
const MIN_LENGTH: Record<number, number> = { 1: 29, 2: 23, 3: 21, 4: 19, 5: 23 }
const EXACT_LENGTH: Record<number, number> = { 4: 19, 5: 23 }

export interface BgpMessage {
  type: number
  /** The message after the 19-byte header. */
  body: Buffer
}

/** Header + body. */
export function encodeMessage(type: number, body: Uint8Array = new Uint8Array(0)): Buffer {
  const length = HEADER_LENGTH + body.length
  if (length > MAX_MESSAGE_LENGTH) throw new RangeError(`BGP message of ${length} bytes exceeds ${MAX_MESSAGE_LENGTH}`)
  const out = Buffer.alloc(length, 0xff)
  out.writeUInt16BE(length, 16)
  out[18] = type
  out.set(body, HEADER_LENGTH)
  return out
}

/**
 * Cuts a TCP byte stream into BGP messages, checking each header (RFC 4271 §6.1). After it has
 * thrown, the stream is out of sync and the reader must not be used again.
 */
export class MessageReader {
  #buffer: Buffer = Buffer.alloc(0)

  /** Bytes received but not yet part of a whole message. */
  get pending(): number {
    return this.#buffer.length
  }

  /** Append a chunk and yield every message it completes. */
  *push(chunk: Buffer): Generator<BgpMessage> {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk])
    while (this.#buffer.length >= HEADER_LENGTH) {
      const length = checkHeader(this.#buffer)
      if (this.#buffer.length < length) return
      const message = { type: this.#buffer[18]!, body: this.#buffer.subarray(HEADER_LENGTH, length) }
      this.#buffer = this.#buffer.subarray(length)
      yield message
    }
  }
}

/** Validate a header (the first 19 bytes of `bytes`) and return the message length. */
function checkHeader(bytes: Buffer): number {
  for (let i = 0; i < 16; i++) {
    if (bytes[i] !== 0xff) throw new BgpError(ErrorCode.MESSAGE_HEADER, HeaderSubcode.CONNECTION_NOT_SYNCHRONIZED, 'marker is not all ones')
  }
  const length = bytes.readUInt16BE(16)
  const type = bytes[18]!
  const badLength = (): BgpError =>
    new BgpError(ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_LENGTH, `length ${length} for message type ${type}`, {
      data: bytes.subarray(16, 18),
    })
  if (length < HEADER_LENGTH || length > MAX_MESSAGE_LENGTH) throw badLength()
  const min = MIN_LENGTH[type]
  if (min === undefined) {
    throw new BgpError(ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_TYPE, `unknown message type ${type}`, { data: bytes.subarray(18, 19) })
  }
  if (length < min || (EXACT_LENGTH[type] !== undefined && length !== EXACT_LENGTH[type])) throw badLength()
  return length
}

// ---------------------------------------------------------------- OPEN

export interface Capability {
  code: number
  value: Uint8Array
}

export interface OpenMessage {
  version: number
  /** The 2-byte My Autonomous System field (AS_TRANS, 23456, when the real AS needs 4 bytes). */
  myAs: number
  holdTime: number
  /** BGP Identifier as an unsigned 32-bit number. */
  bgpId: number
  capabilities: Capability[]
}

const CAPABILITIES_PARAMETER = 2

/** An OPEN carrying all capabilities in one Capabilities optional parameter (RFC 5492 §4). */
export function encodeOpen(open: OpenMessage): Buffer {
  const caps = Buffer.concat(open.capabilities.map((c) => Buffer.concat([Buffer.from([c.code, c.value.length]), c.value])))
  if (caps.length > 253) throw new RangeError('capabilities do not fit in one optional parameter')
  const params = caps.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([CAPABILITIES_PARAMETER, caps.length]), caps])
  const body = Buffer.alloc(10 + params.length)
  body[0] = open.version
  body.writeUInt16BE(open.myAs, 1)
  body.writeUInt16BE(open.holdTime, 3)
  body.writeUInt32BE(open.bgpId >>> 0, 5)
  body[9] = params.length
  params.copy(body, 10)
  return encodeMessage(MessageType.OPEN, body)
}

/** Parse an OPEN body. Semantic checks (AS, hold time, identifier) are in open.ts. */
export function decodeOpen(body: Buffer): OpenMessage {
  const malformed = (why: string): BgpError => new BgpError(ErrorCode.OPEN, OpenSubcode.UNSPECIFIC, why)
  if (body.length < 10) throw malformed('OPEN shorter than 10 bytes')
  const open: OpenMessage = {
    version: body[0]!,
    myAs: body.readUInt16BE(1),
    holdTime: body.readUInt16BE(3),
    bgpId: body.readUInt32BE(5),
    capabilities: [],
  }
  let paramsLength = body[9]!
  let offset = 10
  // RFC 9072 §2: Non-Ext OP Len 255 followed by Non-Ext OP Type 255 switches to 2-byte lengths.
  const extended = paramsLength === 255 && body[10] === 255
  if (extended) {
    if (body.length < 13) throw malformed('truncated extended optional parameters length')
    paramsLength = body.readUInt16BE(11)
    offset = 13
  }
  if (offset + paramsLength !== body.length) throw malformed(`optional parameters length ${paramsLength} does not match the message`)
  const headerSize = extended ? 3 : 2
  while (offset < body.length) {
    if (offset + headerSize > body.length) throw malformed('truncated optional parameter')
    const type = body[offset]!
    const length = extended ? body.readUInt16BE(offset + 1) : body[offset + 1]!
    const start = offset + headerSize
    const end = start + length
    if (end > body.length) throw malformed(`optional parameter ${type} overruns the message`)
    if (type !== CAPABILITIES_PARAMETER) {
      throw new BgpError(ErrorCode.OPEN, OpenSubcode.UNSUPPORTED_OPTIONAL_PARAMETER, `optional parameter type ${type}`)
    }
    open.capabilities.push(...decodeCapabilities(body.subarray(start, end)))
    offset = end
  }
  return open
}

function decodeCapabilities(bytes: Buffer): Capability[] {
  const caps: Capability[] = []
  let offset = 0
  while (offset < bytes.length) {
    if (offset + 2 > bytes.length) throw new BgpError(ErrorCode.OPEN, OpenSubcode.UNSPECIFIC, 'truncated capability')
    const code = bytes[offset]!
    const end = offset + 2 + bytes[offset + 1]!
    if (end > bytes.length) throw new BgpError(ErrorCode.OPEN, OpenSubcode.UNSPECIFIC, `capability ${code} overruns its parameter`)
    caps.push({ code, value: bytes.subarray(offset + 2, end) })
    offset = end
  }
  return caps
}

// ---------------------------------------------------------------- KEEPALIVE, NOTIFICATION, ROUTE-REFRESH

export function encodeKeepalive(): Buffer {
  return encodeMessage(MessageType.KEEPALIVE)
}

export interface NotificationMessage {
  code: number
  subcode: number
  data: Uint8Array
}

export function encodeNotification(n: NotificationMessage): Buffer {
  // Data is cut so the message stays within 4096 bytes.
  const data = n.data.subarray(0, MAX_MESSAGE_LENGTH - HEADER_LENGTH - 2)
  const body = Buffer.alloc(2 + data.length)
  body[0] = n.code
  body[1] = n.subcode
  body.set(data, 2)
  return encodeMessage(MessageType.NOTIFICATION, body)
}

export function decodeNotification(body: Buffer): NotificationMessage {
  return { code: body[0]!, subcode: body[1]!, data: body.subarray(2) }
}

/**
 * The Shutdown Communication of a Cease/Administrative Shutdown or Reset (RFC 9003 §2): a length
 * byte and that many bytes of UTF-8. Undefined when absent or malformed.
 */
export function shutdownCommunication(n: NotificationMessage): string | undefined {
  if (n.code !== ErrorCode.CEASE || (n.subcode !== 2 && n.subcode !== 4) || n.data.length === 0) return undefined
  const length = n.data[0]!
  if (length === 0 || 1 + length > n.data.length) return undefined
  return Buffer.from(n.data.subarray(1, 1 + length)).toString('utf8')
}

export interface RouteRefreshMessage {
  afi: number
  safi: number
}

/** RFC 2918 §3: AFI (2 bytes), reserved (1), SAFI (1). The header check guarantees 4 bytes. */
export function decodeRouteRefresh(body: Buffer): RouteRefreshMessage {
  return { afi: body.readUInt16BE(0), safi: body[3]! }
}
