/**
 * Declaring chainlets: `chainlet({...})` makes the base class that carries a chainlet's input schema,
 * dependencies and settings as plain data (`chainletSpec`), so `runLocal` and, later, `girder push` can
 * walk a chain without constructing it, and TypeScript infers every stub's types from that data.
 */
import type { z } from 'zod';
import { ChainletSettingsSchema, type ChainletSettings, type ChainletSettingsInput } from './settings.ts';
import { parseOrThrow, type RpcOptions, type RpcOptionsInput, RpcOptionsSchema } from './settings.ts';

/** A chainlet's input: a zod object whose keys are the argument names of `runRemote`. */
export type InputSchema = z.ZodObject<z.core.$ZodShape, z.core.$ZodObjectConfig>;

/** What every chainlet instance gets besides its stubs. */
export interface ChainletContext {
  /** This chainlet's name in the chain. */
  readonly chainletName: string;
  /** The secrets its settings declare, by name; an undeclared or unset secret is a missing key. */
  readonly secrets: Readonly<Record<string, string>>;
  /** The chain environment this deployment serves (`production`, …), or null (development, tests). */
  readonly environment: { readonly name: string } | null;
  /** A directory for the chainlet's data (in `runLocal`, the `dataDir` option or a fresh temporary one). */
  readonly dataDir: string;
  /** The chainlet's `envVariables`. */
  readonly env: Readonly<Record<string, string>>;
}

/** An existing Girder model as a dependency; made by `model()`. */
export interface ModelRef<In = unknown, Out = unknown> {
  readonly kind: 'model';
  /** The model's name or id, whichever was given; `runLocal`'s `models` option is keyed by it. */
  readonly key: string;
  readonly name: string | null;
  readonly id: string | null;
  /** `production` unless another environment or a deployment id was given. */
  readonly environment: string | null;
  readonly deploymentId: string | null;
  /** Checks the input before it is sent, if given. */
  readonly input: z.ZodType<In> | null;
  /** Type-only: what the model's predict returns. */
  readonly __output?: Out;
}

/** What `depends()` can point at: a chainlet class or a model. */
export type DependencyTarget = AnyChainletClass | ModelRef;

/** A declared dependency: its target and its call options. */
export interface Dependency<T extends DependencyTarget = DependencyTarget> {
  readonly target: T;
  readonly options: RpcOptions;
}

export type Dependencies = Readonly<Record<string, Dependency>>;

/** What `chainlet()` takes. */
export interface ChainletSpecInput<I extends InputSchema, D extends Dependencies> {
  input: I;
  deps?: D;
  /** Marks the chain's entrypoint, the chainlet `run_remote` calls; exactly one per chain. */
  entrypoint?: boolean;
  /** The chainlet's name in the chain (URLs, logs, errors); its class name by default. */
  name?: string;
  settings?: ChainletSettingsInput;
}

/** A chainlet's declaration, defaults filled in: what the runner and deploy read. */
export interface ChainletSpec<I extends InputSchema = InputSchema, D extends Dependencies = Dependencies> {
  readonly input: I;
  readonly deps: D;
  readonly entrypoint: boolean;
  readonly name: string | null;
  readonly settings: ChainletSettings;
}

/** The constructor argument of every chainlet; `runLocal` (or the deployed runner) makes it. */
export interface ChainletInit<D extends Dependencies = Dependencies> {
  context: ChainletContext;
  deps: Stubs<D>;
}

/** The instance side every chainlet has. */
export interface ChainletInstance<I extends InputSchema = InputSchema, D extends Dependencies = Dependencies> {
  readonly context: ChainletContext;
  readonly deps: Stubs<D>;
  runRemote(input: z.output<I>): unknown;
  /** Awaited once before the first call. */
  load?(): void | Promise<void>;
  /** Polled while deployed; false takes the replica out of traffic, then restarts it (`healthChecks`). */
  isHealthy?(): boolean | Promise<boolean>;
}

/** A concrete chainlet class. */
export interface ChainletClass<I extends InputSchema = InputSchema, D extends Dependencies = Dependencies> {
  new (init: ChainletInit<D>): ChainletInstance<I, D>;
  readonly chainletSpec: ChainletSpec<I, D>;
  readonly name: string;
}

// biome-ignore lint/suspicious/noExplicitAny: any chainlet, whatever its input and dependencies
export type AnyChainletClass = ChainletClass<any, any>;

/** What `runRemote` of chainlet class `C` receives: its input with defaults filled in. */
export type Input<C extends AnyChainletClass> = z.output<C['chainletSpec']['input']>;
/** What a caller passes to `C`: keys with defaults may be left out. */
export type CallInput<C extends AnyChainletClass> = z.input<C['chainletSpec']['input']>;
/** What a caller gets back from `C`: its JSON output, or its stream as text or bytes. */
export type Output<C extends AnyChainletClass> = Received<Awaited<ReturnType<InstanceType<C>['runRemote']>>>;

type Received<T> = T extends AsyncIterable<infer X> ? AsyncIterable<X extends string ? string : Uint8Array> : T;

/** Per call: a signal that cancels waiting for the answer (and the wait for a retry). */
export interface CallOptions {
  signal?: AbortSignal;
}

/** A dependency as its caller sees it: `runRemote` with the callee's input and output types. */
export interface Stub<In, Out> {
  runRemote(input: In, options?: CallOptions): Promise<Out>;
}

export type StubOf<T extends DependencyTarget> =
  T extends ModelRef<infer In, infer Out>
    ? Stub<In, Out>
    : T extends AnyChainletClass
      ? Stub<CallInput<T>, Output<T>>
      : never;

export type Stubs<D extends Dependencies> = { readonly [K in keyof D]: StubOf<D[K]['target']> };

/**
 * The base class of a chainlet. Extend it and define `runRemote(input)`: the input is `spec.input`
 * parsed (defaults filled in); return any JSON value, or an async iterable of strings or bytes to stream.
 * Dependencies arrive as typed stubs in `this.deps`, the context in `this.context`.
 *
 * @example
 *   class SayHello extends chainlet({ input: z.object({ name: z.string() }) }) {
 *     async runRemote({ name }: Input<typeof SayHello>) {
 *       return `Hello, ${name}!`;
 *     }
 *   }
 */
export function chainlet<I extends InputSchema, D extends Dependencies = Record<never, never>>(
  spec: ChainletSpecInput<I, D>,
) {
  const resolved: ChainletSpec<I, D> = Object.freeze({
    input: spec.input,
    deps: Object.freeze({ ...(spec.deps ?? ({} as D)) }),
    entrypoint: spec.entrypoint === true,
    name: spec.name ?? null,
    settings: parseOrThrow(
      ChainletSettingsSchema,
      spec.settings ?? {},
      `the settings of chainlet ${spec.name ?? '(unnamed)'}`,
    ),
  });
  for (const [key, dep] of Object.entries(resolved.deps)) {
    if (!isDependency(dep)) throw new TypeError(`deps.${key} must be made with depends(…)`);
  }
  abstract class Chainlet implements ChainletInstance<I, D> {
    static readonly chainletSpec: ChainletSpec<I, D> = resolved;
    readonly context: ChainletContext;
    readonly deps: Stubs<D>;

    constructor(init: ChainletInit<D>) {
      this.context = init.context;
      this.deps = init.deps;
    }

    abstract runRemote(input: z.output<I>): unknown;
  }
  return Chainlet;
}

/**
 * Declares a dependency on another chainlet or on a Girder model, with Truss Chains' call options:
 * `retries` (total attempts, default 1), `timeoutSec` (default 600), `concurrencyLimit` (default 300).
 *
 * @example
 *   deps: { sayHello: depends(SayHello, { retries: 3, timeoutSec: 30 }) }
 */
export function depends<T extends DependencyTarget>(target: T, options: RpcOptionsInput = {}): Dependency<T> {
  const what = isModelRef(target) ? `model \`${target.key}\`` : `\`${(target as AnyChainletClass)?.name}\``;
  if (!isModelRef(target) && !isChainletClass(target)) {
    throw new TypeError(`depends(${what}): not a chainlet class (extend chainlet({...})) nor a model(…)`);
  }
  return Object.freeze({ target, options: parseOrThrow(RpcOptionsSchema, options, `depends(${what}) options`) });
}

/** Which model, and optionally which of its deployments, a model dependency calls. */
export type ModelSelector = ({ name: string; id?: never } | { id: string; name?: never }) & {
  /** The environment to call; `production` by default. */
  environment?: string;
  /** A deployment id instead of an environment. */
  deploymentId?: string;
};

/**
 * An existing Girder model (Truss, TypeScript or a custom server) as a dependency, by name or id; its
 * stub's `runRemote(input)` calls the model's predict. Types are the caller's promise; pass `input` to
 * also check the input before sending it.
 *
 * @example
 *   const Classifier = model<{ text: string }, { label: string }>({ name: 'classifier' });
 *   class Triage extends chainlet({ input, deps: { classify: depends(Classifier, { retries: 3 }) } }) { … }
 */
export function model<In = unknown, Out = unknown>(
  selector: ModelSelector & { input?: z.ZodType<In> },
): ModelRef<In, Out> {
  const key = selector.name ?? selector.id;
  if (typeof key !== 'string' || key === '') throw new TypeError('model(…) needs a model `name` or `id`');
  if (selector.environment !== undefined && selector.deploymentId !== undefined) {
    throw new TypeError(`model(\`${key}\`): give an environment or a deploymentId, not both`);
  }
  return Object.freeze({
    kind: 'model',
    key,
    name: selector.name ?? null,
    id: selector.id ?? null,
    environment: selector.deploymentId === undefined ? (selector.environment ?? 'production') : null,
    deploymentId: selector.deploymentId ?? null,
    input: selector.input ?? null,
  });
}

export function isModelRef(value: unknown): value is ModelRef {
  return typeof value === 'object' && value !== null && (value as ModelRef).kind === 'model';
}

export function isChainletClass(value: unknown): value is AnyChainletClass {
  return typeof value === 'function' && typeof (value as AnyChainletClass).chainletSpec === 'object';
}

function isDependency(value: unknown): value is Dependency {
  const d = value as Dependency | null;
  return typeof d === 'object' && d !== null && (isModelRef(d.target) || isChainletClass(d.target)) && !!d.options;
}

/** A chainlet's name in its chain: `name` from its spec, else its class name. */
export function chainletName(c: AnyChainletClass): string {
  return c.chainletSpec.name ?? c.name;
}
