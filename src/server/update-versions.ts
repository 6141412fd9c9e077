/**
 * @module server/update-versions
 * What an update stream sends, computed once per resource version and shared by every
 * subscriber: the serialized full body, and the incremental change (RFC 8895 §3) from the version
 * before. A "subject" is one streamed resource, with its input for a POST resource; subjects
 * exist only while someone subscribes to them.
 */
import { AltoProtocolError } from '../protocol/errors.ts'
import { createJsonPatch } from '../protocol/json-patch.ts'
import { createMergePatch } from '../protocol/merge-patch.ts'
import { MediaType } from '../protocol/media-types.ts'
import type { Snapshot } from '../provisioning/snapshot.ts'
import { INCREMENTAL_CHANGE_TYPE, type Resource, type ResourceTable } from './resources.ts'

/** Answers a POST resource for an input, as the resource's route would. */
export type QueryResource = (resource: Resource, snapshot: Snapshot, input: unknown) => unknown

export interface Version {
  /** The full body, serialized once. */
  readonly json: string
  readonly body: unknown
  /** The body's own version tag (`meta.vtag.tag`), for resources that have one. */
  readonly tag: string | undefined
}

/** What a version change sends: the full body, and the patch when it is smaller. */
export interface Change {
  readonly full: string
  /** Serialized incremental change from the previous version; undefined when a full body is smaller or no patch can express it. */
  readonly patch: string | undefined
}

export class Subject {
  readonly key: string
  readonly resourceId: string
  readonly input: unknown
  /** Media type of the full body, e.g. `application/alto-networkmap+json`. */
  readonly mediaType: string
  /** Media type of its incremental changes (`application/json-patch+json` or `…merge-patch+json`). */
  readonly changeType: string
  version: Version
  /** The tag of the version before and the patch from it, for a client resuming with that tag. */
  previous: { tag: string; patch: string } | undefined
  /** Position of the resource in the IRD: network maps go out before the cost maps that use them. */
  order: number

  constructor(key: string, resource: Resource, input: unknown, version: Version, order: number) {
    this.key = key
    this.resourceId = resource.id
    this.input = input
    this.mediaType = resource.mediaType
    this.changeType = INCREMENTAL_CHANGE_TYPE[resource.kind]!
    this.version = version
    this.previous = undefined
    this.order = order
  }

  /** A no-op change in this subject's change type, for a client that already holds the current version. */
  get emptyChange(): string {
    return this.changeType === MediaType.jsonPatch ? '[]' : '{}'
  }
}

export interface VersionStats {
  /** Incremental changes computed (one per subject and version change, whatever the number of subscribers). */
  patchesComputed: number
  /** Full bodies serialized for POST subjects (GET bodies are the snapshot's own bytes). */
  bodiesComputed: number
}

/** Subjects by key; versions computed from the current resource table. */
export class VersionStore {
  readonly #query: QueryResource
  readonly #subjects = new Map<string, Subject>()
  #table: ResourceTable
  readonly stats: VersionStats = { patchesComputed: 0, bodiesComputed: 0 }

  constructor(table: ResourceTable, query: QueryResource) {
    this.#table = table
    this.#query = query
  }

  get table(): ResourceTable {
    return this.#table
  }

  get size(): number {
    return this.#subjects.size
  }

  /**
   * The subject for a resource id and input, created with the current version when new. Throws
   * E_INVALID_FIELD_VALUE for a resource no stream carries, and the resource's own errors for a
   * bad input, with `field` under `fieldBase` (`add/<client-id>`).
   */
  subject(resourceId: string, input: unknown, fieldBase: string): Subject {
    const resource = this.#table.byId.get(resourceId)
    if (!resource || !INCREMENTAL_CHANGE_TYPE[resource.kind]) {
      throw new AltoProtocolError('E_INVALID_FIELD_VALUE', `Resource ${JSON.stringify(resourceId)} cannot be streamed (see "uses" of the update stream in the IRD)`, {
        field: `${fieldBase}/resource-id`,
        value: resourceId,
      })
    }
    if (resource.method === 'GET' && input !== undefined) {
      throw new AltoProtocolError('E_INVALID_FIELD_VALUE', `Resource ${resourceId} takes no input`, { field: `${fieldBase}/input`, value: input })
    }
    const effectiveInput = resource.method === 'POST' ? (input ?? {}) : undefined
    const key = `${resourceId}\n${canonicalJson(effectiveInput)}`
    const existing = this.#subjects.get(key)
    if (existing) return existing
    let version: Version
    try {
      version = this.#version(resource, effectiveInput)
    } catch (error) {
      throw underField(error, `${fieldBase}/input`)
    }
    const subject = new Subject(key, resource, effectiveInput, version, this.#order(resourceId))
    this.#subjects.set(key, subject)
    return subject
  }

  /** Forget a subject nobody subscribes to any more. */
  drop(subject: Subject): void {
    this.#subjects.delete(subject.key)
  }

  /**
   * Move every subject still `inUse` to the new table (others are forgotten). Returns, in IRD
   * order, the subjects whose body changed with what to send, and those that can no longer be
   * served with the reason.
   */
  update(table: ResourceTable, inUse: (subject: Subject) => boolean): { changed: Array<[Subject, Change]>; stopped: Array<[Subject, string]> } {
    this.#table = table
    const changed: Array<[Subject, Change]> = []
    const stopped: Array<[Subject, string]> = []
    for (const subject of [...this.#subjects.values()]) {
      if (!inUse(subject)) {
        this.#subjects.delete(subject.key)
        continue
      }
      const resource = table.byId.get(subject.resourceId)
      if (!resource || !INCREMENTAL_CHANGE_TYPE[resource.kind]) {
        stopped.push([subject, `resource ${subject.resourceId} is no longer served`])
        continue
      }
      let next: Version
      try {
        next = this.#version(resource, subject.input)
      } catch (error) {
        stopped.push([subject, `resource ${subject.resourceId} cannot answer this input any more: ${(error as Error).message}`])
        continue
      }
      subject.order = this.#order(subject.resourceId)
      if (next.json === subject.version.json) continue
      const patch = this.#patch(subject, next)
      subject.previous = subject.version.tag !== undefined && patch !== undefined ? { tag: subject.version.tag, patch } : undefined
      subject.version = next
      changed.push([subject, { full: next.json, patch }])
    }
    for (const [subject] of stopped) this.#subjects.delete(subject.key)
    changed.sort((a, b) => a[0].order - b[0].order)
    return { changed, stopped }
  }

  #version(resource: Resource, input: unknown): Version {
    let json: string
    if (resource.body) {
      json = resource.body.bytes.toString('utf8')
    } else {
      json = JSON.stringify(this.#query(resource, this.#table.snapshot, input))
      this.stats.bodiesComputed++
    }
    const body: unknown = JSON.parse(json)
    const tag = (body as { meta?: { vtag?: { tag?: unknown } } }).meta?.vtag?.tag
    return { json, body, tag: typeof tag === 'string' ? tag : undefined }
  }

  /** The serialized change from the subject's version to `next`, when smaller than `next` itself. */
  #patch(subject: Subject, next: Version): string | undefined {
    this.stats.patchesComputed++
    const patch = subject.changeType === MediaType.jsonPatch ? createJsonPatch(subject.version.body, next.body) : createMergePatch(subject.version.body, next.body)
    if (patch === undefined) return undefined
    const json = JSON.stringify(patch)
    return json.length < next.json.length ? json : undefined
  }

  #order(resourceId: string): number {
    let i = 0
    for (const id of this.#table.byId.keys()) {
      if (id === resourceId) return i
      i++
    }
    return i
  }
}

/** Re-home a resource's own protocol error under the substream's field (`add/<id>/input/pids`). */
function underField(error: unknown, base: string): unknown {
  if (!(error instanceof AltoProtocolError)) return error
  const detail: { field: string; value?: string; syntaxError?: string; validation?: unknown } = { field: error.field ? `${base}/${error.field}` : base }
  if (error.value !== undefined) detail.value = error.value
  if (error.syntaxError !== undefined) detail.syntaxError = error.syntaxError
  if (error.validation !== undefined) detail.validation = error.validation
  return new AltoProtocolError(error.altoCode, error.message, detail)
}

/** JSON with object members sorted, so equal inputs give one subject. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
    return `{${entries.join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}
