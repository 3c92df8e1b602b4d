import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { GirderError } from '../errors.ts';
import { AbortReason, CLIENT_GONE, TIMEOUT } from './abort.ts';
import { errorAnswer, RUNNER_ERROR_HEADER, type RunnerErrorCode, runnerErrorCode } from './protocol.ts';
import type { Replica } from './replica.ts';
import type { Reply } from './reply.ts';

/** One call to one replica, its answer written to `res`. */
export interface ReplicaCall {
  replica: Replica;
  method: string;
  /** Path (and query) on the replica. */
  path: string;
  /**
   * The caller's headers as a flat [name, value, …] list (node's rawHeaders); only those a replica may
   * see are sent (see upstreamHeaders).
   */
  headers: string[];
  /** A body read whole, one to stream (its length declared in `headers` or not), or none. */
  body: Buffer | Readable | null;
  requestId: string;
  res: Reply;
  /** Added to the answer's head (X-Baseten-*). */
  responseHeaders: Record<string, string>;
  /** Epoch ms after which the call is aborted with 504. */
  deadline: number;
  /** Longest silence allowed between two chunks of the replica's answer. */
  bodyTimeoutMs: number;
  /**
   * predict: a non-2xx answer becomes an `application_error` GirderError. sync: passed through as is.
   * Either way, an error the runner marked as its own becomes that error (PROTOCOL.md).
   */
  wrapErrors: boolean;
  /** Where to find the replica's traceback, for error details. */
  logsHint: () => string;
  /**
   * Called once when the call is over: with nothing when the answer was sent, with a GirderError when
   * nothing was sent yet (the caller answers with it), or with an AbortReason when the client left.
   * A failure once the answer started just ends the connection, and counts as sent.
   */
  onEnd: (err?: unknown) => void;
}

/** Hop-by-hop headers never cross a proxy (RFC 9110 §7.6.1). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
]);

/**
 * The headers a replica gets (docs/compatibility.md): content-type, accept, content-length, traceparent and
 * x-baseten-*, plus our request id; as undici's flat [name, value, …] form. Everything else, the
 * Authorization header above all, stays here.
 */
function upstreamHeaders(raw: string[], requestId: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (
      name === 'content-type' ||
      name === 'accept' ||
      name === 'content-length' ||
      name === 'traceparent' ||
      (name.startsWith('x-baseten-') && name !== 'x-baseten-request-id')
    ) {
      out.push(name, raw[i + 1]);
    }
  }
  out.push('x-baseten-request-id', requestId);
  return out;
}

/**
 * One proxied call as an undici dispatch handler: the replica's answer is written straight into the
 * client's response, with backpressure (pause while the client is slow), and no stream or promise
 * layers in between. The client leaving or the deadline passing aborts the upstream call.
 */
class ProxyHandler implements Dispatcher.DispatchHandler {
  readonly #call: ReplicaCall;
  #controller: Dispatcher.DispatchController | undefined;
  /**
   * The call's deadline, armed only for streams. Until the answer's head, undici's headersTimeout
   * keeps the deadline of a request sent in one piece (cheaper than a timer of ours per request);
   * a streamed upload refreshes that timeout as it goes, so it gets this timer from the start.
   */
  #timer: NodeJS.Timeout | undefined;
  #status = 0;
  /** The error body of a wrapped predict or a runner's error, collected (at most 64 KiB) to become an ErrorResponse. */
  #errorBody: Buffer[] | undefined;
  /** Set when the runner, not the model, answered with an error (its `x-girder-runner-error`). */
  #runnerCode: RunnerErrorCode | undefined;
  #bodyStarted = false;
  /** The last chunk, held back until the next one or the end of the read: head, body and end then leave in one write. */
  #held: Buffer | undefined;
  #flushQueued = false;
  #done = false;

  constructor(call: ReplicaCall, streamedUpload: boolean) {
    this.#call = call;
    if (streamedUpload) this.#armDeadline();
    // Never removed: a response that finished closes too, and then this does nothing.
    call.res.on('close', this.#onClientClose);
  }

  #onClientClose = (): void => {
    if (!this.#done && !this.#call.res.writableFinished) this.#abort(new AbortReason(CLIENT_GONE));
  };

  #abort(reason: AbortReason): void {
    if (this.#done) return;
    if (this.#controller) this.#controller.abort(reason);
    else this.onResponseError(undefined, reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // Aborted while it waited for a connection: do not send it at all.
    if (this.#done) controller.abort(new AbortReason(CLIENT_GONE));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.#controller = controller;
    this.#status = statusCode;
    this.#runnerCode = statusCode >= 400 ? runnerErrorCode(headers[RUNNER_ERROR_HEADER]) : undefined;
    if (this.#runnerCode || (this.#call.wrapErrors && statusCode >= 300)) {
      this.#errorBody = [];
      this.#afterThisRead();
      return;
    }
    // Node takes a flat [name, value, …] list as is; an object would be walked once more.
    const out: (string | string[])[] = [];
    const { res, responseHeaders } = this.#call;
    for (const name in headers) {
      if (!HOP_BY_HOP.has(name) && !(name in responseHeaders) && name !== RUNNER_ERROR_HEADER)
        out.push(name, headers[name]!);
    }
    for (const name in responseHeaders) out.push(name, responseHeaders[name]);
    res.writeHead(statusCode, out);
    this.#afterThisRead();
  }

  /**
   * undici parses a whole socket read synchronously, so a microtask runs once everything that read
   * carried has been handed to us: a small answer has ended by then and leaves in one write.
   */
  #afterThisRead(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(this.#endOfRead);
  }

  /**
   * After the read the head arrived in, the answer is a stream: the deadline now needs a timer of its
   * own, the held chunk is released, and a stream that has sent nothing yet still gets its head out.
   */
  #endOfRead = (): void => {
    this.#flushQueued = false;
    if (this.#done) return;
    this.#armDeadline();
    if (this.#errorBody) return;
    const held = this.#held;
    this.#held = undefined;
    if (held) this.#write(this.#controller!, held);
    else if (!this.#bodyStarted) this.#call.res.flushHeaders();
  };

  #armDeadline(): void {
    this.#timer ??= setTimeout(
      () => this.#abort(new AbortReason(TIMEOUT)),
      Math.max(0, this.#call.deadline - Date.now()),
    );
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#errorBody) {
      if (this.#errorBody.length < 64) this.#errorBody.push(chunk);
      return;
    }
    // A chunk waits for the next one, the end of the answer, or the end of the tick, whichever comes first.
    const held = this.#held;
    this.#held = chunk;
    this.#bodyStarted = true;
    if (held) this.#write(controller, held);
    else this.#afterThisRead();
  }

  #write(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#call.res.write(chunk)) {
      controller.pause();
      this.#call.res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.#finish();
    if (this.#errorBody) {
      const text = Buffer.concat(this.#errorBody).toString('utf8').slice(0, 65_536);
      this.#call.onEnd(errorAnswer(this.#runnerCode, this.#status, text, this.#call.logsHint));
      return;
    }
    const held = this.#held;
    this.#held = undefined;
    this.#call.res.end(held);
    this.#call.onEnd();
  }

  onResponseError(_c: Dispatcher.DispatchController | undefined, err: Error): void {
    if (this.#done) return;
    this.#finish();
    this.#call.onEnd(mapUpstreamError(err, this.#call));
  }

  #finish(): void {
    this.#done = true;
    clearTimeout(this.#timer);
  }
}

/**
 * Sends one request to a replica and streams its answer into `call.res`, both bodies streaming
 * through without buffering; `call.onEnd` says how it ended. Callbacks rather than a promise: this
 * is the path every call to a replica takes (sync, async, and whatever comes next).
 *
 * @example
 *   callReplica({ replica, method: 'POST', path: '/v1/models/model:predict', headers: req.rawHeaders,
 *     body, requestId, res, responseHeaders: {}, deadline: Date.now() + 60_000, bodyTimeoutMs: 60_000,
 *     wrapErrors: true, logsHint: () => '', onEnd: (err) => err && console.error(err) });
 */
export function callReplica(call: ReplicaCall): void {
  const { body } = call;
  const handler = new ProxyHandler(call, body !== null && !Buffer.isBuffer(body));
  try {
    call.replica.pool!.dispatch(
      {
        path: call.path,
        method: call.method as Dispatcher.HttpMethod,
        headers: upstreamHeaders(call.headers, call.requestId),
        body,
        // The deadline until the answer's head: undici's own coarse timers cost less than one of ours
        // per request, and a whole small answer never needs another.
        headersTimeout: Math.max(1, call.deadline - Date.now()),
        bodyTimeout: call.bodyTimeoutMs,
      },
      handler,
    );
  } catch (err) {
    // undici reports its failures to the handler; this is for a replica torn down under us.
    handler.onResponseError(undefined, err as Error);
  }
}

function mapUpstreamError(err: unknown, call: ReplicaCall): unknown {
  if (err instanceof GirderError) return err;
  if (err instanceof AbortReason) {
    if (err.why === CLIENT_GONE) return err;
    if (call.res.headersSent) call.res.destroy();
    return new GirderError(
      'timeout',
      'The model did not answer before the predict timeout.',
      'Raise runtime.predict_timeout_seconds in config.yaml or `girder serve --predict-timeout`.',
    );
  }
  const code = (err as { code?: string }).code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return mapUpstreamError(new AbortReason(TIMEOUT), call);
  if (code === 'UND_ERR_BODY_TIMEOUT') {
    return new GirderError(
      'timeout',
      'The model stopped sending its response.',
      'Raise runtime.streaming_read_timeout in config.yaml.',
      { reason: 'stream_stalled' },
    );
  }
  const r = call.replica;
  r.suspect();
  const died = r.state === 'exited' || r.state === 'stopping';
  return new GirderError(
    'model_unavailable',
    died
      ? `The replica serving this request stopped (${r.exitInfo || 'stopped'}).`
      : `Lost the connection to the replica: ${(err as Error).message}.`,
    call.logsHint(),
    { status: 502, reason: 'replica_lost' },
  );
}
