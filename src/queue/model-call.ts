import { GirderError } from '../errors.ts';
import type { AsyncError, AsyncErrorCode } from '../records/async.ts';
import type { DeploymentRecord } from '../records/control.ts';
import { BufferedReply } from '../runtime/buffered-reply.ts';
import { chainError } from '../runtime/chain-errors.ts';
import { invoke } from '../runtime/invoke.ts';
import { modelErrorMessage } from '../runtime/protocol.ts';
import type { Replica } from '../runtime/replica.ts';
import type { Supervisor } from '../runtime/supervisor.ts';

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
 * One attempt of an async request on the replica slot the dispatcher took: the replica's predict with
 * the request's input, through the same call path as a sync predict (`invoke`, which gives the slot
 * back when the call ends), with the async request id as `x-baseten-request-id`. The output is the
 * model's raw answer: parsed JSON when the model answered JSON, else its text. A chain's request
 * (`chain`) is a `run_remote` of its entrypoint chainlet: the request id is also the chain's
 * (`x-baseten-chain-request-id`), and an error in the chains wire form becomes its root cause's
 * message with the chain of calls.
 *
 * @example
 *   const outcome = await attemptOnReplica(supervisor, deployment, replica, head.id, record.input, 3_600_000, false);
 */
export function attemptOnReplica(
  supervisor: Supervisor,
  deployment: DeploymentRecord,
  replica: Replica,
  requestId: string,
  input: string,
  timeoutMs: number,
  chain: boolean,
): Promise<CallOutcome> {
  const headers = ['content-type', 'application/json'];
  if (chain) headers.push('x-baseten-chain-request-id', requestId);
  return new Promise((resolve) => {
    const reply = new BufferedReply();
    invoke(
      supervisor,
      {
        deployment,
        cls: 'async',
        method: 'POST',
        path: null,
        headers,
        body: Buffer.from(input),
        requestId,
        res: reply,
        responseHeaders: {},
        deadline: Date.now() + timeoutMs,
        bodyTimeoutMs: timeoutMs,
        // The async error codes come from the model's own status and message: the answer is wanted raw.
        wrapErrors: false,
        onEnd: (err) => resolve(err === undefined ? outcomeOf(reply, chain) : failureOf(err, timeoutMs)),
      },
      replica,
    );
  });
}

function outcomeOf(reply: BufferedReply, chain: boolean): CallOutcome {
  const text = reply.text();
  if (reply.status < 200 || reply.status >= 300) {
    const { code, retryable } = classify(reply.status);
    const message = (chain && chainErrorMessage(reply.status, text)) || modelErrorMessage(text);
    return { ok: false, retryable, error: { code, message: `HTTP ${reply.status}: ${message}` } };
  }
  if (!(reply.headers['content-type'] ?? '').includes('json')) return { ok: true, output: text };
  try {
    return { ok: true, output: JSON.parse(text) };
  } catch (err) {
    const message = `The model answered invalid JSON: ${(err as Error).message}`;
    return { ok: false, retryable: false, error: { code: 'MODEL_PREDICT_ERROR', message } };
  }
}

/**
 * A chain's wire-form error as one message: the root cause's, then (for a failure inside the chain)
 * the chain of calls; undefined when the answer is not in the wire form.
 *
 * @example
 *   chainErrorMessage(400, body) // '`names.0`: Invalid input: expected string, received number'
 */
function chainErrorMessage(status: number, text: string): string | undefined {
  const err = chainError(status, text);
  if (!err) return undefined;
  return err.code === 'client_error' ? err.message : `${err.message}\n${err.detail}`;
}

/** A call that ended without an answer: its deadline passed, or the replica was lost (both retried). */
function failureOf(err: unknown, timeoutMs: number): CallOutcome {
  if (err instanceof GirderError && err.code === 'timeout') {
    const message = `The model did not answer within ${timeoutMs / 1000} s.`;
    return { ok: false, retryable: true, error: { code: 'MODEL_PREDICT_TIMEOUT', message } };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { ok: false, retryable: true, error: { code: 'MODEL_UNAVAILABLE', message } };
}
