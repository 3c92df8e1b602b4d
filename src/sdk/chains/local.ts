/**
 * `runLocal`: a whole chain in one process, for unit tests of user chains. One instance of each
 * chainlet (as one replica each), every hop through `hop.ts` (JSON text both ways, errors in their
 * wire form) and each dependency's `CallPolicy` (retries, timeout, concurrency limit), so a test
 * fails where the deployed chain would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AnyChainletClass,
  type CallInput,
  type CallOptions,
  type ChainletContext,
  type ChainletInstance,
  chainletName,
  type Dependency,
  isModelRef,
  type Output,
} from './chainlet.ts';
import { chainGraph } from './graph.ts';
import { type Answer, errorAnswer, receive, serve } from './hop.ts';
import { encodeJson } from './json.ts';
import { callLocalModel, type LocalModel } from './local-models.ts';
import { CallPolicy } from './policy.ts';

export interface RunLocalOptions {
  /** Secret values by name; each chainlet sees only those its settings declare. */
  secrets?: Record<string, string>;
  /** The environment name chainlets see in `context.environment`; none by default. */
  environment?: string;
  /** Every chainlet's `context.dataDir`; a fresh temporary directory, removed afterwards, by default. */
  dataDir?: string;
  /** A stand-in for every model the chain depends on, by the name or id it was declared with. */
  models?: Record<string, LocalModel>;
}

/**
 * Runs the chain whose entrypoint is `entrypoint` on `input`, in this process, and resolves to what a
 * caller of its `run_remote` would get: the JSON output parsed, or the stream. Rejects with a
 * `ChainletError` whose `chain` starts at the entrypoint (status 400 for an input the schema rejects,
 * naming the field), or with a TypeError for an input that is not JSON.
 *
 * What is retried locally, as deployed: a dependency that throws an error with status 502, 503 or 504
 * itself (an `HttpError(503, …)`), and a model URL that refuses the connection or answers 502/503/504.
 * An error thrown in-process is an application error (500) and is not retried.
 *
 * @example
 *   const text = await runLocal(HelloAll, { names: ['Ada', 'Sid'] });
 *   assert.equal(text, 'Hello, Ada!\nHello, Sid!');
 */
export async function runLocal<C extends AnyChainletClass>(
  entrypoint: C,
  input: CallInput<C>,
  options: RunLocalOptions = {},
): Promise<Output<C>> {
  const graph = chainGraph(entrypoint);
  const missing = [...graph.models.keys()].filter((key) => options.models?.[key] === undefined);
  if (missing.length > 0) {
    throw new TypeError(`runLocal: the chain calls model(s) ${missing.join(', ')}: pass them in options.models`);
  }
  const body = encodeJson(input, `the input of \`${chainletName(entrypoint)}\``);
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'girder-chain-')));
  const cleanup = options.dataDir === undefined ? () => rm(dataDir, { recursive: true, force: true }) : async () => {};
  let answer: Answer;
  try {
    const chain = new LocalChain(options, dataDir);
    answer = await chain.call(entrypoint, body);
  } catch (err) {
    await cleanup();
    throw err;
  }
  if (answer.kind !== 'stream') await cleanup();
  else answer = { kind: 'stream', chunks: finallyDo(answer.chunks, cleanup) };
  return receive(chainletName(entrypoint), answer) as Output<C>;
}

class LocalChain {
  readonly #options: RunLocalOptions;
  readonly #dataDir: string;
  /** Instances by class, each loaded once, when first called. */
  readonly #instances = new Map<AnyChainletClass, Promise<ChainletInstance>>();

  constructor(options: RunLocalOptions, dataDir: string) {
    this.#options = options;
    this.#dataDir = dataDir;
  }

  /** Serves one request body to chainlet `c`, as its server would; a failing `load()` is its error. */
  async call(c: AnyChainletClass, body: string): Promise<Answer> {
    const name = chainletName(c);
    let instance: ChainletInstance;
    try {
      instance = await this.#instance(c);
    } catch (err) {
      return errorAnswer(name, err);
    }
    return serve(name, instance, c.chainletSpec.input, body);
  }

  #instance(c: AnyChainletClass): Promise<ChainletInstance> {
    let p = this.#instances.get(c);
    if (!p) {
      p = this.#create(c);
      this.#instances.set(c, p);
    }
    return p;
  }

  async #create(c: AnyChainletClass): Promise<ChainletInstance> {
    const spec = c.chainletSpec;
    const secrets: Record<string, string> = {};
    for (const key of spec.settings.secrets) {
      const value = this.#options.secrets?.[key];
      if (value !== undefined) secrets[key] = value;
    }
    const context: ChainletContext = Object.freeze({
      chainletName: chainletName(c),
      secrets: Object.freeze(secrets),
      environment: this.#options.environment === undefined ? null : Object.freeze({ name: this.#options.environment }),
      dataDir: this.#dataDir,
      env: Object.freeze({ ...spec.settings.envVariables }),
    });
    const deps: Record<string, { runRemote(input: unknown, options?: CallOptions): Promise<unknown> }> = {};
    for (const [key, dep] of Object.entries(spec.deps) as [string, Dependency][]) deps[key] = this.#stub(dep);
    const instance = new c({ context, deps: Object.freeze(deps) });
    await instance.load?.();
    return instance;
  }

  /** A stub with its own policy: limits and retries are per caller and dependency, as deployed. */
  #stub(dep: Dependency) {
    const target = dep.target;
    if (isModelRef(target)) {
      const policy = new CallPolicy(`model ${target.key}`, dep.options);
      const model = this.#options.models![target.key];
      return {
        runRemote: (input: unknown, o: CallOptions = {}) =>
          policy.call((signal) => callLocalModel(target, model, input, signal), o.signal),
      };
    }
    const name = chainletName(target);
    const policy = new CallPolicy(name, dep.options);
    return {
      runRemote: (input: unknown, o: CallOptions = {}) => {
        // encoded before the policy: a value that is not JSON is the caller's bug, never retried
        const body = encodeJson(input, `the input of \`${name}\``);
        return policy.call(async () => receive(name, await this.call(target, body)), o.signal);
      },
    };
  }
}

async function* finallyDo<T>(source: AsyncIterable<T>, done: () => Promise<void>): AsyncGenerator<T> {
  try {
    yield* source;
  } finally {
    await done();
  }
}
