/**
 * The SQLite schema. `user_version` numbers the migrations: each entry of MIGRATIONS runs once,
 * in order, inside one transaction, so a data dir from an older Girder upgrades on start.
 */
export const MIGRATIONS: string[] = [
  `
  CREATE TABLE models (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    deployment_seq INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE deployments (
    id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    is_development INTEGER NOT NULL,
    active INTEGER NOT NULL,
    dir TEXT NOT NULL,
    config TEXT NOT NULL,
    autoscaling TEXT NOT NULL,
    labels TEXT
  );
  CREATE INDEX deployments_model ON deployments(model_id);
  CREATE TABLE environments (
    model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    current_deployment_id TEXT,
    autoscaling TEXT NOT NULL,
    promotion TEXT NOT NULL,
    PRIMARY KEY (model_id, name)
  );
  CREATE TABLE api_keys (
    prefix TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    name TEXT,
    type TEXT NOT NULL,
    model_ids TEXT,
    created_at TEXT NOT NULL
  );
  CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  `,
  `
  CREATE TABLE async_requests (
    id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL,
    deployment_id TEXT NOT NULL,
    priority INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    input TEXT NOT NULL,
    webhook_endpoint TEXT,
    max_time_in_queue_ms INTEGER NOT NULL,
    retry TEXT NOT NULL,
    keep_output INTEGER NOT NULL,
    status TEXT NOT NULL,
    webhook_status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    not_before INTEGER NOT NULL,
    webhook_attempts INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    status_at INTEGER NOT NULL,
    errors TEXT NOT NULL,
    output TEXT
  );
  -- What a start resumes: active requests and undelivered webhooks.
  CREATE INDEX async_unfinished ON async_requests(status, webhook_status)
    WHERE status IN ('QUEUED', 'IN_PROGRESS') OR webhook_status = 'PENDING';
  CREATE INDEX async_status_at ON async_requests(status_at);
  CREATE TABLE webhook_secrets (
    id TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT
  );
  `,
  `
  ALTER TABLE api_keys ADD COLUMN rpm INTEGER;
  ALTER TABLE api_keys ADD COLUMN tpm INTEGER;
  `,
  `
  CREATE TABLE usage_hourly (
    hour TEXT NOT NULL,
    key_prefix TEXT NOT NULL,
    model_id TEXT NOT NULL,
    model_name TEXT NOT NULL,
    requests INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    PRIMARY KEY (hour, key_prefix, model_id)
  );
  `,
  `
  CREATE TABLE chains (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    deployment_seq INTEGER NOT NULL DEFAULT 0
  );
  -- A chainlet's internal model goes with its chain (and takes its deployments and environments).
  ALTER TABLE models ADD COLUMN chain_id TEXT REFERENCES chains(id) ON DELETE CASCADE;
  ALTER TABLE models ADD COLUMN chainlet_name TEXT;
  CREATE INDEX models_chain ON models(chain_id) WHERE chain_id IS NOT NULL;
  CREATE TABLE chain_deployments (
    id TEXT PRIMARY KEY,
    chain_id TEXT NOT NULL REFERENCES chains(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    is_development INTEGER NOT NULL,
    active INTEGER NOT NULL,
    dir TEXT NOT NULL,
    graph TEXT NOT NULL,
    chainlets TEXT NOT NULL,
    invoke_key TEXT
  );
  CREATE INDEX chain_deployments_chain ON chain_deployments(chain_id);
  CREATE TABLE chain_environments (
    chain_id TEXT NOT NULL REFERENCES chains(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    current_deployment_id TEXT,
    promotion TEXT NOT NULL,
    PRIMARY KEY (chain_id, name)
  );
  -- A chain deployment's key goes with it.
  ALTER TABLE api_keys ADD COLUMN chain_deployment_id TEXT REFERENCES chain_deployments(id) ON DELETE CASCADE;
  `,
  `
  -- What a deployment's build made or why it failed (runtime/build/).
  ALTER TABLE deployments ADD COLUMN build TEXT;
  `,
  `
  -- A chain's async request (async_run_remote): the chain and chain deployment it names.
  ALTER TABLE async_requests ADD COLUMN chain_id TEXT;
  ALTER TABLE async_requests ADD COLUMN chain_deployment_id TEXT;
  `,
];
