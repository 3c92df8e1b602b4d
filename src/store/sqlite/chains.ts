/**
 * The chain tables of the SQLite store. Every write that spans a chain's records (a chain deployment
 * with its chainlet models, deployments and key; a promotion of every chainlet) is one transaction.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { ChainDeploymentRecord, ChainEnvironmentRecord, ChainRecord } from '../../records/chains.ts';
import type { ChainDeploymentUpdate, ChainDeploymentWrite, ChainletEnvironmentWrite } from '../store.ts';
import { CHAIN_DEPLOYMENT_COLUMNS, json, type Row } from './rows.ts';
import { setClause } from './set-clause.ts';
import { transaction } from './transaction.ts';
import {
  insertApiKeyRow,
  insertDeploymentRow,
  insertModelRow,
  putEnvironmentRow,
  type Run,
  updateDeploymentRow,
} from './writes.ts';

const parse = <T>(v: unknown): T => JSON.parse(String(v)) as T;

const toChain = (r: Row): ChainRecord => ({
  id: String(r.id),
  name: String(r.name),
  createdAt: String(r.created_at),
  deploymentSeq: Number(r.deployment_seq),
});

const toChainDeployment = (r: Row): ChainDeploymentRecord => ({
  id: String(r.id),
  chainId: String(r.chain_id),
  name: String(r.name),
  createdAt: String(r.created_at),
  isDevelopment: r.is_development === 1,
  active: r.active === 1,
  dir: String(r.dir),
  graph: parse(r.graph),
  chainlets: parse(r.chainlets),
  invokeKey: r.invoke_key == null ? null : String(r.invoke_key),
});

const toChainEnvironment = (r: Row): ChainEnvironmentRecord => ({
  chainId: String(r.chain_id),
  name: String(r.name),
  createdAt: String(r.created_at),
  currentDeploymentId: r.current_deployment_id == null ? null : String(r.current_deployment_id),
  promotion: parse(r.promotion),
});

/** The chain operations of `SqliteStore`, over its connection and statement cache. */
export class ChainTables {
  readonly #db: DatabaseSync;
  readonly #stmt: (sql: string) => StatementSync;
  readonly #run: Run;

  constructor(db: DatabaseSync, stmt: (sql: string) => StatementSync) {
    this.#db = db;
    this.#stmt = stmt;
    this.#run = (sql, ...params) => Number(stmt(sql).run(...params).changes);
  }

  listChains(): ChainRecord[] {
    return (this.#stmt('SELECT * FROM chains ORDER BY created_at, id').all() as Row[]).map(toChain);
  }

  insertChain(c: ChainRecord): void {
    this.#run(
      'INSERT INTO chains (id, name, created_at, deployment_seq) VALUES (?, ?, ?, ?)',
      c.id,
      c.name,
      c.createdAt,
      c.deploymentSeq,
    );
  }

  deleteChain(id: string): void {
    // Foreign keys cascade: chain deployments (and their keys), environments, chainlet models (and theirs).
    this.#run('DELETE FROM chains WHERE id = ?', id);
  }

  nextChainDeploymentSeq(chainId: string): number {
    const row = this.#stmt(
      'UPDATE chains SET deployment_seq = deployment_seq + 1 WHERE id = ? RETURNING deployment_seq',
    ).get(chainId) as Row | undefined;
    if (!row) throw new Error(`no chain ${chainId}`);
    return Number(row.deployment_seq);
  }

  listChainDeployments(): ChainDeploymentRecord[] {
    return (this.#stmt('SELECT * FROM chain_deployments ORDER BY created_at, id').all() as Row[]).map(
      toChainDeployment,
    );
  }

  insertChainDeployment(w: ChainDeploymentWrite): void {
    transaction(this.#db, () => {
      for (const m of w.models) insertModelRow(this.#run, m);
      for (const d of w.deployments) insertDeploymentRow(this.#run, d);
      const c = w.chainDeployment;
      this.#run(
        `INSERT INTO chain_deployments (id, chain_id, name, created_at, is_development, active, dir, graph, chainlets, invoke_key)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        c.id,
        c.chainId,
        c.name,
        c.createdAt,
        c.isDevelopment ? 1 : 0,
        c.active ? 1 : 0,
        c.dir,
        json(c.graph),
        json(c.chainlets),
        c.invokeKey,
      );
      if (w.key) insertApiKeyRow(this.#run, w.key);
    });
  }

  updateChainDeployment(u: ChainDeploymentUpdate): void {
    transaction(this.#db, () => {
      const set = setClause(u.patch, CHAIN_DEPLOYMENT_COLUMNS);
      const sql = `UPDATE chain_deployments SET ${set?.sql ?? 'id = id'} WHERE id = ?`;
      if (this.#run(sql, ...(set?.values ?? []), u.id) === 0) throw new Error(`no chain deployment ${u.id}`);
      for (const m of u.models ?? []) insertModelRow(this.#run, m);
      for (const d of u.inserts ?? []) insertDeploymentRow(this.#run, d);
      for (const d of u.deployments) updateDeploymentRow(this.#run, d.id, d.patch);
      for (const prefix of u.deleteKeys ?? []) this.#run('DELETE FROM api_keys WHERE prefix = ?', prefix);
      if (u.key) insertApiKeyRow(this.#run, u.key);
    });
  }

  deleteChainDeployment(id: string): void {
    transaction(this.#db, () => {
      const row = this.#stmt('SELECT chainlets FROM chain_deployments WHERE id = ?').get(id) as Row | undefined;
      if (!row) return;
      for (const c of parse<{ deploymentId: string }[]>(row.chainlets)) {
        this.#run('DELETE FROM deployments WHERE id = ?', c.deploymentId);
      }
      this.#run('DELETE FROM chain_deployments WHERE id = ?', id); // its key cascades
    });
  }

  listChainEnvironments(): ChainEnvironmentRecord[] {
    return (this.#stmt('SELECT * FROM chain_environments ORDER BY created_at, name').all() as Row[]).map(
      toChainEnvironment,
    );
  }

  putChainEnvironment(e: ChainEnvironmentRecord, chainlets: ChainletEnvironmentWrite): void {
    transaction(this.#db, () => {
      this.#run(
        `INSERT INTO chain_environments (chain_id, name, created_at, current_deployment_id, promotion)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (chain_id, name) DO UPDATE SET current_deployment_id = excluded.current_deployment_id,
           promotion = excluded.promotion`,
        e.chainId,
        e.name,
        e.createdAt,
        e.currentDeploymentId,
        json(e.promotion),
      );
      for (const env of chainlets.environments) putEnvironmentRow(this.#run, env);
      for (const d of chainlets.deployments) updateDeploymentRow(this.#run, d.id, d.patch);
    });
  }
}
