import { z } from 'zod';
import { API_KEY_TYPES } from '../../records/control.ts';
import { AutoscalingPatch, PromotionPatch } from './validation.ts';
import { KEY_LIMITS } from './openai-admin.ts';

/** The bodies the management API takes (Baseten's `/v1` request shapes); how they are checked is validation.ts. */

export const KeyCreate = z.object({
  name: z.string().nullish(),
  type: z.enum(API_KEY_TYPES),
  model_ids: z.array(z.string()).nullish(),
  ...KEY_LIMITS,
});
export const SecretPut = z.object({ name: z.string().min(1), value: z.string() });
export const EnvCreate = z.strictObject({
  name: z.string().min(1),
  autoscaling_settings: AutoscalingPatch.nullish(),
  promotion_settings: PromotionPatch.nullish(),
});
// PromoteToEnvironmentRequestV1 and PromoteRequestV1: false keeps the replaced deployment as it is (KEEP).
export const EnvPromote = z.object({
  deployment_id: z.string().min(1),
  scale_down_previous_deployment: z.boolean().nullish(),
});
export const Promote = z.object({ scale_down_previous_production: z.boolean().nullish() });
