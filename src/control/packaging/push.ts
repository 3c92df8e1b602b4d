import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { badRequest } from '../../errors.ts';
import { detectModel } from './detect.ts';
import { modelName as checkedModelName } from '../model-name.ts';
import { removeSource, writeSource } from './source.ts';
import type { PushResult, Pushes } from '../pushes.ts';
import type { Registry } from '../registry.ts';
import type { DeploymentBuild } from '../../records/control.ts';
import type { ModelConfig } from '../../records/model-config.ts';
import { ConfigError, parseModelConfig } from './config.ts';
import { newSnapshotDir, unpackTo } from './bundle.ts';

export interface PushOptions {
  /** Overrides config.yaml's model_name. */
  name?: string;
  promote?: boolean;
  environment?: string;
  development?: boolean;
  /** The pushed directory's absolute path on the pusher's machine, to show tracebacks with (source.ts). */
  source?: string;
}

/** What a push needs of the control plane: an `App` (or a `Girder`) has both. */
export interface PushPlane {
  registry: Registry;
  pushes: Pushes;
  /** What the deployment must build (the runtime's `Builder`); without it, nothing is built. */
  builder?: BuildPlanner;
}

/**
 * How a push learns what its deployment must build, implemented by the runtime (`runtime/build/`):
 * null for nothing, a `BUILT` build when everything is cached already, else a `BUILDING` one, which
 * the runtime then builds in the background. Throws a 400 for a bad build key.
 */
export interface BuildPlanner {
  plan(dir: string, config: ModelConfig): Promise<DeploymentBuild | null>;
}

/**
 * Turns an uploaded model directory into a deployment: unpacks it into a new immutable snapshot
 * under `<dataDir>/snapshots/`, validates config.yaml and the model files, then records the
 * deployment (`Pushes.record`). Nothing is recorded when any step fails, and the snapshot is removed;
 * a disk that refuses the upload is a 400 (a bad entry), 507 (full) or 500 answer, never a crash.
 *
 * @example
 *   const r = await receivePush(app, app.options.dataDir, req, { promote: true }, app.options.maxPushBytes);
 */
export async function receivePush(
  plane: PushPlane,
  dataDir: string,
  input: Readable,
  opts: PushOptions,
  maxBytes: number,
): Promise<PushResult & { warnings: string[] }> {
  const dir = await newSnapshotDir(dataDir);
  try {
    await unpackTo(input, dir, maxBytes);
    if (opts.source !== undefined) await writeSource(dir, opts.source);
    let text: string;
    try {
      text = await readFile(join(dir, 'config.yaml'), 'utf8');
    } catch {
      throw badRequest(
        'The model directory has no config.yaml.',
        'A model is a directory with a Truss-style config.yaml and its code.',
      );
    }
    let parsed: ReturnType<typeof parseModelConfig>;
    try {
      parsed = parseModelConfig(text);
    } catch (err) {
      if (err instanceof ConfigError)
        throw badRequest(err.message, `Fix ${err.key || 'the file'} in config.yaml and push again.`);
      throw err;
    }
    const { config, warnings } = parsed;
    // Free text, as in Truss (model-name.ts): the id is what URLs and files use.
    const modelName = checkedModelName(opts.name ?? config.model_name);
    const entry = detectModel(dir, config);
    if (typeof entry === 'string') throw badRequest(entry);
    const build = (await plane.builder?.plan(dir, config)) ?? null;
    const result = await plane.pushes.record({
      modelName,
      dir,
      config,
      build,
      development: opts.development,
      promote: opts.promote,
      environment: opts.environment,
    });
    if (result.replacedDir) await removeUnusedSnapshot(plane.registry, result.replacedDir);
    return { ...result, warnings };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    await removeSource(dir);
    throw err;
  }
}

/**
 * Deletes a snapshot directory once no deployment uses it (promotion copies share snapshots).
 *
 * @example
 *   await removeUnusedSnapshot(registry, deleted.dir);
 */
export async function removeUnusedSnapshot(registry: Registry, dir: string): Promise<void> {
  for (const d of registry.deployments.values()) if (d.dir === dir) return;
  await rm(dir, { recursive: true, force: true });
  await removeSource(dir);
}
