/**
 * @module protocol/merge-patch
 * JSON Merge Patch (RFC 7396, `application/merge-patch+json`): computing the patch from one
 * version of a document to the next, and applying one. RFC 8895 §3.1 uses it for cost maps,
 * whose members are objects of numbers: a changed cost is one member, a removed PID one `null`.
 */
import { CopyOnWrite, isJsonObject, jsonEqual, setMember, type JsonObject, type JsonValue } from './json-value.ts'

/**
 * The merge patch turning `from` into `to`, or `undefined` when no merge patch can say it: RFC
 * 7396 §1 reads `null` as "remove", so a `to` holding `null` as an object member is out of reach.
 * Arrays are replaced whole (§2).
 */
export function createMergePatch(from: unknown, to: unknown): JsonValue | undefined {
  if (!isJsonObject(to) || !isJsonObject(from)) return hasNullMember(to) ? undefined : (to as JsonValue)
  const patch: JsonObject = {}
  for (const key of Object.keys(from)) if (!Object.hasOwn(to, key)) setMember(patch, key, null)
  for (const [key, value] of Object.entries(to)) {
    if (value === null) {
      if (Object.hasOwn(from, key) && from[key] === null) continue
      return undefined
    }
    if (!Object.hasOwn(from, key)) {
      if (hasNullMember(value)) return undefined
      setMember(patch, key, value)
    } else if (!jsonEqual(from[key], value)) {
      const inner = createMergePatch(from[key], value)
      if (inner === undefined) return undefined
      setMember(patch, key, inner)
    }
  }
  return patch
}

/** RFC 7396 §2 MergePatch(Target, Patch), leaving `target` unchanged (unchanged parts are shared). */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  return merge(target as JsonValue, patch as JsonValue, new CopyOnWrite())
}

function merge(target: JsonValue | undefined, patch: JsonValue, cow: CopyOnWrite): JsonValue {
  if (!isJsonObject(patch)) return patch
  const out: JsonObject = isJsonObject(target) ? cow.own(target) : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key]
    else setMember(out, key, merge(Object.hasOwn(out, key) ? out[key] : undefined, value, cow))
  }
  return out
}

/** Whether an object member somewhere below is `null` (array elements are kept as they are). */
function hasNullMember(value: unknown): boolean {
  if (!isJsonObject(value)) return false
  for (const member of Object.values(value)) if (member === null || hasNullMember(member)) return true
  return false
}
