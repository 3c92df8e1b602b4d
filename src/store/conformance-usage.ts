import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UsageRecord } from '../records/usage.ts';
import type { Store } from './store.ts';

const H0 = '2026-01-01T10:00:00.000Z';
const H1 = '2026-01-01T11:00:00.000Z';

const row = (hour: string, keyPrefix: string, requests: number, extra: Partial<UsageRecord> = {}): UsageRecord => ({
  hour,
  keyPrefix,
  modelId: 'aaaaaaaa',
  modelName: 'llm',
  requests,
  promptTokens: requests * 10,
  completionTokens: requests * 20,
  ...extra,
});

/** The usage counters of `/v1`: added up per (hour, key, model), read back narrowed. */
export function usageConformance(makeStore: () => Promise<Store>): void {
  const withStore = (fn: (s: Store) => Promise<void>) => async () => {
    const s = await makeStore();
    try {
      await fn(s);
    } finally {
      await s.close();
    }
  };

  test(
    'usage adds up per hour, key and model, and reads back by hour, key and model',
    withStore(async (s) => {
      await s.addUsage([row(H0, 'k1', 1), row(H1, 'k1', 2)]);
      await s.addUsage([row(H0, 'k1', 3, { modelName: 'llm-renamed' }), row(H0, 'k2', 1)]);
      assert.deepEqual(await s.listUsage({}), [
        row(H0, 'k1', 4, { modelName: 'llm-renamed' }),
        row(H0, 'k2', 1),
        row(H1, 'k1', 2),
      ]);
      assert.deepEqual(await s.listUsage({ since: H1 }), [row(H1, 'k1', 2)]);
      assert.deepEqual(await s.listUsage({ until: H1, keyPrefix: 'k2' }), [row(H0, 'k2', 1)]);
      assert.deepEqual(await s.listUsage({ modelId: 'bbbbbbbb' }), []);
      await s.addUsage([]);
    }),
  );
}
