import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type {
  ApiKeyLimits,
  ApiKeyRecord,
  DeploymentRecord,
  EnvironmentRecord,
  ModelRecord,
  SecretRecord,
} from '../../records/control.ts';
import type {
  AsyncRequestHead,
  AsyncRequestPatch,
  AsyncRequestRecord,
  WebhookSecretRecord,
} from '../../records/async.ts';
import type { UsageQuery, UsageRecord } from '../../records/usage.ts';
import type { ChainDeploymentRecord, ChainEnvironmentRecord, ChainRecord } from '../../records/chains.ts';
import type { ChainDeploymentUpdate, ChainDeploymentWrite, ChainletEnvironmentWrite, Store } from '../store.ts';
import { ChainTables } from './chains.ts';
import {
  insertApiKeyRow,
  insertDeploymentRow,
  insertModelRow,
  putEnvironmentRow,
  type Run,
  updateDeploymentRow,
} from './writes.ts';
import { writeAsyncBatch } from './async-batch.ts';
import { PRAGMAS } from './pragmas.ts';
import { MIGRATIONS } from './schema.ts';
import {
  type Row,
  toApiKey,
  toUsage,
  toAsync,
  toAsyncHead,
  toDeployment,
  toEnvironment,
  toModel,
  toSecret,
  toWebhookSecret,
} from './rows.ts';
import { transaction } from './transaction.ts';
import { addUsageBatch } from './usage-batch.ts';
import { BatchWriter } from './writer.ts';

/**
 * The embedded store: one SQLite file in WAL mode, opened with node:sqlite.
 *
 * @example
 *   const store = SqliteStore.open('/var/lib/girder/girder.db');
 */
export class SqliteStore implements Store {
  readonly #db: DatabaseSync;
  readonly #stmts = new Map<string, StatementSync>();
  /** Async request batches go to a writer thread (a file database), or this connection (`:memory:`). */
  readonly #writer: BatchWriter | undefined;
  readonly #runner: Run = (sql, ...params) => this.#run(sql, ...params);
  readonly #chains: ChainTables;

  private constructor(db: DatabaseSync, writer: BatchWriter | undefined) {
    this.#db = db;
    this.#writer = writer;
    this.#chains = new ChainTables(db, (sql) => this.#stmt(sql));
  }

  /** Opens (creating if needed) and migrates the database at `path` (`:memory:` for tests). */
  static open(path: string): SqliteStore {
    const db = new DatabaseSync(path);
    db.exec(PRAGMAS);
    const version = Number((db.prepare('PRAGMA user_version').get() as Row).user_version);
    for (let v = version; v < MIGRATIONS.length; v++) {
      transaction(db, () => {
        db.exec(MIGRATIONS[v]);
        db.exec(`PRAGMA user_version = ${v + 1}`);
      });
    }
    return new SqliteStore(db, path === ':memory:' ? undefined : new BatchWriter(path));
  }

  #stmt(sql: string): StatementSync {
    let s = this.#stmts.get(sql);
    if (!s) this.#stmts.set(sql, (s = this.#db.prepare(sql)));
    return s;
  }

  #all(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.#stmt(sql).all(...params) as Row[];
  }

  #run(sql: string, ...params: SQLInputValue[]): number {
    return Number(this.#stmt(sql).run(...params).changes);
  }

  async listModels(): Promise<ModelRecord[]> {
    return this.#all('SELECT * FROM models ORDER BY created_at, id').map(toModel);
  }

  async insertModel(m: ModelRecord): Promise<void> {
    insertModelRow(this.#runner, m);
  }

  async deleteModel(id: string): Promise<void> {
    this.#run('DELETE FROM models WHERE id = ?', id);
  }

  async nextDeploymentSeq(modelId: string): Promise<number> {
    const row = this.#stmt(
      'UPDATE models SET deployment_seq = deployment_seq + 1 WHERE id = ? RETURNING deployment_seq',
    ).get(modelId) as Row | undefined;
    if (!row) throw new Error(`no model ${modelId}`);
    return Number(row.deployment_seq);
  }

  async listDeployments(): Promise<DeploymentRecord[]> {
    return this.#all('SELECT * FROM deployments ORDER BY created_at, id').map(toDeployment);
  }

  async insertDeployment(d: DeploymentRecord): Promise<void> {
    insertDeploymentRow(this.#runner, d);
  }

  async updateDeployment(id: string, patch: Partial<Omit<DeploymentRecord, 'id' | 'modelId'>>): Promise<void> {
    updateDeploymentRow(this.#runner, id, patch);
  }

  async deleteDeployment(id: string): Promise<void> {
    this.#run('DELETE FROM deployments WHERE id = ?', id);
  }

  async listEnvironments(): Promise<EnvironmentRecord[]> {
    return this.#all('SELECT * FROM environments ORDER BY created_at, name').map(toEnvironment);
  }

  async putEnvironment(e: EnvironmentRecord): Promise<void> {
    putEnvironmentRow(this.#runner, e);
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.#all('SELECT * FROM api_keys ORDER BY created_at, prefix').map(toApiKey);
  }

  async insertApiKey(k: ApiKeyRecord): Promise<void> {
    insertApiKeyRow(this.#runner, k);
  }

  async setApiKeyLimits(prefix: string, limits: ApiKeyLimits): Promise<boolean> {
    const rpm = limits.rpm !== undefined;
    const tpm = limits.tpm !== undefined;
    if (!rpm && !tpm) return this.#all('SELECT 1 FROM api_keys WHERE prefix = ?', prefix).length > 0;
    const sets = [rpm && 'rpm = ?', tpm && 'tpm = ?'].filter(Boolean).join(', ');
    const values = [...(rpm ? [limits.rpm ?? null] : []), ...(tpm ? [limits.tpm ?? null] : [])];
    return this.#run(`UPDATE api_keys SET ${sets} WHERE prefix = ?`, ...values, prefix) > 0;
  }

  async deleteApiKey(prefix: string): Promise<boolean> {
    return this.#run('DELETE FROM api_keys WHERE prefix = ?', prefix) > 0;
  }

  async listSecrets(): Promise<SecretRecord[]> {
    return this.#all('SELECT * FROM secrets ORDER BY name').map(toSecret);
  }

  async putSecret(name: string, value: string, now: string): Promise<SecretRecord> {
    const row = this.#stmt(
      `INSERT INTO secrets (name, value, created_at, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
       RETURNING *`,
    ).get(name, value, now, now) as Row;
    return toSecret(row);
  }

  async deleteSecret(name: string): Promise<boolean> {
    return this.#run('DELETE FROM secrets WHERE name = ?', name) > 0;
  }

  async writeAsyncRequests(inserts: AsyncRequestRecord[], patches: AsyncRequestPatch[]): Promise<void> {
    if (this.#writer) return this.#writer.write(inserts, patches);
    writeAsyncBatch(this.#db, this.#stmts, inserts, patches);
  }

  async addUsage(rows: UsageRecord[]): Promise<void> {
    if (!rows.length) return;
    if (this.#writer) return this.#writer.addUsage(rows);
    addUsageBatch(this.#db, this.#stmts, rows);
  }

  async listUsage(q: UsageQuery): Promise<UsageRecord[]> {
    const where: string[] = [];
    const values: string[] = [];
    for (const [column, op, value] of [
      ['hour', '>=', q.since],
      ['hour', '<', q.until],
      ['key_prefix', '=', q.keyPrefix],
      ['model_id', '=', q.modelId],
    ] as const) {
      if (value === undefined) continue;
      where.push(`${column} ${op} ?`);
      values.push(value);
    }
    const sql = `SELECT * FROM usage_hourly${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY hour, key_prefix, model_id`;
    return this.#all(sql, ...values).map(toUsage);
  }

  async getAsyncRequest(id: string): Promise<AsyncRequestRecord | undefined> {
    const row = this.#stmt('SELECT * FROM async_requests WHERE id = ?').get(id) as Row | undefined;
    return row && toAsync(row);
  }

  async listUnfinishedAsyncRequests(): Promise<AsyncRequestHead[]> {
    return this.#all(
      `SELECT id, model_id, deployment_id, priority, seq, webhook_endpoint, max_time_in_queue_ms, retry, keep_output, status,
         webhook_status, attempts, not_before, webhook_attempts, created_at, status_at, errors, chain_id, chain_deployment_id
       FROM async_requests WHERE status IN ('QUEUED', 'IN_PROGRESS') OR webhook_status = 'PENDING' ORDER BY seq`,
    ).map(toAsyncHead);
  }

  async deleteFinishedAsyncRequests(before: number): Promise<number> {
    return this.#run(
      `DELETE FROM async_requests WHERE status_at < ? AND status NOT IN ('QUEUED', 'IN_PROGRESS') AND webhook_status <> 'PENDING'`,
      before,
    );
  }

  async listWebhookSecrets(): Promise<WebhookSecretRecord[]> {
    return this.#all('SELECT * FROM webhook_secrets ORDER BY created_at DESC, id').map(toWebhookSecret);
  }

  async insertWebhookSecret(w: WebhookSecretRecord): Promise<void> {
    this.#run(
      'INSERT INTO webhook_secrets (id, secret, created_at, expires_at) VALUES (?, ?, ?, ?)',
      w.id,
      w.secret,
      w.createdAt,
      w.expiresAt,
    );
  }

  async setWebhookSecretExpiry(id: string, expiresAt: string | null): Promise<boolean> {
    return this.#run('UPDATE webhook_secrets SET expires_at = ? WHERE id = ?', expiresAt, id) > 0;
  }

  async deleteWebhookSecret(id: string): Promise<boolean> {
    return this.#run('DELETE FROM webhook_secrets WHERE id = ?', id) > 0;
  }

  async listChains(): Promise<ChainRecord[]> {
    return this.#chains.listChains();
  }

  async insertChain(chain: ChainRecord): Promise<void> {
    this.#chains.insertChain(chain);
  }

  async deleteChain(id: string): Promise<void> {
    this.#chains.deleteChain(id);
  }

  async nextChainDeploymentSeq(chainId: string): Promise<number> {
    return this.#chains.nextChainDeploymentSeq(chainId);
  }

  async listChainDeployments(): Promise<ChainDeploymentRecord[]> {
    return this.#chains.listChainDeployments();
  }

  async insertChainDeployment(write: ChainDeploymentWrite): Promise<void> {
    this.#chains.insertChainDeployment(write);
  }

  async updateChainDeployment(update: ChainDeploymentUpdate): Promise<void> {
    this.#chains.updateChainDeployment(update);
  }

  async deleteChainDeployment(id: string): Promise<void> {
    this.#chains.deleteChainDeployment(id);
  }

  async listChainEnvironments(): Promise<ChainEnvironmentRecord[]> {
    return this.#chains.listChainEnvironments();
  }

  async putChainEnvironment(env: ChainEnvironmentRecord, chainlets: ChainletEnvironmentWrite): Promise<void> {
    this.#chains.putChainEnvironment(env, chainlets);
  }

  async close(): Promise<void> {
    await this.#writer?.close();
    if (this.#db.isOpen) this.#db.close();
  }
}
