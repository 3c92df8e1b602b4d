/**
 * Types for TypeScript model authors. A model directory exports a class implementing `Model`;
 * the node runner constructs it with a `ModelInit`, awaits `load()`, then serves
 * `preprocess → predict → postprocess` for every request.
 *
 * Import the types with `import type` so the model runs without this file at runtime. Node strips
 * types but compiles nothing: model files cannot use enums, namespaces or parameter properties.
 *
 * @example
 *   // examples/hello-ts/model/model.ts
 *   import type { Model, ModelContext, ModelInit } from 'girder';
 *
 *   export default class Hello implements Model {
 *     constructor(init: ModelInit) {}
 *     predict(input: { name: string }, ctx: ModelContext) {
 *       return { greeting: `Hello, ${input.name}!` };
 *     }
 *   }
 */

/** What one request gives the model besides its input. */
export interface ModelContext {
  /** The caller's request id (`x-baseten-request-id`); log lines written meanwhile carry it. */
  readonly requestId: string;
  /** The request headers Girder forwarded to the replica, lower-cased. */
  readonly headers: Record<string, string | undefined>;
  /** Aborted when the client goes away: stop working and stop yielding. */
  readonly signal: AbortSignal;
  /** Sets a response header, e.g. the content type of a stream; only before the first streamed chunk. */
  setHeader(name: string, value: string): void;
}

/** What the model's constructor receives. */
export interface ModelInit {
  /** The deployment's config.yaml, parsed, with Girder's defaults filled in. */
  config: Record<string, unknown>;
  /** Absolute path of the model's `data_dir`. */
  dataDir: string;
  /** The secrets config.yaml declares, by name; absent secrets are missing keys. */
  secrets: Record<string, string>;
  /** The environment this deployment serves, or null (e.g. the development deployment). */
  environment: { name: string } | null;
}

/**
 * A model. Every method may be sync or async; implementations narrow the `unknown`s to their own types.
 * `predict` may return an `AsyncIterable` or `Iterable` (not an array, string or bytes) to stream;
 * a streaming model cannot define `postprocess`. A returned `Uint8Array`/`Buffer` is sent as raw bytes,
 * anything else as JSON. The input is parsed JSON, or a `Buffer` for non-JSON content types.
 */
export interface Model {
  load?(): void | Promise<void>;
  preprocess?(input: unknown, ctx: ModelContext): unknown;
  predict(input: unknown, ctx: ModelContext): unknown;
  postprocess?(output: unknown, ctx: ModelContext): unknown;
  isHealthy?(): boolean | Promise<boolean>;
}

/**
 * An error that answers the request with its own status (400–599) instead of 500.
 * Any thrown object with a numeric `status` or `statusCode` works the same way.
 *
 * @example
 *   if (!input.text) throw new HttpError(422, '`text` is required.');
 */
export class HttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
  }
}
