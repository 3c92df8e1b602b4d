import { badRequest } from '../errors.ts';
import type { AutoscalingSettings } from '../records/control.ts';

/**
 * Applies an update of autoscaling settings (only the fields sent, as Baseten's
 * `UpdateAutoscalingSettingsV1`). `changed` is false when every field sent already has that
 * value, so that the caller can answer `UNCHANGED` without writing. A result whose `min_replica`
 * exceeds its `max_replica` is refused (400), as Baseten refuses it.
 *
 * Deployments use it now; an environment's own settings are patched the same way.
 *
 * @example
 *   const { settings, changed } = patchAutoscaling(d.autoscaling, { min_replica: 2, max_replica: 2 });
 */
export function patchAutoscaling(
  current: AutoscalingSettings,
  patch: Partial<AutoscalingSettings>,
): { settings: AutoscalingSettings; changed: boolean } {
  const settings = { ...current, ...patch };
  if ((settings.min_replica ?? 0) > (settings.max_replica ?? 1))
    throw badRequest('min_replica must not exceed max_replica.');
  const changed = Object.entries(patch).some(([k, v]) => current[k as keyof AutoscalingSettings] !== v);
  return { settings, changed };
}
