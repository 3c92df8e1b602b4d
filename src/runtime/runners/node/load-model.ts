import { readdir, readFile } from 'node:fs/promises';
import { registerHooks } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Model, ModelInit } from '../../../sdk/index.ts';
import { chainletModel } from './chainlet.ts';

/** The fields of GIRDER_CONFIG the runner reads; Girder has filled their defaults. */
interface RunnerConfig {
  model_module_dir?: string;
  model_class_filename?: string;
  model_class_name?: string;
  data_dir?: string;
  runtime?: { predict_concurrency?: number };
}

export interface LoadedModel {
  model: Model;
  /** `runtime.predict_concurrency`, at least 1. */
  concurrency: number;
}

const SDK_URL = new URL('../../../sdk/index.ts', import.meta.url).href;
const CHAINS_URL = new URL('../../../sdk/chains/index.ts', import.meta.url).href;

/**
 * Lets model code import the packages its package.json lists (from GIRDER_NODE_MODULES when they
 * are not beside it), and `import { HttpError } from 'girder'` (and chain code `girder/chains`) wherever its snapshot lives: the bare name
 * resolves to this Girder's SDK, so models need no node_modules of their own for it.
 */
export function resolveGirderImports(nodeModules?: string): void {
  // A file in the built environment, as the parent of the packages it installed (`runtime/build/`).
  const envParent = nodeModules ? pathToFileURL(join(nodeModules, '..', 'package.json')).href : undefined;
  registerHooks({
    resolve(specifier, context, next) {
      if (specifier === 'girder' || specifier === 'girder/sdk') return { url: SDK_URL, shortCircuit: true };
      // Apart, so that a model importing HttpError at run time does not load zod and the chains SDK.
      if (specifier === 'girder/chains') return { url: CHAINS_URL, shortCircuit: true };
      try {
        return next(specifier, context);
      } catch (err) {
        // A package of the model's package.json: installed at build beside the snapshot, not in it.
        const bare = !/^(\.|\/|[a-z][a-z0-9+.-]*:)/i.test(specifier);
        if (!envParent || !bare || (err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
        return next(specifier, { ...context, parentURL: envParent });
      }
    },
  });
}

/**
 * Imports the model module named by GIRDER_CONFIG and constructs its class, as PROTOCOL.md
 * describes; `load()` is left to the caller. Throws when the module or its export is unusable.
 *
 * @example
 *   const { model, concurrency } = await createModel(process.env);
 *   await model.load?.();
 */
export async function createModel(env: NodeJS.ProcessEnv): Promise<LoadedModel> {
  resolveGirderImports(env.GIRDER_NODE_MODULES);
  const modelDir = required(env, 'GIRDER_MODEL_DIR');
  const config = JSON.parse(required(env, 'GIRDER_CONFIG')) as RunnerConfig & Record<string, unknown>;
  const file = join(modelDir, config.model_module_dir ?? 'model', config.model_class_filename ?? 'model.ts');
  const className = config.model_class_name ?? 'Model';
  const concurrency = config.runtime?.predict_concurrency ?? 1;
  const slots = Number.isInteger(concurrency) && concurrency > 0 ? concurrency : 1;
  // a chainlet's deployment (control/chain-config.ts): its config names the chainlet to serve
  const chainlet = config.girder_chainlet;
  if (typeof chainlet === 'string') {
    const model = await chainletModel({
      file,
      name: chainlet,
      secrets: await readSecrets(env.GIRDER_SECRETS_DIR),
      environment: JSON.parse(env.GIRDER_ENVIRONMENT ?? 'null') as ModelInit['environment'],
      dataDir: resolve(modelDir, config.data_dir ?? 'data'),
      configPath: env.GIRDER_DYNAMIC_CHAINLET_CONFIG,
    });
    return { model, concurrency: slots };
  }

  const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const ModelClass = module[className] ?? module.default;
  if (typeof ModelClass !== 'function') {
    throw new Error(`${file} exports neither a class named ${className} nor a default class.`);
  }
  const init: ModelInit = {
    config,
    dataDir: resolve(modelDir, config.data_dir ?? 'data'),
    secrets: await readSecrets(env.GIRDER_SECRETS_DIR),
    environment: JSON.parse(env.GIRDER_ENVIRONMENT ?? 'null') as ModelInit['environment'],
  };
  const model = new (ModelClass as new (init: ModelInit) => Model)(init);
  if (typeof model.predict !== 'function') throw new Error(`${className} in ${file} has no predict method.`);

  return { model, concurrency: slots };
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set; the node runner is started by Girder (see PROTOCOL.md).`);
  return value;
}

/** One file per secret: name = file name, value = content, verbatim. */
async function readSecrets(dir: string | undefined): Promise<Record<string, string>> {
  const secrets: Record<string, string> = {};
  if (!dir) return secrets;
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  for (const entry of entries) {
    if (entry.isFile()) secrets[entry.name] = await readFile(join(dir, entry.name), 'utf8');
  }
  return secrets;
}
