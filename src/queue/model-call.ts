import { modelErrorMessage } from '../runtime/protocol.ts';
import type { Replica } from '../runtime/replica.ts';
import type { AsyncError, AsyncErrorCode } from '../records/async.ts';

export type CallOutcome = { ok: true; output: unknown } | { ok: false; error: AsyncError; retryable: boolean };

/** The async error code of a model's HTTP status, and whether it is retried (docs/compatibility.md). */
export function classify(status: number): { code: AsyncErrorCode; retryable: boolean } {
  if (status === 404) return { code: 'MODEL_DOES_NOT_EXIST', retryable: false };
  if (status === 502 || status === 503) return { code: 'MODEL_UNAVAILABLE', retryable: true };
  if (status === 504) return { code: 'MODEL_PREDICT_TIMEOUT', retryable: true };
  if (status === 500) return { code: 'MODEL_PREDICT_ERROR', retryable: true };
  if (status >= 400 && status < 500) return { code: 'MODEL_INVALID_INPUT', retryable: false };
  return { code: 'MODEL_PREDICT_ERROR', retryable: false };
}

/**
 * Calls a replica's predict with an async request's input, as a sync call would (same path, the async
 * request id as `x-baseten-request-id`). The output is the model's raw answer: parsed JSON when the
 * model answered JSON, else its text.
 */
export async function callModel(
  replica: Replica,
  requestId: string,
  input: string,
  timeoutMs: number,
): Promise<CallOutcome> {
  try {
    const res = await replica.pool!.request({
      path: replica.opts.spec.predictPath,
      method: 'POST',
      body: input,
      headers: { 'content-type': 'application/json', 'x-baseten-request-id': requestId },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.body.text();
    if (res.statusCode >= 200 && res.statusCode < 300) {
      const json = String(res.headers['content-type'] ?? '').includes('json');
      return { ok: true, output: json ? JSON.parse(text) : text };
    }
    const { code, retryable } = classify(res.statusCode);
    return { ok: false, retryable, error: { code, message: `HTTP ${res.statusCode}: ${modelErrorMessage(text)}` } };
  } catch (err) {
    const e = err as { name?: string; code?: string; message: string };
    if (e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') {
      return {
        ok: false,
        retryable: true,
        error: { code: 'MODEL_PREDICT_TIMEOUT', message: `The model did not answer within ${timeoutMs / 1000} s.` },
      };
    }
    if (e instanceof SyntaxError) {
      return {
        ok: false,
        retryable: false,
        error: { code: 'MODEL_PREDICT_ERROR', message: `The model answered invalid JSON: ${e.message}` },
      };
    }
    replica.suspect();
    return {
      ok: false,
      retryable: true,
      error: { code: 'MODEL_UNAVAILABLE', message: `Lost the connection to the replica: ${e.message}` },
    };
  }
}
