import { z } from 'zod';
import { badRequest } from '../../errors.ts';
import type { Handler } from './management.ts';
import { apiKeyView } from './views.ts';

/**
 * The management routes of the OpenAI-compatible API (Girder's own, beside Baseten's table in
 * `management.ts`): a key's `/v1` limits. `management.ts` serves them with its own.
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
];
