import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, Writable } from 'node:stream';
import { GirderError } from '../errors.ts';
import type { Replica } from '../runtime/replica.ts';

/** Why a call was aborted: the gateway's deadline, or the client going away. */
export const TIMEOUT = Symbol('timeout');
export const CLIENT_GONE = Symbol('client gone');
export class AbortReason extends Error {
  readonly why: typeof TIMEOUT | typeof CLIENT_GONE;
  constructor(why: typeof TIMEOUT | typeof CLIENT_GONE) {
    super(why === TIMEOUT ? 'timeout' : 'client closed the connection');
    this.why = why;
  }
}

export interface ProxyCall {
  req: IncomingMessage;
  res: ServerResponse;
  replica: Replica;
  method: string;
  /** Path (and query) on the replica. */
  path: string;
  requestId: string;
  /** Added to the client's response (X-Baseten-*). */
  responseHeaders: Record<string, string>;
  signal: AbortSignal;
  /** Longest silence allowed between two chunks of the replica's response. */
  bodyTimeoutMs: number;
  maxBodyBytes: number;
  /** predict: a non-2xx answer becomes an `application_error` ErrorResponse. sync: passed through as is. */
  wrapErrors: boolean;
  /** Where to find the replica's traceback, for error details. */
  logsHint: string;
}

/** Hop-by-hop headers never cross a proxy (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization']);

/**
 * The headers a replica gets (decision 12): content-type, accept, content-length, traceparent and
 * x-baseten-*, plus our request id. Everything else, Authorization above all, stays here.
 */
function upstreamHeaders(req: IncomingMessage, requestId: string): Record<string, string> {
  const out: Record<string, string> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name === 'content-type' || name === 'accept' || name === 'content-length' || name === 'traceparent' || name.startsWith('x-baseten-')) {
      out[name] = raw[i + 1];
    }
  }
  out['x-baseten-request-id'] = requestId;
  return out;
}

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** Counts a body without a declared length, failing with 413 past the limit. */
function limited(req: IncomingMessage, max: number): Transform {
  let seen = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > max) cb(payloadTooLarge(seen, max));
      else cb(null, chunk);
    },
  });
  req.on('error', (err) => t.destroy(err));
  return req.pipe(t);
}

export function payloadTooLarge(size: number, max: number): GirderError {
  return new GirderError('payload_too_large', `payload size of ${size} bytes exceeds maximum size of ${max} bytes`,
    'Send a smaller body, or raise the limit with `girder serve --max-body-bytes`.');
}

/** Collects an error body (at most 64 KiB) so that it can become an ErrorResponse. */
class Collector extends Writable {
  readonly chunks: Buffer[] = [];
  size = 0;
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    if (this.size < 65_536) this.chunks.push(chunk);
    this.size += chunk.length;
    cb();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8').slice(0, 65_536);
  }
}

/** The model's error message from a replica's error body: `{"error": ...}` (Truss) or the raw text. */
export function modelErrorMessage(body: string): string {
  try {
    const parsed = JSON.parse(body);
    const e = parsed?.error ?? parsed?.detail ?? parsed?.message;
    if (typeof e === 'string') return e;
    if (e !== undefined) return JSON.stringify(e);
  } catch { /* not JSON */ }
  return body.trim() || 'The model returned an error without a message.';
}

/**
 * Sends one request to a replica and streams its answer to the client, both bodies streaming
 * through without buffering. Throws a GirderError when nothing was sent to the client yet (the
 * caller answers with it); once the answer started, a failure just ends the connection.
 */
export async function proxy(call: ProxyCall): Promise<void> {
  const { req, res, replica } = call;
  let body: IncomingMessage | Transform | null = null;
  if (hasBody(req)) body = req.headers['content-length'] === undefined ? limited(req, call.maxBodyBytes) : req;
  let collector: Collector | undefined;
  let status = 0;
  try {
    await replica.pool!.stream(
      {
        path: call.path, method: call.method as 'POST', headers: upstreamHeaders(req, call.requestId), body,
        signal: call.signal, headersTimeout: 0, bodyTimeout: call.bodyTimeoutMs,
      },
      ({ statusCode, headers }) => {
        status = statusCode;
        if (call.wrapErrors && statusCode >= 300) return (collector = new Collector());
        const out: Record<string, string | string[]> = {};
        for (const name in headers) if (!HOP_BY_HOP.has(name)) out[name] = headers[name] as string | string[];
        res.writeHead(statusCode, Object.assign(out, call.responseHeaders));
        // Stream chunks reach the client as the model yields them.
        res.flushHeaders();
        return res;
      },
    );
  } catch (err) {
    throw mapUpstreamError(err, call);
  }
  if (collector) {
    throw new GirderError('application_error', modelErrorMessage(collector.text()),
      `The model answered HTTP ${status}. ${call.logsHint}`, status < 400 ? 500 : status);
  }
}

function mapUpstreamError(err: unknown, call: ProxyCall): unknown {
  if (err instanceof GirderError) return err;
  const reason = call.signal.reason;
  if (call.signal.aborted && reason instanceof AbortReason) {
    if (reason.why === TIMEOUT) return new GirderError('timeout', 'The model did not answer before the predict timeout.', 'Raise runtime.predict_timeout_seconds in config.yaml or `girder serve --predict-timeout`.');
    return reason;
  }
  const code = (err as { code?: string }).code;
  if (code === 'UND_ERR_BODY_TIMEOUT') {
    return new GirderError('timeout', 'The model stopped sending its response.', 'Raise runtime.streaming_read_timeout in config.yaml.');
  }
  const r = call.replica;
  r.suspect();
  const died = r.state === 'exited' || r.state === 'stopping';
  return new GirderError('model_unavailable',
    died ? `The replica serving this request stopped (${r.exitInfo || 'stopped'}).` : `Lost the connection to the replica: ${(err as Error).message}.`,
    call.logsHint, 502);
}
