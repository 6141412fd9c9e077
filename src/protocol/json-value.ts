/**
 * @module protocol/json-value
 * JSON values as parsed by `JSON.parse`, with the structural equality both patch formats need and
 * the copy-on-write walk that lets a patch be applied without touching the document it came from.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }
export type JsonObject = { [key: string]: JsonValue }

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Structural equality of two JSON values (member order of objects does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b)) return false
  const ak = Object.keys(a)
  if (ak.length !== Object.keys(b).length) return false
  for (const key of ak) {
    if (!Object.hasOwn(b, key) || !jsonEqual((a as JsonObject)[key], (b as JsonObject)[key])) return false
  }
  return true
}

/**
 * Copy-on-write over one document: `own(container)` returns a shallow copy the first time a
 * container is touched and the copy itself afterwards, so a patch of n operations costs O(n + the
 * containers it touches), and the original document (and everything a previous version shares
 * with it) stays unchanged.
 */
export class CopyOnWrite {
  readonly #fresh = new WeakSet<object>()

  own<T extends JsonObject | JsonValue[]>(container: T): T {
    if (this.#fresh.has(container)) return container
    const copy = (Array.isArray(container) ? container.slice() : { ...container }) as T
    this.#fresh.add(copy)
    return copy
  }
}

/** `object[key] = value` that stays a data member even for the key `__proto__`. */
export function setMember(object: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__') Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true })
  else object[key] = value
}
