/**
 * Model dependencies in `runLocal`: a test stands in for each Girder model with a handler (called
 * in-process, through JSON both ways) or with the URL of a server that answers like a model's predict.
 */
import type { ModelRef } from './chainlet.ts';
import { fromWireError, fromWireText, statusOf, toWireError } from './errors.ts';
import { encodeJson } from './json.ts';
import { describeIssues } from './settings.ts';

/** Stands in for a model in `runLocal`: a function of its input, or a predict URL (POSTed JSON). */
export type LocalModel = ((input: unknown) => unknown) | string | { url: string; headers?: Record<string, string> };

/**
 * Calls `model` as a chainlet's stub would call the model's predict. Errors come back as a
 * `ChainletError` naming the model (status kept); a connection error is thrown as it is (retryable).
 *
 * @example
 *   await callLocalModel(ref, 'http://127.0.0.1:8123/predict', { text: 'hi' }, signal);
 */
export async function callLocalModel(ref: ModelRef, model: LocalModel, input: unknown, signal: AbortSignal) {
  if (ref.input) {
    const parsed = ref.input.safeParse(input);
    if (!parsed.success) throw new TypeError(`invalid input for model \`${ref.key}\`: ${describeIssues(parsed.error)}`);
  }
  const body = encodeJson(input, `the input of model \`${ref.key}\``);
  if (typeof model === 'function') {
    let text: string;
    try {
      text = encodeJson(await model(JSON.parse(body)), `the output of model \`${ref.key}\``);
    } catch (err) {
      throw fromWireError(ref.key, statusOf(err), toWireError(ref.key, err));
    }
    return JSON.parse(text);
  }
  const { url, headers } = typeof model === 'string' ? { url: model, headers: {} } : model;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    signal,
  });
  const type = res.headers.get('content-type') ?? '';
  if (!res.ok) {
    const text = await res.text();
    throw fromWireText(ref.key, res.status, text);
  }
  if (type.includes('json')) return await res.json();
  return streamOf(res.body, type.startsWith('text/'));
}

async function* streamOf(body: ReadableStream<Uint8Array> | null, text: boolean): AsyncGenerator<string | Uint8Array> {
  if (!body) return;
  const decoder = new TextDecoder();
  for await (const chunk of body) yield text ? decoder.decode(chunk, { stream: true }) : chunk;
}
