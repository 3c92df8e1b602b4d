import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { AsyncRequestPatch, AsyncRequestRecord } from '../../records/async.ts';
import { json } from './rows.ts';
import { setClause, type Columns } from './set-clause.ts';
import { transaction } from './transaction.ts';

/** Column of the async_requests table for each patchable field. */
const COLUMNS: Columns<AsyncRequestRecord> = {
  status: ['status', (v) => v],
  webhookStatus: ['webhook_status', (v) => v],
  attempts: ['attempts', (v) => v],
  notBefore: ['not_before', (v) => v],
  webhookAttempts: ['webhook_attempts', (v) => v],
  statusAt: ['status_at', (v) => v],
  errors: ['errors', json],
  output: ['output', (v) => v],
};

const INSERT = `INSERT INTO async_requests (id, model_id, deployment_id, priority, seq, input, webhook_endpoint, max_time_in_queue_ms,
  retry, keep_output, status, webhook_status, attempts, not_before, webhook_attempts, created_at, status_at, errors, output,
  chain_id, chain_deployment_id)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/**
 * Writes a batch of async request inserts and patches in one transaction: one commit, one fsync.
 * Shared by the store's own connection and its writer thread.
 */
export function writeAsyncBatch(
  db: DatabaseSync,
  cache: Map<string, StatementSync>,
  inserts: AsyncRequestRecord[],
  patches: AsyncRequestPatch[],
): void {
  const stmt = (sql: string) => {
    let s = cache.get(sql);
    if (!s) cache.set(sql, (s = db.prepare(sql)));
    return s;
  };
  transaction(
    db,
    () => {
      const insert = stmt(INSERT);
      for (const r of inserts) {
        insert.run(
          r.id,
          r.modelId,
          r.deploymentId,
          r.priority,
          r.seq,
          r.input,
          r.webhookEndpoint,
          r.maxTimeInQueueMs,
          json(r.retry),
          r.keepOutput ? 1 : 0,
          r.status,
          r.webhookStatus,
          r.attempts,
          r.notBefore,
          r.webhookAttempts,
          r.createdAt,
          r.statusAt,
          json(r.errors),
          r.output,
          r.chainId ?? null,
          r.chainDeploymentId ?? null,
        );
      }
      for (const { id, ...patch } of patches) {
        const set = setClause(patch, COLUMNS);
        if (set) stmt(`UPDATE async_requests SET ${set.sql} WHERE id = ?`).run(...set.values, id);
      }
    },
    { immediate: true },
  );
}
