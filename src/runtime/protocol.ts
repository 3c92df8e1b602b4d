/**
 * The replica protocol as Girder speaks it (the whole contract: `runners/PROTOCOL.md`): the paths
 * of Truss's internal server, and how a replica's error body reads.
 */

/** Liveness, readiness and predict of the node and python runners (Truss's server). */
export const RUNNER_PATHS = {
  livenessPath: '/',
  readinessPath: '/v1/models/model',
  predictPath: '/v1/models/model:predict',
} as const;

/**
 * The model's error message from a replica's error body: `{"error": ...}` (Truss), `detail` or
 * `message` (common in custom servers), or the raw text.
 *
 * @example
 *   modelErrorMessage('{"error":"bad input"}') // 'bad input'
 */
export function modelErrorMessage(body: string): string {
  try {
    const parsed = JSON.parse(body);
    const e = parsed?.error ?? parsed?.detail ?? parsed?.message;
    if (typeof e === 'string') return e;
    if (e !== undefined) return JSON.stringify(e);
  } catch {
    /* not JSON */
  }
  return body.trim() || 'The model returned an error without a message.';
}
