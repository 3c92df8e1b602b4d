/**
 * The row writes that several of the SQLite store's operations share (a chain deployment writes models,
 * deployments, environments and a key in one transaction), as functions of a statement runner.
 */
import type { SQLInputValue } from 'node:sqlite';
import type { ApiKeyRecord, DeploymentRecord, EnvironmentRecord, ModelRecord } from '../../records/control.ts';
import { DEPLOYMENT_COLUMNS, json } from './rows.ts';
import { setClause } from './set-clause.ts';

/** Runs one statement (prepared once, cached) and returns the number of rows it changed. */
export type Run = (sql: string, ...params: SQLInputValue[]) => number;

export function insertModelRow(run: Run, m: ModelRecord): void {
  run(
    'INSERT INTO models (id, name, created_at, deployment_seq, chain_id, chainlet_name) VALUES (?, ?, ?, ?, ?, ?)',
    m.id,
    m.name,
    m.createdAt,
    m.deploymentSeq,
    m.chainId ?? null,
    m.chainletName ?? null,
  );
}

export function insertDeploymentRow(run: Run, d: DeploymentRecord): void {
  run(
    `INSERT INTO deployments (id, model_id, name, created_at, is_development, active, dir, config, autoscaling, labels, build)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    d.id,
    d.modelId,
    d.name,
    d.createdAt,
    d.isDevelopment ? 1 : 0,
    d.active ? 1 : 0,
    d.dir,
    json(d.config),
    json(d.autoscaling),
    d.labels == null ? null : json(d.labels),
    d.build == null ? null : json(d.build),
  );
}

export function updateDeploymentRow(
  run: Run,
  id: string,
  patch: Partial<Omit<DeploymentRecord, 'id' | 'modelId'>>,
): void {
  const set = setClause(patch, DEPLOYMENT_COLUMNS);
  if (set) run(`UPDATE deployments SET ${set.sql} WHERE id = ?`, ...set.values, id);
}

export function putEnvironmentRow(run: Run, e: EnvironmentRecord): void {
  run(
    `INSERT INTO environments (model_id, name, created_at, current_deployment_id, autoscaling, promotion)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (model_id, name) DO UPDATE SET current_deployment_id = excluded.current_deployment_id,
       autoscaling = excluded.autoscaling, promotion = excluded.promotion`,
    e.modelId,
    e.name,
    e.createdAt,
    e.currentDeploymentId,
    json(e.autoscaling),
    json(e.promotion),
  );
}

export function insertApiKeyRow(run: Run, k: ApiKeyRecord): void {
  run(
    `INSERT INTO api_keys (prefix, hash, name, type, model_ids, created_at, rpm, tpm, chain_deployment_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    k.prefix,
    k.hash,
    k.name,
    k.type,
    k.modelIds == null ? null : json(k.modelIds),
    k.createdAt,
    k.rpm ?? null,
    k.tpm ?? null,
    k.chainDeploymentId ?? null,
  );
}
