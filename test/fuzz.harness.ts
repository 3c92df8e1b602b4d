/**
 * The requests of the gateway fuzz test (fuzz.test.ts): every route family (inference on each
 * target form and action, regional and host forms, async_request, the management API with each
 * method, /v1, /metrics, unknown paths) with odd percent-encodings, methods, headers, framing and
 * bodies, as raw bytes. From a fixed seed, so that a failure reproduces.
 */

/** What the fuzz knows of the Girder it calls. */
export interface Known {
  modelId: string;
  deploymentId: string;
  key: string;
}

/** One generated request: its bytes, and whether an error answer to it may be the model's own. */
export interface Fuzzed {
  bytes: Buffer;
  method: string;
  /** A `/sync/` call: the model's own answers pass through unchanged, whatever their shape. */
  sync: boolean;
  /** A call of the OpenAI-compatible API (`/v1/…` on any host but `api.`): its errors are OpenAI's shape. */
  openai: boolean;
  /** One line for a failure message. */
  summary: string;
}

/**
 * mulberry32: a small seeded generator of numbers in [0, 1).
 *
 * @example
 *   const random = rng(42); random(); // the same sequence on every run
 */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ODD_SEGMENTS = [
  '%E0',
  '%ZZ',
  '%',
  '%2',
  '%00',
  '%2F',
  '%C3%A9',
  '%ED%A0%80',
  '%F0%9F%98%80',
  'a%20b',
  '..',
  '.',
  '',
  ';x=1',
  'x'.repeat(300),
  '\xe9',
  '%25',
  'production%',
];
const ACTIONS = ['predict', 'async_predict', 'async_queue_status', 'wake', 'run_remote', 'async_run_remote', 'nope'];
const SYNC_ROUTES = ['', 'v1/models/model:predict', 'v1/models/model', 'nope/%E0', 'a/b?x=%ZZ', '%ZZ'];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'FOO', 'get'];
const MANAGEMENT = [
  'models',
  'models/push',
  'models/{m}',
  'models/{m}/deployments',
  'models/{m}/deployments/{d}',
  'models/{m}/deployments/{d}/activate',
  'models/{m}/deployments/{d}/promote',
  'models/{m}/deployments/{d}/autoscaling_settings',
  'models/{m}/deployments/{d}/logs?limit={s}&follow=0',
  'models/{m}/environments',
  'models/{m}/environments/{s}',
  'models/{m}/environments/{s}/promote',
  'chains',
  'chains/{m}',
  'chains/{m}/deployments/{d}',
  'chains/{m}/deployments/{d}/deactivate',
  'chains/{m}/deployments/{d}/chainlets/{s}/logs?limit={s}',
  'chains/{m}/environments',
  'chains/{m}/environments/{s}/promote',
  'chains/{m}/environments/{s}/chainlet_settings/autoscaling_settings',
  'api_keys',
  'api_keys/{s}',
  'secrets',
  'secrets/{s}',
  'webhook_secrets',
  'webhook_secrets/{s}',
  'webhook_secrets/{s}/rotate',
  'nothing/{s}',
];

/**
 * A generator of fuzzed requests over `known`, from `seed`.
 *
 * @example
 *   const next = fuzzer(known, 7);
 *   const { bytes } = next(); // e.g. 'POST /model-abcd1234/environments/%E0/predict HTTP/1.1\r\n…'
 */
export function fuzzer(known: Known, seed: number): () => Fuzzed {
  const random = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const chance = (p: number): boolean => random() < p;
  const hex = (n: number): string => Array.from({ length: n }, () => pick([...'0123456789abcdef'])).join('');
  const segment = (good: string): string => (chance(0.75) ? good : pick(ODD_SEGMENTS));
  const modelId = (): string => (chance(0.85) ? known.modelId : pick(['zzzzzzzz', 'ABCDEFGH', hex(8), '%E0']));

  /** A path (and the Host it needs), and whether it is a /sync/ call. */
  function target(method: string): { path: string; host: string; sync: boolean } {
    const id = modelId();
    const action = chance(0.3) ? `sync/${pick(SYNC_ROUTES)}` : chance(0.4) ? 'predict' : pick(ACTIONS);
    const sync = action.startsWith('sync');
    const env = segment('production');
    const named = chance(0.4)
      ? 'production'
      : pick([
          'production',
          'development',
          `environments/${env}`,
          `deployment/${segment(known.deploymentId)}`,
          'environments',
          segment('x'),
        ]);
    const mgmt = (): string => {
      const destructive = method !== 'GET' && method !== 'HEAD';
      return pick(MANAGEMENT)
        .replace('{m}', destructive ? segment('zzzzzzzz') : segment(known.modelId))
        .replace('{d}', destructive ? segment('zzzzzzz') : segment(known.deploymentId))
        .replace('{s}', segment(hex(6)));
    };
    switch (Math.floor(random() * 11)) {
      case 0:
        return { path: `/model-${id}-${env}/${action}`, host: 'x', sync };
      case 1:
        return { path: `/${pick([action, `production/${action}`])}`, host: `model-${id}-${env}.localhost`, sync };
      case 2:
        return { path: `/${named}/${action}`, host: `MODEL-${id}.localhost:80`, sync };
      case 3:
        return { path: `/model-${id}/async_request/${segment(hex(32))}`, host: 'x', sync: false };
      case 4:
        return { path: `/api/v1/${mgmt()}`, host: 'x', sync: false };
      case 5:
        return { path: `/v1/${mgmt()}`, host: pick(['api.localhost', 'inference.localhost', 'x']), sync: false };
      case 6:
        return {
          path: pick(['/metrics', '/', '', '*', '//', '/model-', '/chain-abcdefgh/production/predict']),
          host: 'x',
          sync,
        };
      case 7:
        return {
          path: `/${segment('unknown')}/${segment('path')}?q=${segment('%zz')}`,
          host: pick(['x', '[::1]:8080', '']),
          sync: false,
        };
      default:
        return { path: `/model-${id}/${named}/${action}`, host: pick(['x', '127.0.0.1', 'localhost:1']), sync };
    }
  }

  function body(): { bytes: Buffer; type?: string } {
    switch (Math.floor(random() * 9)) {
      case 0:
        return { bytes: Buffer.alloc(0) };
      case 1:
        return { bytes: Buffer.from('{"broken'), type: 'application/json' };
      case 2:
        return {
          bytes: Buffer.from(Array.from({ length: 64 }, () => Math.floor(random() * 256))),
          type: 'application/octet-stream',
        };
      case 3:
        return { bytes: Buffer.from('{"model_input":{"name":"fuzz"},"webhook_endpoint":"http://127.0.0.1:1/x"}') };
      case 4:
        return { bytes: Buffer.alloc(chance(0.5) ? 100_000 : 200_000, 'a') };
      case 5:
        return {
          bytes: Buffer.from(pick(['null', '[]', '1e999', '"x"', '{"__proto__":{"x":1}}', '{"name":null}'])),
          type: pick(['application/json', 'text/plain', 'x/y; charset=%E0']),
        };
      case 6:
        return {
          bytes: Buffer.from('{"type":"NOPE","name":"x","value":"y","deployment_id":"%E0"}'),
          type: 'application/json',
        };
      default:
        return { bytes: Buffer.from('{"name":"fuzz"}'), type: 'application/json' };
    }
  }

  return () => {
    const method = chance(0.75) ? pick(['POST', 'GET']) : pick(METHODS);
    const t = target(method);
    const b = body();
    const lines = [
      `${method} ${t.path} ${chance(0.9) ? 'HTTP/1.1' : pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 x', 'HTTP/0.9'])}`,
    ];
    const hostSent = !chance(0.05);
    if (hostSent) lines.push(`Host: ${t.host}`);
    const auth = chance(0.8)
      ? pick([`Api-Key ${known.key}`, `Bearer ${known.key}`])
      : pick(['Api-Key nope.nope', 'Basic x', '', `Api-Key ${known.key}x`]);
    if (auth) lines.push(`Authorization: ${auth}`);
    if (b.type && !chance(0.1)) lines.push(`Content-Type: ${b.type}`);
    if (chance(0.1))
      lines.push(
        pick([
          'Expect: 100-continue',
          'Expect: teapot',
          'Accept: application/json',
          'X-Baseten-Priority: %E0',
          'Connection: upgrade',
          'Upgrade: websocket',
          'Bad Header: x',
          `X-Long: ${'y'.repeat(17_000)}`,
          'X-Fold: a\r\n b',
        ]),
      );
    const chunked = b.bytes.length > 0 && chance(0.15);
    if (chunked) lines.push('Transfer-Encoding: chunked');
    else if (b.bytes.length > 0 || chance(0.3))
      lines.push(
        `Content-Length: ${chance(0.95) ? b.bytes.length : pick(['-1', 'abc', ` ${b.bytes.length}`, `${b.bytes.length}\r\nContent-Length: ${b.bytes.length + 1}`])}`,
      );
    lines.push('Connection: close');
    const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    const framed = chunked
      ? Buffer.concat([Buffer.from(`${b.bytes.length.toString(16)}\r\n`), b.bytes, Buffer.from('\r\n0\r\n\r\n')])
      : b.bytes;
    const openai = t.path.startsWith('/v1/') && !(hostSent && t.host === 'api.localhost');
    return { bytes: Buffer.concat([head, framed]), method, sync: t.sync, openai, summary: lines[0].slice(0, 200) };
  };
}
