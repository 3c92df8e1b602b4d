/**
 * One hop of a chain in one process, both ends of it: `serve` is what a chainlet's server does with a
 * request body, `receive` what the calling stub does with the answer. Everything crosses as JSON text
 * (errors in their wire form), so a local hop fails exactly where an HTTP one would.
 */
import type { ChainletInstance, InputSchema } from './chainlet.ts';
import { fromWireError, statusOf, toWireError } from './errors.ts';
import { encodeJson } from './json.ts';
import { describeIssues } from './settings.ts';

/** What a chainlet's server answers: JSON text, a stream that has started, or an error body. */
export type Answer =
  | { kind: 'json'; text: string }
  | { kind: 'stream'; chunks: AsyncIterable<string | Uint8Array> }
  | { kind: 'error'; status: number; text: string };

/** Raised for a body the input schema rejects; answered as 400, as the deployed chain's `client_error`. */
export class InputValidationError extends Error {
  readonly status = 400;

  constructor(message: string) {
    super(message);
    this.name = 'InputValidationError';
  }
}

/**
 * Runs `instance.runRemote` for the request body `text`, as the chainlet named `name` would serve it:
 * parse, validate against `input` (400 naming the field), run, encode the output.
 *
 * @example
 *   const answer = await serve('SayHello', instance, SayHello.chainletSpec.input, '{"name":"Ada"}');
 */
export async function serve(
  name: string,
  instance: ChainletInstance,
  input: InputSchema,
  text: string,
): Promise<Answer> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return errorAnswer(name, err);
  }
  return serveValue(name, instance, input, value);
}

/**
 * `serve` for a body already parsed from JSON (the deployed runner parses it).
 *
 * @example
 *   const answer = await serveValue('SayHello', instance, SayHello.chainletSpec.input, { name: 'Ada' });
 */
export async function serveValue(
  name: string,
  instance: ChainletInstance,
  input: InputSchema,
  value: unknown,
): Promise<Answer> {
  try {
    const parsed = input.safeParse(value);
    if (!parsed.success) throw new InputValidationError(`invalid input: ${describeIssues(parsed.error)}`);
    const out = await instance.runRemote(parsed.data);
    if (isAsyncIterable(out)) return await startStream(name, out);
    return { kind: 'json', text: encodeJson(out, `the output of \`${name}\``) };
  } catch (err) {
    return errorAnswer(name, err);
  }
}

/**
 * The caller's side: the JSON value, the stream, or a thrown `ChainletError` naming `name`.
 *
 * @example
 *   const greeting = receive('SayHello', await serve(...)); // 'Hello, Ada!'
 */
export function receive(name: string, answer: Answer): unknown {
  if (answer.kind === 'json') return JSON.parse(answer.text);
  if (answer.kind === 'stream') return answer.chunks;
  throw fromWireError(name, answer.status, JSON.parse(answer.text));
}

export function errorAnswer(name: string, err: unknown): Answer {
  return { kind: 'error', status: statusOf(err), text: JSON.stringify(toWireError(name, err)) };
}

export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';
}

/**
 * Pulls the first chunk (so that a failure before it is an error answer, which the caller may retry),
 * then passes the chunks on. A stream is text or bytes by its first chunk; anything else fails it.
 * Deployed, chunk boundaries are not kept: a caller must not rely on them.
 */
async function startStream(name: string, source: AsyncIterable<unknown>): Promise<Answer> {
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  const kind = first.done ? null : chunkKind(name, first.value, null, 0);
  async function* chunks(): AsyncGenerator<string | Uint8Array> {
    let n = 0;
    try {
      for (let r = first; !r.done; r = await it.next()) {
        chunkKind(name, r.value, kind, n++);
        // a copy, as the bytes a remote caller reads are its own
        yield typeof r.value === 'string' ? r.value : new Uint8Array(r.value as Uint8Array);
      }
    } catch (err) {
      const answer = errorAnswer(name, err) as { status: number; text: string };
      throw fromWireError(name, answer.status, JSON.parse(answer.text));
    } finally {
      await it.return?.();
    }
  }
  return { kind: 'stream', chunks: chunks() };
}

function chunkKind(name: string, chunk: unknown, expected: 'text' | 'bytes' | null, n: number): 'text' | 'bytes' {
  const kind = typeof chunk === 'string' ? 'text' : chunk instanceof Uint8Array ? 'bytes' : null;
  if (kind === null) {
    throw new TypeError(`chunk ${n} of the stream of \`${name}\` is ${describe(chunk)}: stream strings or bytes`);
  }
  if (expected !== null && kind !== expected) {
    throw new TypeError(`the stream of \`${name}\` mixes strings and bytes (chunk ${n})`);
  }
  return kind;
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
