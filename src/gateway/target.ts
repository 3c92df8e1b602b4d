import type { TargetRef } from '../control/registry.ts';
import { badRequest, notFound } from '../errors.ts';

/** Inference actions a target takes (the last path segment; `sync` takes the rest of the path). */
export type Action =
  | 'predict'
  | 'run_remote'
  | 'async_predict'
  | 'async_run_remote'
  | 'async_queue_status'
  | 'wake'
  | 'sync';
const ACTIONS = new Set<string>([
  'predict',
  'run_remote',
  'async_predict',
  'async_run_remote',
  'async_queue_status',
  'wake',
  'sync',
]);

export type Route =
  | {
      surface: 'inference';
      kind: 'model' | 'chain';
      id: string;
      target: TargetRef;
      action: Action /** `/{route}?query` for sync */;
      rest: string;
    }
  | { surface: 'async_request'; kind: 'model' | 'chain'; id: string; requestId: string }
  | { surface: 'management'; path: string }
  | { surface: 'openai'; path: string }
  | { surface: 'metrics' }
  | { surface: 'root' };

const ENTITY_RE = /^(model|chain)-([a-z0-9]{8})(?:-([a-z0-9][a-z0-9-]*))?$/;

/**
 * One percent-encoded path segment, decoded; a malformed escape (`%E0`, `%ZZ`) is the client's
 * error, 400, where `decodeURIComponent` alone would throw a URIError and make it a 500.
 *
 * @example
 *   decodeSegment('my%20env') // 'my env'
 *   decodeSegment('%E0')      // throws GirderError client_error
 */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest(
      `Malformed URL: the path segment "${segment.slice(0, 100)}" is not valid percent-encoding.`,
      'Percent-encode the URL as UTF-8 (encodeURIComponent in JavaScript, urllib.parse.quote in Python).',
    );
  }
}

function stripPort(host: string): string {
  if (host.charCodeAt(0) === 91 /* [ */) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.indexOf(':');
  return (colon < 0 ? host : host.slice(0, colon)).toLowerCase();
}

/**
 * Maps a request's Host and path to what it addresses (docs/compatibility.md): the host forms
 * `model-{id}.{domain}` and regional `model-{id}-{env}.{domain}`, and the same names as the first
 * path segment on any other host (`/model-{id}/production/predict`). `api.{domain}` and `/api/v1`
 * lead to the management API; `inference.{domain}` and `/v1` to the OpenAI-compatible API.
 *
 * @example
 *   parseRoute('127.0.0.1:8080', '/model-abcd1234/production/predict', 'localhost')
 *   // → { surface: 'inference', kind: 'model', id: 'abcd1234', target: { kind: 'production' }, action: 'predict', rest: '' }
 */
export function parseRoute(hostHeader: string | undefined, url: string, domain: string): Route {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q);
  const host = stripPort(hostHeader ?? '');
  if (host.endsWith(`.${domain}`)) {
    const sub = host.slice(0, -domain.length - 1);
    if (sub === 'api')
      return { surface: 'management', path: path.startsWith('/v1/') || path === '/v1' ? path.slice(3) : path };
    if (sub === 'inference') return { surface: 'openai', path };
    const m = ENTITY_RE.exec(sub);
    if (m) return entityRoute(m[1] as 'model' | 'chain', m[2], m[3], path, query);
  }
  if (path.startsWith('/api/v1/') || path === '/api/v1') return { surface: 'management', path: path.slice(7) };
  if (path.startsWith('/v1/')) return { surface: 'openai', path };
  if (path === '/metrics') return { surface: 'metrics' };
  if (path === '/' || path === '') return { surface: 'root' };
  const slash = path.indexOf('/', 1);
  const first = slash < 0 ? path.slice(1) : path.slice(1, slash);
  const m = ENTITY_RE.exec(first);
  if (m) return entityRoute(m[1] as 'model' | 'chain', m[2], m[3], slash < 0 ? '/' : path.slice(slash), query);
  throw notFound(
    `No route for ${path}.`,
    'Inference URLs look like /model-{model_id}/production/predict (or host model-{model_id}.{domain}); the management API is under /api/v1.',
  );
}

function entityRoute(
  kind: 'model' | 'chain',
  id: string,
  regionalEnv: string | undefined,
  path: string,
  query: string,
): Route {
  const segs = path.split('/');
  // segs[0] is '' (the path starts with '/').
  if (segs[1] === 'async_request' && segs.length === 3 && segs[2]) {
    return { surface: 'async_request', kind, id, requestId: segs[2] };
  }
  if (regionalEnv !== undefined) {
    if (
      segs[1] === 'production' ||
      segs[1] === 'development' ||
      segs[1] === 'environments' ||
      segs[1] === 'deployment'
    ) {
      throw badRequest(
        `Path-based routes (/${segs[1]}/…) are not available on a regional host.`,
        `The environment "${regionalEnv}" comes from the host name: call the bare path, e.g. /predict.`,
      );
    }
    return actionRoute(kind, id, { kind: 'environment', name: regionalEnv }, segs, 1, query);
  }
  switch (segs[1]) {
    case 'production':
      return actionRoute(kind, id, { kind: 'production' }, segs, 2, query);
    case 'development':
      return actionRoute(kind, id, { kind: 'development' }, segs, 2, query);
    case 'environments':
      if (!segs[2]) break;
      return actionRoute(kind, id, { kind: 'environment', name: decodeSegment(segs[2]) }, segs, 3, query);
    case 'deployment':
      if (!segs[2]) break;
      return actionRoute(kind, id, { kind: 'deployment', id: segs[2] }, segs, 3, query);
  }
  if (ACTIONS.has(segs[1] ?? '')) {
    throw badRequest(
      `Bare /${segs[1]} is only served on regional hosts.`,
      'Name the target: /production/…, /development/…, /environments/{name}/… or /deployment/{id}/….',
    );
  }
  throw notFound(
    `No route for ${path} on ${kind} ${id}.`,
    `Use /{production|development|environments/{name}|deployment/{id}}/{${actionsOf(kind)}}.`,
  );
}

function actionRoute(
  kind: 'model' | 'chain',
  id: string,
  target: TargetRef,
  segs: string[],
  at: number,
  query: string,
): Route {
  const action = segs[at];
  if (action === 'sync') {
    return { surface: 'inference', kind, id, target, action, rest: `/${segs.slice(at + 1).join('/')}${query}` };
  }
  if (action !== undefined && ACTIONS.has(action) && segs.length === at + 1) {
    return { surface: 'inference', kind, id, target, action: action as Action, rest: '' };
  }
  throw notFound(`Unknown action "${segs.slice(at).join('/')}".`, `Actions: ${actionsOf(kind).replaceAll('|', ', ')}.`);
}

/** The actions a model or a chain target takes, for 404 hints. */
const actionsOf = (kind: 'model' | 'chain'): string =>
  kind === 'chain'
    ? 'run_remote|async_run_remote|async_queue_status|wake'
    : 'predict|async_predict|async_queue_status|wake|sync/…';
