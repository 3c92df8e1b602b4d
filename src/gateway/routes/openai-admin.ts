import { z } from 'zod';
import { badRequest } from '../../errors.ts';
import { hourOf } from '../../control/usage.ts';
import type { UsageQuery } from '../../records/usage.ts';
import type { App } from '../app-context.ts';
import type { Handler } from './management.ts';
import { apiKeyView } from './views.ts';

/**
 * The management routes of the OpenAI-compatible API (Girder's own, beside Baseten's table in
 * `management.ts`): a key's `/v1` limits, and the usage per hour, key and model. `management.ts`
 * serves them with its own.
 */

const limit = z.number().int().min(1).nullish();

/** The `/v1` limits a key takes at creation (`POST /api_keys`) and later (`PATCH /api_keys/{prefix}`). */
export const KEY_LIMITS = { rpm: limit, tpm: limit };
const KeyLimits = z.strictObject(KEY_LIMITS);

export const OPENAI_ROUTES: [string, RegExp, Handler][] = [
  [
    'PATCH',
    /^\/api_keys\/([^/]+)$/,
    async ({ app, params, body }) => {
      const r = KeyLimits.safeParse(await body());
      if (!r.success) {
        const issue = r.error.issues[0];
        throw badRequest(
          `Invalid ${issue.path.join('.') || 'body'}: ${issue.message}.`,
          'Send {"rpm": N, "tpm": N}: a whole number sets a limit, null removes it, a missing field keeps it.',
        );
      }
      return apiKeyView(await app.keys.setLimits(params[0], r.data));
    },
  ],
  ['GET', /^\/usage$/, ({ app, query }) => usage(app, query)],
];

/** An ISO time from a query, as the store compares hours (whole ISO strings); 400 when it is not one. */
function isoParam(query: URLSearchParams, name: string): string | undefined {
  const v = query.get(name);
  if (v === null || v === '') return undefined;
  const ms = Date.parse(v);
  if (Number.isNaN(ms))
    throw badRequest(`Invalid ${name}: "${v}" is not an ISO 8601 time.`, 'Use e.g. 2026-11-22T00:00:00Z.');
  return name === 'since' ? hourOf(ms) : new Date(ms).toISOString();
}

/**
 * `GET /usage?since=&until=&key=&model=`: `/v1` requests and tokens per hour, key and model, with
 * their totals; `model` takes a model's id or name.
 */
async function usage(app: App, query: URLSearchParams) {
  const q: UsageQuery = { since: isoParam(query, 'since'), until: isoParam(query, 'until') };
  const key = query.get('key');
  if (key) q.keyPrefix = key;
  const model = query.get('model');
  if (model) q.modelId = app.registry.models.has(model) ? model : (app.registry.modelByName(model)?.id ?? model);
  const names = new Map(app.keys.list().map((k) => [k.prefix, k.name]));
  const totals = { requests: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  const rows = (await app.usage.read(q)).map((r) => {
    totals.requests += r.requests;
    totals.prompt_tokens += r.promptTokens;
    totals.completion_tokens += r.completionTokens;
    totals.total_tokens += r.promptTokens + r.completionTokens;
    return {
      hour: r.hour,
      key_prefix: r.keyPrefix,
      key_name: names.get(r.keyPrefix) ?? null,
      model_id: r.modelId,
      model_name: app.registry.models.get(r.modelId)?.name ?? r.modelName,
      requests: r.requests,
      prompt_tokens: r.promptTokens,
      completion_tokens: r.completionTokens,
      total_tokens: r.promptTokens + r.completionTokens,
    };
  });
  return { usage: rows, totals };
}
