import { describe } from 'node:test';
import { asyncRecordsConformance } from './conformance-async.ts';
import { chainRecordsConformance } from './conformance-chains.ts';
import { controlRecordsConformance } from './conformance-control.ts';
import { usageConformance } from './conformance-usage.ts';
import type { Store } from './store.ts';

/**
 * The behaviour every Store backend must show. A backend's test file calls this once with a
 * factory that returns a fresh, empty store.
 *
 * @example
 *   storeConformance('sqlite in memory', async () => SqliteStore.open(':memory:'));
 */
export function storeConformance(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store conformance: ${name}`, () => {
    controlRecordsConformance(makeStore);
    asyncRecordsConformance(makeStore);
    usageConformance(makeStore);
    chainRecordsConformance(makeStore);
  });
}
