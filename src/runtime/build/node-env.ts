import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative } from 'node:path';
import type { BuildLogWriter } from './build-log.ts';
import { BuildError, runTool, toolEnv } from './run-tool.ts';
import type { BuildSpec } from './spec.ts';

type NodeSpec = NonNullable<BuildSpec['node']>;

/** The `file:` folders package.json depends on, relative to the model directory (inside it). */
function localDeps(packageJson: string): string[] {
  let pkg: Record<string, Record<string, unknown> | undefined>;
  try {
    pkg = JSON.parse(packageJson);
  } catch (err) {
    throw new BuildError(`package.json is not valid JSON: ${(err as Error).message}`);
  }
  const out: string[] = [];
  for (const field of ['dependencies', 'optionalDependencies', 'devDependencies']) {
    for (const spec of Object.values(pkg[field] ?? {})) {
      if (typeof spec !== 'string' || !spec.startsWith('file:')) continue;
      const rel = normalize(spec.slice(5));
      if (isAbsolute(rel) || rel.startsWith('..'))
        throw new BuildError(`package.json: ${spec} points outside the model directory, which is all a push uploads.`);
      out.push(rel);
    }
  }
  return out;
}

/** Every file of a folder, in a stable order, into the hash (a `file:` dependency's content is part of the environment). */
async function hashTree(hash: ReturnType<typeof createHash>, root: string, dir = root): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.name === 'node_modules') continue;
    if (e.isDirectory()) await hashTree(hash, root, p);
    else if (e.isFile()) hash.update(`${relative(root, p)}\0`).update(await readFile(p));
  }
}

/**
 * The hash a node environment is cached by: the lockfile (package.json when there is none), the
 * content of its `file:` dependencies, the build commands, and Node's version (native addons are
 * built for it).
 *
 * @example
 *   await nodeEnvHash(dir, spec, []); // → '3f2a…' (24 hex)
 */
export async function nodeEnvHash(dir: string, spec: NodeSpec, buildCommands: string[]): Promise<string> {
  const hash = createHash('sha256').update(`node ${process.version}\0`);
  hash.update(spec.lockfile ? `${spec.lockfile.name}\0${spec.lockfile.text}` : `package.json\0${spec.packageJson}`);
  hash.update(`\0${JSON.stringify(buildCommands)}\0`);
  for (const rel of localDeps(spec.packageJson)) await hashTree(hash.update(`${rel}\0`), join(dir, rel));
  return hash.digest('hex').slice(0, 24);
}

/**
 * Installs a node model's dependencies into `target`: package.json, its lockfile and its `file:`
 * folders are copied into a directory beside it, `npm ci` (with a lockfile) or `npm install` runs
 * there (`--install-links`, so that `file:` folders are copied in rather than linked to the
 * snapshot), then the build commands, and the directory is renamed to `target`, whole.
 *
 * @example
 *   await buildNodeEnv(log, snapshotDir, spec, [], '/data/envs/node/3f2a…');
 */
export async function buildNodeEnv(
  log: BuildLogWriter,
  dir: string,
  spec: NodeSpec,
  buildCommands: string[],
  target: string,
): Promise<void> {
  const work = `${target}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(work, { recursive: true, mode: 0o755 });
  try {
    await writeFile(join(work, 'package.json'), spec.packageJson);
    if (spec.lockfile) await writeFile(join(work, spec.lockfile.name), spec.lockfile.text);
    for (const rel of localDeps(spec.packageJson)) await cp(join(dir, rel), join(work, rel), { recursive: true });
    for (const rc of ['.npmrc']) await cp(join(dir, rc), join(work, rc)).catch(() => {});
    const env = toolEnv(process.env, { npm_config_update_notifier: 'false' });
    const npmArgs = [spec.lockfile ? 'ci' : 'install', '--install-links', '--no-audit', '--no-fund'];
    await runTool(log, 'npm', npmArgs, { env, cwd: work });
    for (const command of buildCommands)
      await runTool(log, '/bin/sh', ['-c', command], { env, cwd: work, shown: command });
    await runTool(log, 'chmod', ['-R', 'a+rX', work], {
      env,
      shown: 'chmod -R a+rX (replicas read it as their own users)',
    });
    await rename(work, target);
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
}
