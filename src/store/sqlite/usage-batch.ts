import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { UsageRecord } from '../../records/usage.ts';
import { transaction } from './transaction.ts';

const ADD = `INSERT INTO usage_hourly (hour, key_prefix, model_id, model_name, requests, prompt_tokens, completion_tokens)
  VALUES (?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (hour, key_prefix, model_id) DO UPDATE SET model_name = excluded.model_name,
    requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens,
    completion_tokens = completion_tokens + excluded.completion_tokens`;

/**
 * Adds usage counters to their hours in one transaction. Shared by the store's own connection and
 * its writer thread, which the usage meter's flushes go through so that their fsync never blocks
 * the event loop.
 */
export function addUsageBatch(db: DatabaseSync, cache: Map<string, StatementSync>, rows: UsageRecord[]): void {
  let add = cache.get(ADD);
  if (!add) cache.set(ADD, (add = db.prepare(ADD)));
  transaction(
    db,
    () => {
      for (const r of rows)
        add.run(r.hour, r.keyPrefix, r.modelId, r.modelName, r.requests, r.promptTokens, r.completionTokens);
    },
    { immediate: true },
  );
}
