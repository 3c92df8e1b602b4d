import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeJson } from './json.ts';

test('encodeJson writes JSON values as JSON.stringify does, dropping undefined keys', () => {
  assert.equal(
    encodeJson({ a: [1, 'x', null, true], b: undefined, c: { d: 1.5 } }, 'v'),
    '{"a":[1,"x",null,true],"c":{"d":1.5}}',
  );
  assert.equal(encodeJson(undefined, 'v'), 'null');
  assert.equal(encodeJson(Object.create(null), 'v'), '{}');
});

test('encodeJson refuses what JSON would silently change, naming where it is', () => {
  const cases: [unknown, RegExp][] = [
    [{ a: [1, undefined] }, /`\$\.a\[1\]` is undefined/],
    [{ f: () => 1 }, /`\$\.f` is a function/],
    [{ big: 1n }, /`\$\.big` is a bigint/],
    [{ n: Number.POSITIVE_INFINITY }, /`\$\.n` is Infinity/],
    [{ s: new Set([1]) }, /`\$\.s` is a Set/],
    [{ 'odd key': new Uint8Array(1) }, /`\$\["odd key"\]` is a Uint8Array/],
  ];
  for (const [value, message] of cases) assert.throws(() => encodeJson(value, 'the output of `X`'), message);
  const loop: Record<string, unknown> = {};
  loop.self = loop;
  assert.throws(() => encodeJson(loop, 'v'), /circular/);
});
