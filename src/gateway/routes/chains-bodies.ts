/** The bodies the chain routes take (Baseten's `/v1` request shapes); how they are checked is validation.ts. */
import { z } from 'zod';
import { badRequest } from '../../errors.ts';
import type { ChainletAutoscaling } from '../../control/chain-environments.ts';
import { AutoscalingPatch, defined, PromotionPatch } from './validation.ts';

/**
 * ChainletEnvironmentSettingsRequestV1. `instance_type_id` is taken and ignored: every chainlet runs on
 * this machine (as `resources.instance_type` of a model's config.yaml).
 */
const ChainletSettingsRequest = z.strictObject({
  chainlet_name: z.string().min(1),
  autoscaling_settings: AutoscalingPatch.nullish(),
  instance_type_id: z.string().nullish(),
});

/** CreateChainEnvironmentRequestV1: `POST /chains/{id}/environments`. */
export const ChainEnvCreate = z.strictObject({
  name: z.string().min(1),
  promotion_settings: PromotionPatch.nullish(),
  chainlet_settings: z.array(ChainletSettingsRequest).nullish(),
});

/** UpdateChainEnvironmentRequestV1: `PATCH /chains/{id}/environments/{env}`. */
export const ChainEnvPatch = z.strictObject({ promotion_settings: PromotionPatch.nullish() });

/** PromoteToChainEnvironmentRequestV1: false keeps the replaced chain deployment as it is (KEEP). */
export const ChainEnvPromote = z.object({
  deployment_id: z.string().min(1),
  scale_down_previous_deployment: z.boolean().nullish(),
});

/** UpdateChainletEnvironmentAutoscalingSettingsRequestV1. */
export const ChainletAutoscalingUpdates = z.strictObject({
  updates: z.array(z.strictObject({ chainlet_name: z.string().min(1), autoscaling_settings: AutoscalingPatch })),
});

/**
 * `[{chainlet_name, autoscaling_settings}]` → `{name: patch}` with only the fields sent; a chainlet named
 * twice is a 400 (which of the two would win is not obvious).
 *
 * @example
 *   byChainlet([{ chainlet_name: 'SayHello', autoscaling_settings: { max_replica: 4, min_replica: null } }]);
 *   // { SayHello: { max_replica: 4 } }
 */
export function byChainlet(
  list: { chainlet_name: string; autoscaling_settings?: z.infer<typeof AutoscalingPatch> | null }[],
  field: string,
): ChainletAutoscaling {
  const out: ChainletAutoscaling = {};
  for (const [i, u] of list.entries()) {
    if (u.chainlet_name in out)
      throw badRequest(
        `Invalid ${field}.${i}.chainlet_name: chainlet "${u.chainlet_name}" is named twice.`,
        'Name each chainlet once, with all of its settings.',
      );
    out[u.chainlet_name] = defined(u.autoscaling_settings ?? {});
  }
  return out;
}
