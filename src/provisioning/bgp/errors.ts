/**
 * @module provisioning/bgp/errors
 * BGP's error vocabulary: the NOTIFICATION error codes and subcodes (RFC 4271 §4.5 and §6, RFC 4486
 * for Cease, RFC 6608 for FSM errors) and {@link BgpError}, which carries the wire fields of the
 * NOTIFICATION to send (the model is gobgp's `MessageError{TypeCode, SubTypeCode, Data}`).
 */
import { AltoError } from '../../protocol/errors.ts'

/** NOTIFICATION error codes (RFC 4271 §4.5, RFC 7313 §5). */
export const ErrorCode = {
  MESSAGE_HEADER: 1,
  OPEN: 2,
  UPDATE: 3,
  HOLD_TIMER_EXPIRED: 4,
  FSM: 5,
  CEASE: 6,
  ROUTE_REFRESH: 7,
} as const

/** Message Header Error subcodes (RFC 4271 §6.1). */
export const HeaderSubcode = { CONNECTION_NOT_SYNCHRONIZED: 1, BAD_MESSAGE_LENGTH: 2, BAD_MESSAGE_TYPE: 3 } as const

/** OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492 §5). */
export const OpenSubcode = {
  UNSPECIFIC: 0,
  UNSUPPORTED_VERSION: 1,
  BAD_PEER_AS: 2,
  BAD_BGP_ID: 3,
  UNSUPPORTED_OPTIONAL_PARAMETER: 4,
  UNACCEPTABLE_HOLD_TIME: 6,
  UNSUPPORTED_CAPABILITY: 7,
} as const

// UPDATE Message Error subcodes (RFC 4271 §6.3) are `UpdateErrorSubcode` of the shared UPDATE
// decoder, provisioning/mrt/bgp-update.ts.

/** Finite State Machine Error subcodes (RFC 6608 §3). */
export const FsmSubcode = { UNSPECIFIED: 0, UNEXPECTED_IN_OPENSENT: 1, UNEXPECTED_IN_OPENCONFIRM: 2, UNEXPECTED_IN_ESTABLISHED: 3 } as const

/** Cease subcodes (RFC 4486 §4). */
export const CeaseSubcode = {
  UNSPECIFIC: 0,
  MAX_PREFIXES: 1,
  ADMINISTRATIVE_SHUTDOWN: 2,
  PEER_DECONFIGURED: 3,
  ADMINISTRATIVE_RESET: 4,
  CONNECTION_REJECTED: 5,
  OTHER_CONFIGURATION_CHANGE: 6,
  CONNECTION_COLLISION_RESOLUTION: 7,
  OUT_OF_RESOURCES: 8,
} as const

const CODE_NAMES: Record<number, string> = {
  1: 'Message Header Error',
  2: 'OPEN Message Error',
  3: 'UPDATE Message Error',
  4: 'Hold Timer Expired',
  5: 'Finite State Machine Error',
  6: 'Cease',
  7: 'ROUTE-REFRESH Message Error',
}

const SUBCODE_NAMES: Record<number, Record<number, string>> = {
  1: { 1: 'Connection Not Synchronized', 2: 'Bad Message Length', 3: 'Bad Message Type' },
  2: {
    1: 'Unsupported Version Number',
    2: 'Bad Peer AS',
    3: 'Bad BGP Identifier',
    4: 'Unsupported Optional Parameter',
    6: 'Unacceptable Hold Time',
    7: 'Unsupported Capability',
  },
  3: {
    1: 'Malformed Attribute List',
    2: 'Unrecognized Well-known Attribute',
    3: 'Missing Well-known Attribute',
    4: 'Attribute Flags Error',
    5: 'Attribute Length Error',
    6: 'Invalid ORIGIN Attribute',
    8: 'Invalid NEXT_HOP Attribute',
    9: 'Optional Attribute Error',
    10: 'Invalid Network Field',
    11: 'Malformed AS_PATH',
  },
  5: { 1: 'Unexpected Message in OpenSent', 2: 'Unexpected Message in OpenConfirm', 3: 'Unexpected Message in Established' },
  6: {
    1: 'Maximum Number of Prefixes Reached',
    2: 'Administrative Shutdown',
    3: 'Peer De-configured',
    4: 'Administrative Reset',
    5: 'Connection Rejected',
    6: 'Other Configuration Change',
    7: 'Connection Collision Resolution',
    8: 'Out of Resources',
  },
  7: { 1: 'Invalid Message Length' },
}

/** `Cease/Administrative Shutdown (6/2)`, for logs. */
export function describeNotification(code: number, subcode: number): string {
  const name = CODE_NAMES[code] ?? `Unknown error code ${code}`
  const sub = SUBCODE_NAMES[code]?.[subcode]
  return `${name}${sub ? `/${sub}` : ''} (${code}/${subcode})`
}

/**
 * A BGP error with the NOTIFICATION to send for it (`errorCode`, `subcode`, `data`), or that a peer
 * sent us (`received`). Its `code` is `ALTO_ERR_BGP`.
 */
export class BgpError extends AltoError {
  readonly errorCode: number
  readonly subcode: number
  readonly data: Uint8Array
  /** True when the peer sent this NOTIFICATION; false when we detected the error (and sent it). */
  readonly received: boolean

  constructor(errorCode: number, subcode: number, message: string, options: { data?: Uint8Array; received?: boolean; cause?: unknown } = {}) {
    super('ALTO_ERR_BGP', `${describeNotification(errorCode, subcode)}: ${message}`, { cause: options.cause })
    this.name = 'BgpError'
    this.errorCode = errorCode
    this.subcode = subcode
    this.data = options.data ?? new Uint8Array(0)
    this.received = options.received ?? false
  }
}

export function isBgpError(error: unknown): error is BgpError {
  return error instanceof BgpError
}
