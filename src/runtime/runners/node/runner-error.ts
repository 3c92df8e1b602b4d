import { RUNNER_ERROR_HEADER, type RunnerErrorCode } from '../../protocol.ts';
import type { Reply } from './context.ts';

/**
 * Answers with an error of the runner's own (a body it cannot decode, a route it does not serve),
 * marked as PROTOCOL.md says so that Girder does not report it as the model's `application_error`.
 *
 * @example
 *   sendRunnerError(res, 404, 'model_does_not_exist', 'No route GET /nope.', 'Call /predict.');
 */
export function sendRunnerError(
  res: Reply,
  status: number,
  code: RunnerErrorCode,
  error: string,
  detail: string,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed) return;
  const body = JSON.stringify({ error, error_code: code, detail });
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    [RUNNER_ERROR_HEADER]: code,
  });
  res.end(body);
}

/** The runner's paths and the one method each takes (PROTOCOL.md, HTTP endpoints). */
const ROUTES = new Map([
  ['/', 'GET'],
  ['/v1/models/model', 'GET'],
  ['/v1/models/model:predict', 'POST'],
]);

/**
 * The answer to a request no route of the runner takes: 405 for a known path with another method,
 * 404 for any other path (what `/sync/{route}` reaches on a model with no such route).
 *
 * @example
 *   sendNoRoute(res, 'GET', '/v1/models/model:predict'); // 405 client_error, Allow: POST
 */
export function sendNoRoute(res: Reply, method: string, path: string): void {
  const allowed = ROUTES.get(path);
  if (allowed) {
    sendRunnerError(res, 405, 'client_error', `${path} takes ${allowed}, not ${method}.`, `Send ${allowed} ${path}.`, {
      allow: allowed,
    });
    return;
  }
  sendRunnerError(
    res,
    404,
    'model_does_not_exist',
    `This model serves no route ${method} ${path}.`,
    'A TypeScript or JavaScript model serves only predict: call /predict (or /sync/v1/models/model:predict).',
  );
}
