/**
 * zod schemas for the parts of a Truss `config.yaml` that Girder uses, one per section.
 * `config.ts` parses the YAML, runs `ConfigSchema` and turns the first issue into a `ConfigError`;
 * each message here is the `reason` a user reads (`config.ts` appends `(got <value>)`).
 *
 * The ranges are Truss's and Baseten's; where Girder differs, docs/compatibility.md says so.
 */
import { z } from 'zod';

/** Error option for a wrong type: `is required` when the key is missing, `reason` otherwise. */
function say(reason: string) {
  return {
    error: (issue: { code?: string; input?: unknown }) =>
      issue.code !== 'invalid_type' ? undefined : issue.input === undefined ? 'is required' : reason,
  };
}

/** A mapping section: an empty value (`runtime:` with nothing under it) counts as absent. */
function section<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => value ?? undefined, schema);
}

const MAPPING = 'must be a mapping of keys to values';

/**
 * Relative, inside the model directory: no absolute path, no drive letter, no `..` segment.
 *
 * @example
 *   isInsidePath('model/weights'); // true
 *   isInsidePath('../etc');        // false
 */
export function isInsidePath(path: string): boolean {
  if (path === '' || path.includes('\0')) return false;
  if (path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:/.test(path)) return false;
  return !path.split(/[\\/]/).includes('..');
}

const PATH = 'must be a relative path inside the model directory (no leading "/", no "..")';
const relativePath = z.string(say(PATH)).refine(isInsidePath, PATH);

// ---- runtime.health_checks (10–3000 s, the deprecated delay 0–3000 s; null = Girder's default)

const THRESHOLD = 'must be an integer number of seconds from 10 to 3000, or null';
const DELAY = 'must be an integer number of seconds from 0 to 3000, or null';
const threshold = z.int(say(THRESHOLD)).min(10, THRESHOLD).max(3000, THRESHOLD).nullable().default(null);

export const HealthChecksSchema = z.object(
  {
    startup_threshold_seconds: threshold,
    stop_traffic_threshold_seconds: threshold,
    restart_threshold_seconds: threshold,
    restart_check_delay_seconds: z.int(say(DELAY)).min(0, DELAY).max(3000, DELAY).nullable().default(null),
  },
  say(MAPPING),
);

// ---- runtime

const CONCURRENCY = 'must be an integer >= 1';
const STREAM_TIMEOUT = 'must be a number of seconds > 0';
const PREDICT_TIMEOUT = 'must be a number of seconds > 0, or null for the server default';
const WORKERS = 'must be 1: Truss runs one worker per server (raise predict_concurrency instead)';

export const RuntimeSchema = z.object(
  {
    predict_concurrency: z.int(say(CONCURRENCY)).min(1, CONCURRENCY).default(1),
    streaming_read_timeout: z.number(say(STREAM_TIMEOUT)).positive(STREAM_TIMEOUT).default(60),
    /** Girder extension: this deployment's sync predict timeout (the server's default is 1200 s). */
    predict_timeout_seconds: z.number(say(PREDICT_TIMEOUT)).positive(PREDICT_TIMEOUT).nullable().default(null),
    health_checks: section(HealthChecksSchema.default(() => HealthChecksSchema.parse({}))),
    /** Removed by Truss 0.9.49 except for the value 1; checked, not kept. */
    num_workers: z.literal(1, WORKERS).optional(),
  },
  say(MAPPING),
);

// ---- docker_server: Girder needs all five keys, even where Truss allows a null start_command

const PORT = 'must be an integer from 1 to 65535';
const ENDPOINT = 'must be a path starting with "/"';
const endpoint = z.string(say(ENDPOINT)).startsWith('/', ENDPOINT);

export const DockerServerSchema = z.object(
  {
    start_command: z.string(say('must be a non-empty string')).trim().min(1, 'must be a non-empty string'),
    server_port: z.int(say(PORT)).min(1, PORT).max(65535, PORT),
    predict_endpoint: endpoint,
    readiness_endpoint: endpoint,
    liveness_endpoint: endpoint,
    // Checked for type, then left to `raw` (ModelConfig.docker_server has the five keys above).
    run_as_user_id: z.int('must be an integer or null').nullable().optional(),
    no_build: z.boolean('must be a boolean or null').nullable().optional(),
  },
  say('must be a mapping with start_command, server_port, predict_endpoint, readiness_endpoint and liveness_endpoint'),
);

// ---- environment_variables and secrets

const ENV_NAME = 'environment variable names must be non-empty and contain no "=" or NUL';
const ENV_VALUE = 'must be a string, a number or a boolean';
/** Truss's `from_dict`: booleans become `true`/`false`, anything else `str(v)` (config.ts passes numbers as written). */
const envValue = z.union([z.string(), z.number(), z.boolean()], ENV_VALUE).transform((value) => String(value));

/** Truss's `validate_secret_name`; also keeps the name safe as a file name in GIRDER_SECRETS_DIR. */
const SECRET_NAME = 'secret names must be 1–253 of A–Z a–z 0–9 - _ . and not "." or ".."';
const secretName = z
  .string()
  .regex(/^[-._a-zA-Z0-9]{1,253}$/, SECRET_NAME)
  .refine((name) => name !== '.' && name !== '..', SECRET_NAME);
const SECRET_VALUE = "must be null (or a placeholder string): secret values belong in Girder's secret store";

// ---- the whole document

const NAME = 'must be a string or null';

export const ConfigSchema = z.object({
  model_name: z.string(NAME).nullable().default(null),
  description: z.string(NAME).nullable().default(null),
  model_metadata: section(z.record(z.string(), z.unknown(), say(MAPPING)).default({})),
  environment_variables: section(z.record(z.string().regex(/^[^=\0]+$/, ENV_NAME), envValue, say(MAPPING)).default({})),
  secrets: section(z.record(secretName, z.string(SECRET_VALUE).nullable(), say(MAPPING)).default({})),
  runtime: section(RuntimeSchema.default(() => RuntimeSchema.parse({}))),
  docker_server: DockerServerSchema.nullable().default(null),
  model_module_dir: relativePath.default('model'),
  /** null: the runtime picks the file (model.py, model.ts, …). */
  model_class_filename: relativePath.nullable().default(null),
  model_class_name: z.string(say('must be a non-empty string')).min(1, 'must be a non-empty string').default('Model'),
  data_dir: relativePath.default('data'),
  resources: section(z.record(z.string(), z.unknown(), say(MAPPING)).default({})),
});
