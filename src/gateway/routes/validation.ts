import { z } from 'zod';
import { badRequest } from '../../errors.ts';
import type { AutoscalingSettings, PromotionSettings } from '../../records/control.ts';

/**
 * Validates a body against a zod schema; the first issue becomes a 400 naming the field.
 *
 * @example
 *   const patch = parse(AutoscalingPatch, await body()); // 400 "Invalid max_scale_down_rate: …" for 90
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

/** Drops null/undefined fields: only what is sent gets updated (UpdateAutoscalingSettingsV1). */
export type Defined<T> = { [K in keyof T]?: NonNullable<T[K]> };

/**
 * The fields of a patch that carry a value.
 *
 * @example
 *   defined({ min_replica: 0, max_replica: null }); // { min_replica: 0 }
 */
export const defined = <T extends object>(o: T): Defined<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v != null)) as Defined<T>;

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max).nullish();

/**
 * Baseten's `UpdateAutoscalingSettingsV1`, with its ranges; an unknown field is refused.
 * `satisfies`: one validator per setting, so a setting added to AutoscalingSettings fails to compile here.
 */
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

/** The fields of Baseten's `UpdatePromotionSettingsV1` that Girder keeps. */
export const PromotionPatch = z.strictObject({
  redeploy_on_promotion: z.boolean().nullish(),
  rolling_deploy: z.boolean().nullish(),
  promotion_cleanup_strategy: z.enum(['KEEP', 'SCALE_TO_ZERO', 'DEACTIVATE']).nullish(),
} satisfies Record<keyof PromotionSettings, z.ZodType>);

/** `UpdateEnvironmentRequestV1`: `PATCH /models/{id}/environments/{env}`. */
export const EnvironmentPatch = z.strictObject({
  autoscaling_settings: AutoscalingPatch.nullish(),
  promotion_settings: PromotionPatch.nullish(),
});
