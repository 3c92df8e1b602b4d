import type { ServerResponse } from 'node:http';
import { GirderError, type ErrorCode, type ErrorOptions, toGirderError } from '../../errors.ts';
import type { Reply } from '../../runtime/reply.ts';
import { declaresBody } from '../body.ts';
import { closeAfterAnswer } from '../refusals.ts';

/** OpenAI's error body: what every OpenAI SDK reads into `err.message`, `err.type`, `err.param`, `err.code`. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/**
 * A failure of a `/v1` request that names a request field (OpenAI's `param`) or carries headers of
 * its own (a 429's `Retry-After` and `x-ratelimit-*`). Any other GirderError fits `/v1` too.
 *
 * @example
 *   throw new V1Error('client_error', 'model is required.', { param: 'model' });
 */
export class V1Error extends GirderError {
  readonly param: string | null;
  readonly headers: Record<string, string>;
  /** OpenAI's `type` where it is not the status's (a 429 says `requests` or `tokens`). */
  readonly type: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: ErrorOptions & { detail?: string; param?: string; headers?: Record<string, string>; type?: string } = {},
  ) {
    super(code, message, opts.detail, opts);
    this.param = opts.param ?? null;
    this.headers = opts.headers ?? {};
    this.type = opts.type;
  }
}

/** OpenAI's `type` for a status; the SDKs pick their exception class by the status alone. */
function typeOf(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 503) return 'service_unavailable';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

/**
 * Any error in OpenAI's shape. `code` is OpenAI's where OpenAI has one (`invalid_api_key`,
 * `model_not_found`, `rate_limit_exceeded`), Girder's `error_code` otherwise; the detail (what to
 * do next) joins the message, since OpenAI's shape has no field for it.
 *
 * @example
 *   openAIErrorBody(new GirderError('model_does_not_exist', 'The model `x` does not exist.'))
 *   // { error: { message: 'The model `x` does not exist.', type: 'not_found_error', param: null, code: 'model_not_found' } }
 */
export function openAIErrorBody(err: unknown): OpenAIErrorBody {
  const e = toGirderError(err);
  let code: string = e.code;
  if (e.status === 401) code = 'invalid_api_key';
  else if (e.reason === 'forbidden') code = 'model_not_allowed';
  else if (e.code === 'model_does_not_exist') code = 'model_not_found';
  else if (e.code === 'rate_limited') code = 'rate_limit_exceeded';
  const message = e.detail ? `${e.message} ${e.detail}` : e.message;
  const v1 = e instanceof V1Error ? e : undefined;
  return { error: { message, type: v1?.type ?? typeOf(e.status), param: v1?.param ?? null, code } };
}

/**
 * Answers a `/v1` request that failed before its answer started, in OpenAI's shape, with the
 * error's status, its own headers and `x-girder-error-reason`.
 *
 * @example
 *   sendOpenAIError(res, err, { 'x-request-id': requestId });
 */
export function sendOpenAIError(res: Reply, err: unknown, headers: Record<string, string>): void {
  // As respond.ts's answers: a refusal before the body came in closes the connection (README, "Slow
  // and refused clients").
  const req = (res as Partial<ServerResponse>).req;
  if (req && !req.complete && declaresBody(req.headers)) closeAfterAnswer(res as ServerResponse);
  const e = toGirderError(err);
  const body = JSON.stringify(openAIErrorBody(e));
  res.writeHead(e.status, {
    ...headers,
    ...(e instanceof V1Error && e.headers),
    'x-girder-error-reason': e.reason,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** The SSE event that ends a stream which failed midway: OpenAI's SDKs raise it as an APIError. */
export function errorEvent(err: unknown): string {
  return `data: ${JSON.stringify(openAIErrorBody(err))}\n\n`;
}
