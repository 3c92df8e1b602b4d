import { z } from 'zod';
import { badRequest } from '../../errors.ts';
import { API_KEY_TYPES, type AutoscalingSettings } from '../../records/control.ts';
import { KEY_LIMITS } from './openai-admin.ts';

/** The bodies the management API takes (Baseten's `/v1` request shapes), and how they are checked. */

/**
 * Validates a body against a zod schema; the first issue becomes a 400 naming the field.
 *
 * @example
 *   const { name, value } = parse(SecretPut, await body()); // 400 "Invalid name: …" when it is missing
 */
export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue.path.length ? issue.path.join('.') : 'body';
  throw badRequest(
    `Invalid ${field}: ${issue.message}.`,
    'See the management API in README.md for the fields of this route.',
  );
}

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max).nullish();
// `satisfies`: one validator per setting, so a setting added to AutoscalingSettings fails to compile here.
export const AutoscalingPatch = z.strictObject({
  min_replica: int(0),
  max_replica: int(1),
  autoscaling_window: int(10, 3600),
  scale_down_delay: int(0, 3600),
  concurrency_target: int(1),
  target_utilization_percentage: int(1, 100),
  target_in_flight_tokens: int(1),
  max_scale_down_rate: int(1, 50),
} satisfies Record<keyof AutoscalingSettings, z.ZodType>);
export const KeyCreate = z.object({
  name: z.string().nullish(),
  type: z.enum(API_KEY_TYPES),
  model_ids: z.array(z.string()).nullish(),
  ...KEY_LIMITS,
});
export const SecretPut = z.object({ name: z.string().min(1), value: z.string() });
export const EnvCreate = z.object({ name: z.string().min(1), autoscaling_settings: AutoscalingPatch.nullish() });
export const EnvPromote = z.object({ deployment_id: z.string().min(1) });

/**
 * Drops null/undefined fields: only what is sent gets updated (UpdateAutoscalingSettingsV1).
 *
 * @example
 *   defined({ min_replica: 1, max_replica: null }) // { min_replica: 1 }
 */
type Defined<T> = { [K in keyof T]?: NonNullable<T[K]> };
export const defined = <T extends object>(o: T): Defined<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v != null)) as Defined<T>;
