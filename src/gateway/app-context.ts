import type { KeyRing } from '../control/keys.ts';
import type { Registry } from '../control/registry.ts';
import type { Secrets } from '../control/secrets.ts';
import type { LogBook } from '../runtime/logs.ts';
import type { Supervisor } from '../runtime/supervisor.ts';

/** Server settings, from `girder serve` flags and environment variables. */
export interface GirderOptions {
  dataDir: string;
  host: string;
  port: number;
  /** Base domain of the host forms `model-{id}.{domain}` (decision 14). */
  domain: string;
  /** Request bodies above this get 413 (Baseten's edge limit: 100 MB). */
  maxBodyBytes: number;
  /** Largest model directory `girder push` accepts. */
  maxPushBytes: number;
  /** Sync predict timeout (decision 1); a deployment may set its own. */
  predictTimeoutSeconds: number;
  /** Probe period of ready replicas. */
  probeIntervalMs: number;
}

export const DEFAULT_OPTIONS: Omit<GirderOptions, 'dataDir'> = {
  host: '127.0.0.1',
  port: 8080,
  domain: 'localhost',
  maxBodyBytes: 100 * 1000 * 1000,
  maxPushBytes: 10 * 1024 * 1024 * 1024,
  predictTimeoutSeconds: 1200,
  probeIntervalMs: 2000,
};

/** What route handlers reach: the planes of one Girder, wired together by `Girder.start`. */
export interface App {
  options: GirderOptions;
  registry: Registry;
  keys: KeyRing;
  secrets: Secrets;
  logs: LogBook;
  supervisor: Supervisor;
}
