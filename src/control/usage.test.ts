import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SqliteStore } from '../store/sqlite/store.ts';
import { hourOf, UsageMeter } from './usage.ts';

test('counts stay in memory until a flush, which adds them per hour, key and model', async () => {
  const store = SqliteStore.open(':memory:');
  let now = Date.parse('2026-11-22T10:59:59.000Z');
  const usage = new UsageMeter(store, { flushMs: 60_000, now: () => now });
  const model = { id: 'aaaaaaaa', name: 'llm' };
  usage.record('k1', model, { prompt: 3, completion: 4 });
  usage.record('k1', model, undefined);
  now += 1000;
  usage.record('k1', model, { prompt: 1, completion: 1 });
  assert.deepEqual(await store.listUsage({}), [], 'nothing is written on the request path');
  const rows = await usage.read({});
  assert.deepEqual(
    rows.map((r) => [r.hour, r.requests, r.promptTokens, r.completionTokens]),
    [
      ['2026-11-22T10:00:00.000Z', 2, 3, 4],
      ['2026-11-22T11:00:00.000Z', 1, 1, 1],
    ],
  );
  assert.equal(hourOf(now), '2026-11-22T11:00:00.000Z');
  await usage.close();
  await store.close();
});
