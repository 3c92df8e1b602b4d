import { OpenAINames, openAISettings } from '../../control/openai-names.ts';
import type { ApiKeyRecord } from '../../records/control.ts';
import { invoke } from '../../runtime/invoke.ts';
import type { Reply } from '../../runtime/reply.ts';
import { basetenHeaders } from '../admit.ts';
import type { App } from '../app-context.ts';
import { requireInvoke } from '../auth.ts';
import type { InboundRequest } from '../exchange.ts';
import { SessionAffinity } from './affinity.ts';
import { OpenAIAnswer } from './answer.ts';
import { type Edit, openingBrace, parseSpan, splice, topLevelFields } from './body-scan.ts';
import type { Clock } from './clock.ts';
import { V1Error } from './errors.ts';
import { RateLimits } from './limits.ts';

/** What `/v1` keeps in memory per Girder: the rate limits and the session affinities. */
const STATE = new WeakMap<App, { limits: RateLimits; affinity: SessionAffinity }>();

function stateOf(app: App): { limits: RateLimits; affinity: SessionAffinity } {
  let state = STATE.get(app);
  if (!state) STATE.set(app, (state = { limits: new RateLimits(), affinity: new SessionAffinity() }));
  return state;
}

/** Paths whose streams report usage only when asked (`stream_options.include_usage`). */
const USAGE_ON_ASK = new Set(['/v1/chat/completions', '/v1/completions']);

/**
 * One `POST /v1/…` whose body is read: the name → the model's production deployment, the key's scope
 * and limits, the body spliced, and the call through `invoke` into an `OpenAIAnswer`. Throws
 * (400/403/404/429) before the call; after it, every failure is answered by `answer.fail`.
 *
 * @example
 *   callModel(app, req, res, key, requestId, headers, body, clock);
 */
export function callModel(
  app: App,
  req: InboundRequest,
  res: Reply,
  key: ApiKeyRecord,
  requestId: string,
  headers: Record<string, string>,
  body: Buffer,
  clock: Clock,
): void {
  const fields = topLevelFields(body, ['model', 'stream', 'stream_options'] as const);
  if (!fields) {
    throw new V1Error('client_error', 'We could not parse the JSON body of your request.', {
      detail: 'Send a JSON object with a `model` field.',
    });
  }
  const asked = parseSpan(body, fields.model);
  if (typeof asked !== 'string' || asked === '') {
    throw new V1Error('client_error', 'You must provide a model parameter.', {
      param: 'model',
      detail: '`GET /v1/models` lists the names this key may call.',
    });
  }
  const name = OpenAINames.of(app.registry).resolve(asked);
  if (!name) {
    throw new V1Error('model_does_not_exist', `The model \`${asked}\` does not exist.`, {
      param: 'model',
      detail: '`GET /v1/models` lists the names this key may call.',
    });
  }
  requireInvoke(key, name.model.id);
  const deployment = app.registry.resolve(name.model.id, { kind: 'production' });
  const { limits, affinity } = stateOf(app);
  const admitted = limits.admit(key);
  const edits: Edit[] = [];
  const served = openAISettings(deployment.config).servedModelName;
  if (served !== null && served !== asked && fields.model) {
    edits.push({ ...fields.model, text: JSON.stringify(served) });
  }
  const dropUsageOnly = askUsage(body, fields, req.url ?? '', edits);
  const upstreamBody = splice(body, edits);
  const answer = new OpenAIAnswer(res, {
    askedJson: JSON.stringify(asked),
    dropUsageOnly,
    // Called when the answer's head is written: the upstream's part (from the call to its head, or to
    // the end of a JSON answer, kept whole) is over, and Girder's work resumes.
    headHeaders: () => {
      clock.start();
      return { ...admitted.headers(), 'x-girder-overhead-ms': clock.header() };
    },
  });
  const { runtime } = deployment.config;
  const deadline = Date.now() + (runtime.predict_timeout_seconds ?? app.options.predictTimeoutSeconds) * 1000;
  const session = req.headers['x-session-affinity'];
  const held = affinity.take(app.supervisor, deployment, typeof session === 'string' ? session : undefined);
  clock.stop();
  invoke(
    app.supervisor,
    {
      deployment,
      cls: 'sync',
      method: 'POST',
      path: req.url ?? '/',
      headers: forwardedHeaders(req.rawHeaders, upstreamBody.length),
      body: upstreamBody,
      requestId,
      res: answer,
      responseHeaders: { ...basetenHeaders(requestId, deployment), 'x-request-id': requestId },
      deadline,
      bodyTimeoutMs: runtime.streaming_read_timeout * 1000,
      wrapErrors: false,
      onEnd: (err) => {
        if (err !== undefined) answer.fail(err, headers);
        const tokens = answer.tokens;
        if (tokens) limits.spend(key, tokens.prompt + tokens.completion);
        app.usage.record(key.prefix, name.model, tokens);
      },
    },
    held,
  );
}

/**
 * Asks the upstream for a stream's usage (`stream_options.include_usage`) when the client did not,
 * so that tokens can be counted; true when it did, and the usage-only chunk must not reach the client.
 */
function askUsage(
  body: Buffer,
  fields: NonNullable<ReturnType<typeof topLevelFields<'model' | 'stream' | 'stream_options'>>>,
  url: string,
  edits: Edit[],
): boolean {
  const path = url.split('?')[0];
  if (!USAGE_ON_ASK.has(path) || parseSpan(body, fields.stream) !== true) return false;
  const options = parseSpan(body, fields.stream_options);
  if (options && typeof options === 'object' && (options as { include_usage?: unknown }).include_usage === true)
    return false;
  const merged = JSON.stringify({ ...(options && typeof options === 'object' ? options : {}), include_usage: true });
  if (fields.stream_options) edits.push({ ...fields.stream_options, text: merged });
  else {
    const at = openingBrace(body);
    edits.push({ start: at, end: at, text: `"stream_options":${merged},` });
  }
  return true;
}

/** The client's headers for the replica, with the body's new length (the call path keeps only a few). */
function forwardedHeaders(raw: string[], length: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name !== 'content-length' && name !== 'content-type' && name !== 'transfer-encoding')
      out.push(raw[i], raw[i + 1]);
  }
  out.push('content-type', 'application/json', 'content-length', String(length));
  return out;
}
