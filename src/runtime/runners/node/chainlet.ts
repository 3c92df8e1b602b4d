/**
 * The node runner serving one chainlet of a chain file (PROTOCOL.md, "Chainlets"): the chainlet named
 * by `model_class_name` is found from the file's entrypoint, its stubs built from the dynamic chainlet
 * config, and it is served as a `Model` whose predict is one hop (`hop.ts`): input validated against
 * its schema, output as JSON or a stream, errors in the chains wire form.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Model, ModelContext } from '../../../sdk/index.ts';
import type { AnyChainletClass, ChainletContext, Dependency, ModelRef } from '../../../sdk/chains/chainlet.ts';
import { chainletName, isModelRef } from '../../../sdk/chains/chainlet.ts';
import { chainGraph, findEntrypoint } from '../../../sdk/chains/graph.ts';
import { serveValue } from '../../../sdk/chains/hop.ts';
import { describeIssues } from '../../../sdk/chains/settings.ts';
import { hopScope, httpStub } from './chainlet-stubs.ts';

/** The chain key's secret name, as Truss Chains names it. */
export const CHAIN_KEY_SECRET = 'baseten_chain_api_key';

/** A failed hop's answer: its status and the wire-form body, sent as they are (predict.ts). */
export class HopFailure extends Error {
  readonly status: number;
  readonly wireBody: string;

  constructor(status: number, wireBody: string) {
    super(`chainlet answered ${status}`);
    this.status = status;
    this.wireBody = wireBody;
  }
}

export interface ChainletInit {
  file: string;
  name: string;
  secrets: Record<string, string>;
  environment: { name: string } | null;
  dataDir: string;
  /** Path of the dynamic chainlet config (GIRDER_DYNAMIC_CHAINLET_CONFIG). */
  configPath: string | undefined;
}

/**
 * Imports the chain file, finds chainlet `name` in its entrypoint's graph and makes the `Model` that
 * serves it. Throws, naming what is missing, when the file has no such chainlet or a URL is missing.
 *
 * @example
 *   const model = await chainletModel({ file, name: 'SayHello', secrets, environment, dataDir, configPath });
 */
export async function chainletModel(init: ChainletInit): Promise<Model> {
  const module = (await import(pathToFileURL(init.file).href)) as Record<string, unknown>;
  const graph = chainGraph(findEntrypoint(module));
  const C = graph.chainlets.get(init.name);
  if (!C)
    throw new Error(
      `${init.file} has no chainlet named ${init.name} (it has ${[...graph.chainlets.keys()].join(', ')}).`,
    );
  const urls = init.configPath
    ? (JSON.parse(await readFile(init.configPath, 'utf8')) as Record<string, { predict_url?: string }>)
    : {};
  const key = init.secrets[CHAIN_KEY_SECRET] ?? '';
  const spec = C.chainletSpec;
  const deps: Record<string, unknown> = {};
  for (const [k, dep] of Object.entries(spec.deps) as [string, Dependency][]) {
    const target = isModelRef(dep.target)
      ? modelTarget(dep.target, urls)
      : chainletTarget(dep.target as AnyChainletClass, urls);
    deps[k] = httpStub(target, dep.options, key);
  }
  const secrets: Record<string, string> = {};
  for (const s of spec.settings.secrets) if (init.secrets[s] !== undefined) secrets[s] = init.secrets[s];
  const context: ChainletContext = Object.freeze({
    chainletName: init.name,
    secrets: Object.freeze(secrets),
    environment: init.environment,
    dataDir: init.dataDir,
    env: Object.freeze({ ...spec.settings.envVariables }),
  });
  const instance = new C({ context, deps: Object.freeze(deps) as never });
  const name = init.name;
  const shown = relativeTo(dirname(init.file));
  return {
    load: () => instance.load?.(),
    isHealthy: instance.isHealthy ? () => instance.isHealthy!() : undefined,
    predict: (input: unknown, ctx: ModelContext) =>
      hopScope.run(ctx.headers, async () => {
        const answer = await serveValue(name, instance, spec.input, input);
        if (answer.kind === 'error') throw new HopFailure(answer.status, shown(answer.text));
        if (answer.kind === 'json') {
          ctx.setHeader('content-type', 'application/json');
          return Buffer.from(answer.text);
        }
        return typedStream(answer.chunks, ctx);
      }),
  };
}

/**
 * Shows the chain's own files by their path in the pushed folder (`chain.ts`, `lib/util.ts`), not by the
 * snapshot path they run from, which means nothing to the caller reading an error's stack.
 *
 * @example
 *   relativeTo('/data/snapshots/ab12')('{"filename":"/data/snapshots/ab12/chain.ts"}') // '{"filename":"chain.ts"}'
 */
function relativeTo(dir: string): (wireText: string) => string {
  const prefix = JSON.stringify(`${dir}/`).slice(1, -1);
  return (text) => text.replaceAll(prefix, '');
}

/** Sets the stream's content type from its first chunk: text streams are text/plain, bytes octet-stream. */
async function* typedStream(chunks: AsyncIterable<string | Uint8Array>, ctx: ModelContext) {
  let first = true;
  for await (const chunk of chunks) {
    if (first)
      ctx.setHeader(
        'content-type',
        typeof chunk === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream',
      );
    first = false;
    yield chunk;
  }
}

function chainletTarget(c: AnyChainletClass, urls: Record<string, { predict_url?: string }>) {
  const name = chainletName(c);
  const url = urls[name]?.predict_url;
  if (!url) throw new Error(`The dynamic chainlet config has no predict_url for chainlet ${name}.`);
  return { name, url };
}

function modelTarget(ref: ModelRef, urls: Record<string, { predict_url?: string }>) {
  const url = urls[`model:${ref.key}`]?.predict_url;
  if (!url) throw new Error(`The dynamic chainlet config has no predict_url for model ${ref.key}.`);
  const schema = ref.input;
  const check = schema
    ? (input: unknown) => {
        const parsed = schema.safeParse(input);
        if (!parsed.success)
          throw new TypeError(`invalid input for model \`${ref.key}\`: ${describeIssues(parsed.error)}`);
      }
    : undefined;
  return { name: `model ${ref.key}`, url, check };
}
