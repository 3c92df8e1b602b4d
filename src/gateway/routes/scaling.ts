import type { Route } from './management.ts';
import { AutoscalingPatch, defined, EnvironmentPatch, parse } from './validation.ts';

/** The answer of an accepted or unchanged settings update (UpdateAutoscalingSettingsResponseV1). */
const answer = (changed: boolean, what: string) =>
  changed
    ? { status: 'ACCEPTED', message: `${what} updated; the replicas follow at once.` }
    : { status: 'UNCHANGED', message: `${what} already have these values.` };

/**
 * The management routes about scaling: a deployment's autoscaling settings, an environment's
 * settings (autoscaling, which its deployment follows, and promotion). Part of the `/api/v1` table.
 *
 * @example
 *   const ROUTES: Route[] = [...otherRoutes, ...SCALING_ROUTES];
 */
export const SCALING_ROUTES: Route[] = [
  [
    'PATCH',
    /^\/models\/([^/]+)\/deployments\/([^/]+)\/autoscaling_settings$/,
    async ({ app, params, body }) => {
      const patch = defined(parse(AutoscalingPatch, await body()));
      const d = app.registry.deploymentOf(params[0], params[1]);
      const { changed } = await app.deployments.updateAutoscaling(d.id, patch);
      return answer(changed, 'The autoscaling settings');
    },
  ],
  [
    'PATCH',
    /^\/models\/([^/]+)\/environments\/([^/]+)$/,
    async ({ app, params, body }) => {
      const input = parse(EnvironmentPatch, await body());
      const { changed } = await app.environments.update(params[0], params[1], {
        autoscaling: defined(input.autoscaling_settings ?? {}),
        promotion: defined(input.promotion_settings ?? {}),
      });
      return answer(changed, `The settings of environment "${params[1]}"`);
    },
  ],
];
