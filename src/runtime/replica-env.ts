import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { configForReplica } from '../control/packaging/config.ts';
import type { DeploymentRecord, EnvironmentRecord } from '../records/control.ts';
import type { LaunchSpec } from './runners/launch.ts';

/** Variables of Girder's own environment that replicas inherit; everything else (keys!) stays out. */
export const INHERITED_ENV: readonly string[] = [
  'PATH',
  'HOME',
  'LANG',
  'LC_ALL',
  'LC_CTYPE',
  'TZ',
  'TMPDIR',
  'USER',
  'LOGNAME',
  'SHELL',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'NODE_EXTRA_CA_CERTS',
  'REQUESTS_CA_BUNDLE',
  'PYTHONPATH',
  'VIRTUAL_ENV',
  'HF_HOME',
];

export interface ReplicaEnvInput {
  /** Girder's data directory: the secrets go to `<dataDir>/run/<deployment id>/secrets`. */
  dataDir: string;
  deployment: DeploymentRecord;
  spec: Pick<LaunchSpec, 'modelClassFilename'>;
  /** The values of the secrets the config names (`Secrets.values`). */
  secrets: { values(names: Iterable<string>): Map<string, string> };
  /** The environment the deployment serves, if any (GIRDER_ENVIRONMENT). */
  environment: EnvironmentRecord | undefined;
  /** Girder's own environment; only INHERITED_ENV of it reaches the replica. */
  parentEnv?: NodeJS.ProcessEnv;
}

/**
 * The environment of a deployment's replica process, as `src/runtime/runners/PROTOCOL.md` defines it:
 * the few inherited variables, the config's `environment_variables`, then the GIRDER_* and BT_*
 * variables. Writes the secrets the config names into its secrets directory (0700, files 0600),
 * so that no secret value ever sits in the environment.
 *
 * @example
 *   const env = replicaEnv({ dataDir, deployment, spec, secrets, environment: registry.environmentOf(deployment) });
 *   env.GIRDER_SECRETS_DIR; // → '<dataDir>/run/<deployment id>/secrets'
 *   env.GIRDER_API_KEY; // → undefined, whatever Girder itself was given
 */
export function replicaEnv(input: ReplicaEnvInput): Record<string, string> {
  const { deployment: d, spec, environment } = input;
  const config = d.config;
  const secretsDir = writeSecrets(input);
  return {
    ...inheritedEnv(input.parentEnv ?? process.env),
    // Node (the node runner, or a custom server on node) keeps its compiled code and stripped types
    // here, in the deployment's run dir: a cold start after the first skips that work (halves it).
    NODE_COMPILE_CACHE: join(input.dataDir, 'run', d.id, 'node-compile-cache'),
    ...(config.environment_variables ?? {}),
    GIRDER_MODEL_DIR: d.dir,
    GIRDER_CONFIG: JSON.stringify(configForReplica(config, spec.modelClassFilename ?? '')),
    GIRDER_SECRETS_DIR: secretsDir,
    GIRDER_ENVIRONMENT: JSON.stringify(environment ? { name: environment.name } : null),
    BT_MODEL_ID: d.modelId,
    BT_MODEL_DEPLOYMENT_ID: d.id,
  };
}

/** The allow-listed part of `parent`, with the directory of Girder's Node first on PATH. */
function inheritedEnv(parent: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of INHERITED_ENV) if (parent[k] !== undefined) env[k] = parent[k];
  // `node` in a custom start command is the Node that runs Girder.
  env.PATH = `${dirname(process.execPath)}:${env.PATH ?? '/usr/bin:/bin'}`;
  return env;
}

/**
 * Brings the deployment's secrets directory up to date in place: a secret removed from the config
 * is gone, the others are replaced whole (written aside, then renamed, so that a replica reading
 * one never sees half a value). The directory itself stays, because a running replica's sandbox
 * has it mounted; new files take its owner and group (the replicas' group, when Girder runs them
 * as other users, which then may read them: 0640).
 */
function writeSecrets({ dataDir, deployment, secrets }: ReplicaEnvInput): string {
  const runDir = join(dataDir, 'run', deployment.id);
  const dir = join(runDir, 'secrets');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const { uid, gid } = statSync(dir);
  const values = secrets.values(Object.keys(deployment.config.secrets ?? {}));
  for (const name of readdirSync(dir)) {
    if (!values.has(name)) rmSync(join(dir, name), { recursive: true, force: true });
  }
  for (const [name, value] of values) {
    // Outside the directory, so that a runner listing it never meets a half-written file.
    const aside = join(runDir, `.secret-${randomBytes(6).toString('hex')}`);
    writeFileSync(aside, value, { mode: gid === process.getgid?.() ? 0o600 : 0o640 });
    if (process.getuid?.() === 0 && (uid !== 0 || gid !== 0)) chownSync(aside, uid, gid);
    renameSync(aside, join(dir, name));
  }
  return dir;
}
