import type { DeploymentRecord } from '../../records/control.ts';
import type { App } from '../app-context.ts';
import type { Route } from './management.ts';
import { AutoscalingPatch, defined, EnvironmentPatch, parse } from './validation.ts';

/** The answer of an accepted or unchanged settings update (UpdateAutoscalingSettingsResponseV1). */
const answer = (changed: boolean, what: string) =>
  changed
    ? { status: 'ACCEPTED', message: `${what} updated; the replicas follow at once.` }
    : { status: 'UNCHANGED', message: `${what} already have these values.` };

/**
 * Why a deployment runs what it runs (Girder's): desired against actual replicas now, the load and
 * settings the next decision rests on, then the changes of the desired count and the cold starts kept.
 *
 * @example
 *   scalingView(app, d); // { desired_replicas: 3, replicas: { active: 2, starting: 1, … }, events: […], … }
 */
export function scalingView(app: App, d: DeploymentRecord) {
  const report = app.autoscaler.report(d);
  const load = app.supervisor.load(d.id);
  const states = app.supervisor.replicas(d.id).map((r) => r.state);
  const count = (...of: string[]) => states.filter((s) => of.includes(s)).length;
  return {
    model_id: d.modelId,
    deployment_id: d.id,
    status: app.supervisor.status(d).status,
    desired_replicas: report.desired,
    replicas: {
      active: count('ready'),
      starting: count('starting'),
      unready: count('unready'),
      draining: count('stopping'),
    },
    in_flight_requests: load.inflight,
    waiting_requests: load.parked,
    async_backlog: app.queue.runnable(d.id),
    load: report.numbers,
    autoscaling_settings: d.autoscaling,
    events: report.events,
    cold_starts: report.cold_starts,
  };
}

/**
 * The management routes about scaling: a deployment's autoscaling settings, an environment's
 * settings (autoscaling, which its deployment follows, and promotion), and a deployment's scaling
 * events. Part of the `/api/v1` table.
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
  [
    'GET',
    /^\/models\/([^/]+)\/deployments\/([^/]+)\/scaling_events$/,
    ({ app, params }) => scalingView(app, app.registry.deploymentOf(params[0], params[1])),
  ],
];
