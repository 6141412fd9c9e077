/**
 * @module redistribution/reasons
 * Why a bundle was rejected: one stable reason per check, each with its own message
 * (docs/redistribution.md lists them; a test keeps the two in step).
 */
import { AltoError } from '../protocol/errors.ts'

export const REJECT_REASONS = {
  malformed: 'the bundle or its attestation cannot be read: %s',
  'sender-key': 'the bundle carries its own key material (%s); keys come only from the authoritative server',
  'bad-algorithm': 'signature algorithm %s is not allowed (allowed: %s)',
  'unknown-key': 'key %s is not published by the authoritative server %s',
  'keys-unavailable': 'cannot get the signing keys of %s: %s',
  'bad-signature': 'the signature does not verify with key %s',
  'wrong-issuer': 'issued by %s, not by the authoritative server %s',
  expired: 'the attestation expired at %s (now %s)',
  'not-yet-valid': 'the attestation is issued at %s, in the future (now %s)',
  'envelope-mismatch': 'the bundle says %s but its attestation signs %s',
  'request-digest': 'the request bytes do not match the signed digest (%s, signed %s)',
  'response-digest': 'the response bytes do not match the signed digest (%s, signed %s)',
  'wrong-request': 'the bundle answers %s, not the wanted %s',
  'wrong-cost-type': 'the bundle is for cost type %s, not the wanted %s',
} as const satisfies Record<string, string>

export type RejectReason = keyof typeof REJECT_REASONS

/** A bundle failed verification; `reason` says which check. Code `ALTO_ERR_BUNDLE_REJECTED`. */
export class BundleRejectedError extends AltoError {
  readonly reason: RejectReason
  constructor(reason: RejectReason, args: readonly unknown[] = [], cause?: unknown) {
    let i = 0
    const detail = REJECT_REASONS[reason].replace(/%s/g, () => String(args[i++] ?? ''))
    super('ALTO_ERR_BUNDLE_REJECTED', `bundle rejected (${reason}): ${detail}`, cause === undefined ? {} : { cause })
    this.name = 'BundleRejectedError'
    this.reason = reason
  }
}

export function isBundleRejectedError(error: unknown): error is BundleRejectedError {
  return error instanceof BundleRejectedError
}
