/**
 * A model's Truss-style `config.yaml`: parsed, validated, defaults filled.
 *
 * Errors name the file, the line, the key and what is wrong, so a user can fix them at once:
 *   config.yaml:7: runtime.predict_concurrency: must be an integer >= 1 (got "two")
 *
 * The YAML is read as PyYAML reads it (Truss uses `yaml.safe_load`): YAML 1.1, so `yes`/`on` are
 * booleans and `010` is octal, except that dates stay strings (they would not survive JSON).
 *
 * @example
 *   const { config, warnings } = parseModelConfig(await readFile(join(dir, 'config.yaml'), 'utf8'));
 *   const env = { GIRDER_CONFIG: JSON.stringify(configForReplica(config, 'model.py')) };
 */
import {
  isCollection,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node,
  type ScalarTag,
  type Tags,
  type YAMLError,
} from 'yaml';
import type { ModelConfig } from '../../records/model-config.ts';
import { ConfigSchema } from './config-schema.ts';
import { KNOWN_SECTION_KEYS, TRUSS_TOP_LEVEL_KEYS } from './truss-keys.ts';
import { thisMachine } from './machine.ts';
import { unhonouredKeys } from './truss-support.ts';

/**
 * A config.yaml that cannot be used, with where and why; its message is what the user reads.
 *
 * @example
 *   new ConfigError('config.yaml', 'runtime.predict_concurrency', 7, 'must be an integer >= 1').message
 *   // 'config.yaml:7: runtime.predict_concurrency: must be an integer >= 1'
 */
export class ConfigError extends Error {
  /** Dotted path of the offending key (`runtime.predict_concurrency`); '' for the document as a whole. */
  readonly key: string;
  /** 1-based line of the offending value in the file, when known. */
  readonly line: number | null;
  readonly reason: string;
  readonly file: string;

  constructor(file: string, key: string, line: number | null, reason: string) {
    super(`${file}${line === null ? '' : `:${line}`}: ${key === '' ? '' : `${key}: `}${reason}`);
    this.name = 'ConfigError';
    this.file = file;
    this.key = key;
    this.line = line;
    this.reason = reason;
  }
}

/** PyYAML's booleans (the yaml package's YAML 1.1 schema would also take `y`/`n`, e.g. `{x: 1, y: 2}`). */
function pyBool(value: boolean, test: RegExp): ScalarTag {
  return { tag: 'tag:yaml.org,2002:bool', default: true, test, identify: (v) => v === value, resolve: () => value };
}

/** The YAML 1.1 tags as PyYAML reads them: its booleans, and no timestamps (dates stay strings for JSON). */
const PYYAML_TAGS = (tags: Tags): Tags => [
  ...tags.filter(
    (t) => typeof t === 'string' || (t.tag !== 'tag:yaml.org,2002:bool' && t.tag !== 'tag:yaml.org,2002:timestamp'),
  ),
  pyBool(true, /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/),
  pyBool(false, /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/),
];

type Path = readonly PropertyKey[];

/** Finds the node at `path` (or the deepest existing ancestor) and returns its 1-based line. */
function lineAt(doc: Document, lines: LineCounter, path: Path, wantKey = false): number | null {
  let node: unknown = doc.contents;
  const lineOfNode = (n: unknown) => {
    const range = (n as Node | null)?.range;
    return range ? lines.linePos(range[0]).line : null;
  };
  let best = lineOfNode(node);
  for (let i = 0; i < path.length; i++) {
    const segment = String(path[i]);
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === segment);
      if (!pair) return best;
      const keyLine = lineOfNode(pair.key);
      if (last && wantKey) return keyLine ?? best;
      best = keyLine ?? best;
      node = pair.value;
      // A block collection starts on the line below its key: keep pointing at the key.
      if (node && !isCollection(node)) best = lineOfNode(node) ?? best;
    } else if (isSeq(node)) {
      node = node.items[Number(segment)];
      best = lineOfNode(node) ?? best;
    } else {
      return best;
    }
  }
  return best;
}

function valueAt(root: unknown, path: Path): unknown {
  let value = root;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Numbers in environment_variables keep their written form (`1.0` stays "1.0", as Python's str() gives). */
function envAsWritten(doc: Document, env: unknown): unknown {
  const node = doc.get('environment_variables', true);
  if (!isMap(node) || !isRecord(env)) return env;
  const out: Record<string, unknown> = { ...env };
  for (const pair of node.items) {
    if (isScalar(pair.key) && isScalar(pair.value) && typeof pair.value.value === 'number' && pair.value.source) {
      out[String(pair.key.value)] = pair.value.source;
    }
  }
  return out;
}

/**
 * Where a YAML syntax error is, as a user reads it. The parser reports a line indented under a plain
 * value (`c: 3` then `  d: 4`) at the value above it, since that value would have had to be a key:
 * the line to fix is the indented one, so that one is named.
 */
function syntaxErrorAt(text: string, err: YAMLError): { line: number | null; reason: string } {
  const reason = err.message.split(' at line ')[0];
  const line = err.linePos?.[0].line ?? null;
  if (err.code !== 'BLOCK_AS_IMPLICIT_KEY' || line === null) return { line, reason };
  const lines = text.split(/\r?\n/);
  const indent = (l: string): number => l.length - l.trimStart().length;
  const next = lines.findIndex((l, i) => i >= line && l.trim() !== '' && !l.trimStart().startsWith('#'));
  if (next < 0 || indent(lines[next]) <= indent(lines[line - 1])) return { line, reason };
  return { line: next + 1, reason: `this line is indented under line ${line}, whose value is not a mapping` };
}

/**
 * Parses and validates `config.yaml`. Throws ConfigError; returns the normalized config and one warning
 * per unknown key (kept in `raw`, not used by Girder) and per Truss key Girder cannot honour here.
 *
 * @example
 *   const { config, warnings } = parseModelConfig('model_name: hello\nruntime:\n  predict_concurrency: 4\n');
 *   config.runtime.predict_concurrency; // 4
 */
export function parseModelConfig(text: string, fileName = 'config.yaml'): { config: ModelConfig; warnings: string[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, version: '1.1', customTags: PYYAML_TAGS });
  const syntax = doc.errors[0];
  if (syntax) {
    const { line, reason } = syntaxErrorAt(text, syntax);
    throw new ConfigError(fileName, '', line, `invalid YAML: ${reason}`);
  }
  const warnings = doc.warnings.map(
    (w) => `${fileName}:${w.linePos?.[0].line ?? '?'}: ${w.message.split(' at line ')[0]}`,
  );

  let parsed: unknown;
  try {
    parsed = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (err) {
    throw new ConfigError(fileName, '', null, `invalid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isRecord(parsed)) {
    const got = Array.isArray(parsed) ? 'a list' : describe(parsed);
    throw new ConfigError(
      fileName,
      '',
      lineAt(doc, lines, []),
      `the top level must be a mapping of keys to values (got ${got})`,
    );
  }
  const raw = parsed;

  const result = ConfigSchema.safeParse({
    ...raw,
    environment_variables: envAsWritten(doc, raw.environment_variables),
  });
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue.path;
    // A bad record key (a secret or variable name): the key itself is the offending value.
    const badKey = issue.code === 'invalid_key';
    const message = badKey ? (issue.issues[0]?.message ?? issue.message) : issue.message;
    const got = badKey ? path[path.length - 1] : valueAt(raw, path);
    const reason = got === undefined ? message : `${message} (got ${describe(got)})`;
    throw new ConfigError(fileName, path.map(String).join('.'), lineAt(doc, lines, path), reason);
  }
  const data = result.data;

  const warn = (path: string[]) =>
    warnings.push(`${fileName}:${lineAt(doc, lines, path, true) ?? '?'}: unknown key "${path.join('.')}" (ignored)`);
  for (const key of Object.keys(raw)) if (!TRUSS_TOP_LEVEL_KEYS.has(key)) warn([key]);
  for (const [section, known] of Object.entries(KNOWN_SECTION_KEYS)) {
    const path = section.split('.');
    const value = valueAt(raw, path);
    if (isRecord(value)) for (const key of Object.keys(value)) if (!known.has(key)) warn([...path, key]);
  }
  // Truss keys Girder cannot honour here, each with what happens instead (truss-support.ts).
  const unhonoured = unhonouredKeys(raw, thisMachine()).map((u) => ({ ...u, line: lineAt(doc, lines, u.at, true) }));
  for (const { path, message, line } of unhonoured.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)))
    warnings.push(`${fileName}:${line ?? '?'}: ${path.join('.')}: ${message}`);

  const { predict_concurrency, streaming_read_timeout, predict_timeout_seconds, health_checks } = data.runtime;
  const docker = data.docker_server;
  const config: ModelConfig = {
    model_name: data.model_name,
    description: data.description,
    model_metadata: data.model_metadata,
    environment_variables: data.environment_variables,
    secrets: data.secrets,
    runtime: { predict_concurrency, streaming_read_timeout, predict_timeout_seconds, health_checks },
    docker_server: docker && {
      start_command: docker.start_command,
      server_port: docker.server_port,
      predict_endpoint: docker.predict_endpoint,
      readiness_endpoint: docker.readiness_endpoint,
      liveness_endpoint: docker.liveness_endpoint,
    },
    model_module_dir: data.model_module_dir,
    model_class_filename: data.model_class_filename,
    model_class_name: data.model_class_name,
    data_dir: data.data_dir,
    resources: data.resources,
    raw,
  };
  return { config, warnings };
}

/**
 * The JSON replicas receive as GIRDER_CONFIG: `raw` with the normalized values written over it
 * (nested sections merged, so unknown keys such as `runtime.transport` survive) and
 * `model_class_filename` set to the file the runner must load.
 *
 * @example
 *   const env = { GIRDER_CONFIG: JSON.stringify(configForReplica(d.config, 'model.py')) };
 */
export function configForReplica(config: ModelConfig, modelClassFilename: string): Record<string, unknown> {
  const { raw, runtime, docker_server, ...normalized } = config;
  const rawRuntime = isRecord(raw.runtime) ? raw.runtime : {};
  const rawChecks = isRecord(rawRuntime.health_checks) ? rawRuntime.health_checks : {};
  const rawDocker = isRecord(raw.docker_server) ? raw.docker_server : {};
  return structuredClone({
    ...raw,
    ...normalized,
    runtime: { ...rawRuntime, ...runtime, health_checks: { ...rawChecks, ...runtime.health_checks } },
    docker_server: docker_server && { ...rawDocker, ...docker_server },
    model_class_filename: modelClassFilename,
  });
}
