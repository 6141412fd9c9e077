/**
 * JSON Patch (RFC 6902) and JSON Merge Patch (RFC 7396): the RFCs' own examples, and, for any two
 * documents, the computed patch applied to the first gives the second without touching it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { applyJsonPatch, createJsonPatch, JsonPatchError, type JsonPatchOperation } from '../../src/protocol/json-patch.ts'
import { applyMergePatch, createMergePatch } from '../../src/protocol/merge-patch.ts'

test('merge patch: the example of RFC 7396 §3', () => {
  const target = { title: 'Goodbye!', author: { givenName: 'John', familyName: 'Doe' }, tags: ['example', 'sample'], content: 'This will be unchanged' }
  const patch = { title: 'Hello!', phoneNumber: '+01-123-456-7890', author: { familyName: null }, tags: ['example'] }
  assert.deepEqual(applyMergePatch(target, patch), {
    title: 'Hello!',
    author: { givenName: 'John' },
    tags: ['example'],
    content: 'This will be unchanged',
    phoneNumber: '+01-123-456-7890',
  })
  assert.equal(target.title, 'Goodbye!', 'the target is not modified')
})

test('merge patch: the test cases of RFC 7396 Appendix A', () => {
  const cases: Array<[unknown, unknown, unknown]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ]
  for (const [target, patch, result] of cases) assert.deepEqual(applyMergePatch(target, patch), result, JSON.stringify([target, patch]))
})

test('merge patch of a cost map: changed costs and removed PIDs only', () => {
  const from = { meta: { 'dependent-vtags': [{ 'resource-id': 'nm', tag: '1' }] }, 'cost-map': { A: { A: 1, B: 5 }, B: { A: 5, B: 1 }, C: { A: 9 } } }
  const to = { meta: { 'dependent-vtags': [{ 'resource-id': 'nm', tag: '2' }] }, 'cost-map': { A: { A: 1, B: 6 }, B: { A: 5, B: 1 } } }
  assert.deepEqual(createMergePatch(from, to), { meta: { 'dependent-vtags': [{ 'resource-id': 'nm', tag: '2' }] }, 'cost-map': { A: { B: 6 }, C: null } })
  assert.equal(createMergePatch({ a: 1 }, { a: { b: null } }), undefined, 'a null member cannot be expressed')
})

test('JSON patch: the operations of RFC 6902 Appendix A', () => {
  const ops = (patch: unknown) => patch as JsonPatchOperation[]
  assert.deepEqual(applyJsonPatch({ foo: 'bar' }, ops([{ op: 'add', path: '/baz', value: 'qux' }])), { foo: 'bar', baz: 'qux' })
  assert.deepEqual(applyJsonPatch({ foo: ['bar', 'baz'] }, ops([{ op: 'add', path: '/foo/1', value: 'qux' }])), { foo: ['bar', 'qux', 'baz'] })
  assert.deepEqual(applyJsonPatch({ baz: 'qux', foo: 'bar' }, ops([{ op: 'remove', path: '/baz' }])), { foo: 'bar' })
  assert.deepEqual(applyJsonPatch({ foo: ['bar', 'qux', 'baz'] }, ops([{ op: 'remove', path: '/foo/1' }])), { foo: ['bar', 'baz'] })
  assert.deepEqual(applyJsonPatch({ baz: 'qux', foo: 'bar' }, ops([{ op: 'replace', path: '/baz', value: 'boo' }])), { baz: 'boo', foo: 'bar' })
  assert.deepEqual(
    applyJsonPatch({ foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } }, ops([{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }])),
    { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } },
  )
  assert.deepEqual(applyJsonPatch({ foo: ['all', 'grass', 'cows', 'eat'] }, ops([{ op: 'move', from: '/foo/1', path: '/foo/3' }])), { foo: ['all', 'cows', 'eat', 'grass'] })
  assert.deepEqual(applyJsonPatch({ baz: 'qux', foo: ['a', 2, 'c'] }, ops([{ op: 'test', path: '/baz', value: 'qux' }, { op: 'test', path: '/foo/1', value: 2 }])), { baz: 'qux', foo: ['a', 2, 'c'] })
  assert.throws(() => applyJsonPatch({ baz: 'qux' }, ops([{ op: 'test', path: '/baz', value: 'bar' }])), JsonPatchError)
  assert.deepEqual(applyJsonPatch({ foo: 'bar' }, ops([{ op: 'add', path: '/child', value: { grandchild: {} } }])), { foo: 'bar', child: { grandchild: {} } })
  assert.throws(() => applyJsonPatch({ foo: 'bar' }, ops([{ op: 'add', path: '/baz/bat', value: 'qux' }])), JsonPatchError)
  assert.deepEqual(applyJsonPatch({ foo: ['bar'] }, ops([{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }])), { foo: ['bar', ['abc', 'def']] })
  assert.deepEqual(applyJsonPatch({ '/': 9, '~1': 10 }, ops([{ op: 'test', path: '/~01', value: 10 }, { op: 'copy', from: '/~1', path: '/x' }])), { '/': 9, '~1': 10, x: 9 })
  assert.throws(() => applyJsonPatch({ a: [1] }, ops([{ op: 'replace', path: '/a/01', value: 2 }])), JsonPatchError)
  assert.throws(() => applyJsonPatch({ a: [1] }, ops([{ op: 'remove', path: '/b' }])), JsonPatchError)
})

test('JSON patch of a network map: single prefixes added and removed, in the order of the new list', () => {
  const from = { meta: { vtag: { 'resource-id': 'nm', tag: '1' } }, 'network-map': { A: { ipv4: ['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24'] }, B: { ipv4: ['10.1.0.0/16'] } } }
  const to = { meta: { vtag: { 'resource-id': 'nm', tag: '2' } }, 'network-map': { A: { ipv4: ['10.0.0.0/24', '10.0.2.0/24', '10.0.3.0/24'] }, B: { ipv4: ['10.1.0.0/16'] } } }
  const patch = createJsonPatch(from, to)
  assert.deepEqual(patch, [
    { op: 'replace', path: '/meta/vtag/tag', value: '2' },
    { op: 'remove', path: '/network-map/A/ipv4/1' },
    { op: 'add', path: '/network-map/A/ipv4/2', value: '10.0.3.0/24' },
  ])
  assert.deepEqual(applyJsonPatch(from, patch), to)
})

test('JSON patch of long lists with many edits falls back to replacing the list', () => {
  const from = { l: Array.from({ length: 3000 }, (_, i) => i) }
  const to = { l: Array.from({ length: 3000 }, (_, i) => (i % 2 === 0 ? i : -i)) }
  const patch = createJsonPatch(from, to, { maxArrayEdits: 100 })
  assert.deepEqual(patch, [{ op: 'replace', path: '/l', value: to.l }])
  const exact = createJsonPatch(from, to, { maxArrayEdits: 4000 })
  assert.ok(exact.length > 1000)
  assert.deepEqual(applyJsonPatch(from, exact), to)
})

const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.constantFrom<unknown>(null, true, false, 0, 1, 'a', 'b'), fc.integer(), fc.string(), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 6 }),
  object: fc.dictionary(fc.constantFrom('a', 'b', 'c', '~', '/', 'x/y', '__proto__', ''), tie('value'), { maxKeys: 5 }),
})).value.map((v) => JSON.parse(JSON.stringify(v)) as unknown) // plain objects, as JSON.parse makes them

test('property: the computed JSON patch turns any document into any other, leaving the first intact', () => {
  fc.assert(
    fc.property(json, json, (from, to) => {
      const before = JSON.stringify(from)
      // With room for a shortest edit script, and with so little that lists are often replaced.
      assert.deepEqual(applyJsonPatch(from, createJsonPatch(from, to)), to)
      assert.deepEqual(applyJsonPatch(from, createJsonPatch(from, to, { maxArrayEdits: 3 })), to)
      assert.equal(JSON.stringify(from), before)
    }),
    { numRuns: 2000 },
  )
})

test('property: the computed merge patch, when there is one, turns any document into any other', () => {
  fc.assert(
    fc.property(json, json, (from, to) => {
      const before = JSON.stringify(from)
      const patch = createMergePatch(from, to)
      if (patch === undefined) return
      assert.deepEqual(applyMergePatch(from, patch), to)
      assert.equal(JSON.stringify(from), before)
    }),
    { numRuns: 2000 },
  )
})
