import { access, readFile } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import type { RunnerKind } from '../../control/packaging/detect.ts';
import { badRequest } from '../../errors.ts';
import type { ModelConfig } from '../../records/model-config.ts';

/** One `external_data` entry: a file fetched over http(s) into the model's data dir. */
export interface ExternalFile {
  url: string;
  /** Relative to the data dir, inside it. */
  localDataPath: string;
}

/** What a pushed model directory asks to be built, read from its config.yaml and files. */
export interface BuildSpec {
  /** A virtualenv: requirements, build commands, or a python_version other than python3's. */
  python: {
    /** `py311` → `3.11`; null: the `python3` Girder runs. */
    version: string | null;
    /** The requirement lines, in order (requirements, or the lines of requirements_file). */
    requirements: string[];
  } | null;
  /** npm dependencies: the model directory has a package.json. */
  node: {
    packageJson: string;
    /** package-lock.json or npm-shrinkwrap.json, when there is one: then `npm ci`. */
    lockfile: { name: string; text: string } | null;
  } | null;
  buildCommands: string[];
  externalData: ExternalFile[];
}

/** Nothing to build: the deployment runs as pushed. */
export const isEmpty = (s: BuildSpec): boolean => !s.python && !s.node && s.externalData.length === 0;

const bad = (key: string, why: string) =>
  badRequest(`config.yaml: ${key}: ${why}`, `Fix ${key} in config.yaml and push again.`);

function stringList(raw: Record<string, unknown>, key: string): string[] {
  const v = raw[key];
  if (v == null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw bad(key, 'must be a list of strings');
  return (v as string[]).map((x) => x.trim()).filter(Boolean);
}

/** A path given in config.yaml, kept inside `root` (no absolute paths, no `..` out of it). */
function inside(key: string, path: string): string {
  const n = normalize(path);
  if (isAbsolute(n) || n === '..' || n.startsWith('../'))
    throw bad(key, `"${path}" must be a relative path inside the model directory`);
  return n;
}

/** requirements.txt's lines, or pyproject.toml's `[project] dependencies` (read by Girder's python3). */
async function requirementsFile(dir: string, file: string, readPyproject: (text: string) => Promise<string[]>) {
  let text: string;
  const path = join(dir, inside('requirements_file', file));
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw bad('requirements_file', `${file} is not in the model directory`);
  }
  if (file.endsWith('.toml')) return readPyproject(text);
  if (file.endsWith('.lock'))
    throw bad('requirements_file', 'uv.lock is not supported; use requirements.txt or pyproject.toml');
  return text
    .split('\n')
    .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
    .filter(Boolean);
}

function externalData(raw: Record<string, unknown>): ExternalFile[] {
  const v = raw.external_data;
  if (v == null) return [];
  if (!Array.isArray(v)) throw bad('external_data', 'must be a list of {url, local_data_path}');
  return v.map((e, i) => {
    const key = `external_data[${i}]`;
    if (!e || typeof e !== 'object') throw bad(key, 'must be a mapping with url and local_data_path');
    const { url, local_data_path: path } = e as Record<string, unknown>;
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) throw bad(`${key}.url`, 'must be an http(s) URL');
    if (typeof path !== 'string' || !path) throw bad(`${key}.local_data_path`, 'must be a relative path');
    return { url, localDataPath: inside(`${key}.local_data_path`, path) };
  });
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

/**
 * What a push must build, from config.yaml's Truss keys (`requirements`, `requirements_file`,
 * `python_version`, `build_commands`, `external_data`) and the files of the directory (a
 * `package.json` for node models). A bad value is a 400 naming the key, so that a push with a typo
 * fails at once rather than at build.
 *
 * @example
 *   await buildSpec(dir, config, 'python', readPyproject)
 *   // → { python: { version: null, requirements: ['six==1.17.0', 'attrs'] }, node: null, buildCommands: [], externalData: [] }
 */
export async function buildSpec(
  dir: string,
  config: ModelConfig,
  runner: RunnerKind,
  readPyproject: (text: string) => Promise<string[]>,
): Promise<BuildSpec> {
  const raw = config.raw ?? {};
  const listed = stringList(raw, 'requirements');
  const file = raw.requirements_file;
  if (file != null && typeof file !== 'string') throw bad('requirements_file', 'must be a path');
  if (file && listed.length) throw bad('requirements_file', 'cannot be used together with requirements');
  const requirements = file ? await requirementsFile(dir, file, readPyproject) : listed;
  const buildCommands = stringList(raw, 'build_commands');
  const pv = raw.python_version;
  if (pv != null && (typeof pv !== 'string' || !/^py3\d{1,2}$/.test(pv)))
    throw bad('python_version', `must be like py311 (got ${JSON.stringify(pv)})`);
  const version = typeof pv === 'string' ? `3.${pv.slice(3)}` : null;

  let node: BuildSpec['node'] = null;
  if (runner === 'node' && (await exists(join(dir, 'package.json')))) {
    const packageJson = await readFile(join(dir, 'package.json'), 'utf8');
    let lockfile: { name: string; text: string } | null = null;
    for (const name of ['npm-shrinkwrap.json', 'package-lock.json'])
      if (!lockfile && (await exists(join(dir, name))))
        lockfile = { name, text: await readFile(join(dir, name), 'utf8') };
    node = { packageJson, lockfile };
  }
  // Build commands go to the node environment of a node model, else to a virtualenv.
  const wantsPython = runner !== 'node' && (requirements.length > 0 || buildCommands.length > 0 || version !== null);
  return {
    python: wantsPython ? { version, requirements } : null,
    node: node ?? (runner === 'node' && buildCommands.length ? { packageJson: '{}', lockfile: null } : null),
    buildCommands,
    externalData: externalData(raw),
  };
}
