import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backlog } from './backlog.ts';
import type { AsyncRequestHead } from '../records/async.ts';

const head = (id: string, priority: number, seq: number) => ({ id, priority, seq }) as AsyncRequestHead;

test('lower priority values run first, arrival order within a priority', () => {
  const b = new Backlog();
  for (const h of [head('a', 2, 1), head('b', 0, 2), head('c', 1, 3), head('d', 0, 4)]) b.add(h);
  assert.deepEqual(
    [b.shift(), b.shift(), b.shift(), b.shift(), b.shift()].map((h) => h?.id),
    ['b', 'd', 'c', 'a', undefined],
  );
});

test('a retried request goes back to its arrival position', () => {
  const b = new Backlog();
  b.add(head('later', 1, 10));
  b.add(head('retried', 1, 5));
  assert.equal(b.shift()!.id, 'retried');
});

test('remove and removeWhere take requests out', () => {
  const b = new Backlog();
  const x = head('x', 0, 1);
  b.add(x);
  b.add(head('y', 1, 2));
  b.add(head('z', 2, 3));
  assert.equal(b.remove(x), true);
  assert.equal(b.remove(x), false);
  assert.deepEqual(
    b.removeWhere((h) => h.id === 'z').map((h) => h.id),
    ['z'],
  );
  assert.equal(b.size, 1);
});
