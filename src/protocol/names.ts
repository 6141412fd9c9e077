/**
 * @module protocol/names
 * Syntax of the names RFC 7285 defines: PID names and resource ids (§10.1, §10.2), version tags
 * (§10.3), endpoint property types (§10.8) and cost metrics (§10.6).
 */

// §10.1/§10.2: at most 64 characters of [a-zA-Z0-9-:@_.]; "." is reserved for future use, so a
// name we accept from a request or a file must not contain it.
const PID_NAME = /^[A-Za-z0-9\-:@_]{1,64}$/

export function isValidPidName(name: unknown): name is string {
  return typeof name === 'string' && PID_NAME.test(name)
}

export function isValidResourceId(name: unknown): name is string {
  return typeof name === 'string' && PID_NAME.test(name)
}

/** §10.3: a tag is 1 to 64 characters of U+0021 to U+007E. */
export function isValidVtag(tag: unknown): tag is string {
  return typeof tag === 'string' && /^[\x21-\x7e]{1,64}$/.test(tag)
}

// §10.8.1: an endpoint property type is at most 32 characters of [a-zA-Z0-9-:_], or
// `<resource-id>.<type>` for a resource-specific property; "priv:" marks private types.
const PROPERTY_TYPE = /^[A-Za-z0-9\-:_]{1,32}$/

export function isValidPropertyName(name: unknown): name is string {
  if (typeof name !== 'string') return false
  const dot = name.indexOf('.')
  if (dot === -1) return PROPERTY_TYPE.test(name)
  return isValidResourceId(name.slice(0, dot)) && PROPERTY_TYPE.test(name.slice(dot + 1))
}

/** §10.6: a cost metric is at most 32 characters of [a-zA-Z0-9-:_], "priv:" for private ones. */
export function isValidCostMetric(metric: unknown): metric is string {
  return typeof metric === 'string' && /^[A-Za-z0-9\-:_]{1,32}$/.test(metric)
}
