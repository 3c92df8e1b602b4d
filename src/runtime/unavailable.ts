import { GirderError } from '../errors.ts';
import type { DeploymentRecord } from '../records/control.ts';

/**
 * The errors parked requests fail with when the runtime will not serve them soon: failing them at
 * once tells the client why, where waiting for their deadline would only say `model_not_ready`.
 *
 * @example
 *   slots.rejectAll(unavailable.deactivated(deployment)); // 404 model_unavailable, reason deployment_deactivated
 */
export const unavailable = {
  deleted: (d: DeploymentRecord): GirderError =>
    new GirderError('model_does_not_exist', `Deployment ${d.id} was deleted.`, undefined, {
      reason: 'deployment_deleted',
    }),

  deactivated: (d: DeploymentRecord): GirderError =>
    new GirderError('model_unavailable', `Deployment ${d.id} was deactivated.`, undefined, {
      status: 404,
      reason: 'deployment_deactivated',
    }),

  /** Its directory holds no model Girder can run (`launchSpec` says why). */
  cannotLaunch: (d: DeploymentRecord, why: string): GirderError =>
    new GirderError('model_unavailable', `Deployment ${d.id} cannot start.`, why, { reason: 'replica_cannot_start' }),

  /** Its replica exited before it ever became ready. */
  exitedBeforeReady: (d: DeploymentRecord, exitInfo: string): GirderError =>
    new GirderError(
      'model_unavailable',
      `The replica of deployment ${d.id} exited (${exitInfo}) before it could serve.`,
      `See the replica's output with \`girder logs ${d.modelId} --deployment ${d.id}\`.`,
      { reason: 'replica_cannot_start' },
    ),

  /**
   * It stopped trying after `attempts` replicas in a row exited before they could serve; `output`
   * is what the last one printed last, the detail a request gets at once instead of a wait.
   */
  gaveUp: (d: DeploymentRecord, attempts: number, exitInfo: string, output: string[]): GirderError =>
    new GirderError(
      'model_unavailable',
      `Deployment ${d.id} failed to start ${attempts} times in a row; Girder stopped trying.`,
      [
        `Its last replica exited (${exitInfo}) before it could serve${output.length ? ', after printing:' : '.'}`,
        ...output,
        `Push a fix, or try again with activate or wake. All its output: \`girder logs ${d.modelId} --deployment ${d.id}\`.`,
      ].join('\n'),
      { reason: 'replica_cannot_start' },
    ),

  /** As many requests as allowed already wait for a slot (`--max-waiting-requests`). */
  tooManyWaiting: (d: DeploymentRecord, limit: number, retryAfterSeconds: number): GirderError =>
    new GirderError(
      'rate_limited',
      `${limit} requests already wait for a replica of deployment ${d.id}.`,
      `Retry after ${retryAfterSeconds} s; the deployment scales up to max_replica (${d.autoscaling.max_replica}) as the load stays.`,
      { reason: 'too_many_waiting', retryAfterSeconds },
    ),

  /** Its build is still running, or failed: nothing of it can serve. */
  unbuilt: (d: DeploymentRecord): GirderError =>
    d.build?.status === 'BUILD_FAILED'
      ? new GirderError(
          'model_unavailable',
          `Deployment ${d.id} failed to build.`,
          `${d.build.error ?? ''}\nFix it and push again; the whole build log: \`girder logs ${d.modelId} --build --deployment ${d.id}\`.`.trim(),
          { reason: 'build_failed' },
        )
      : new GirderError(
          'model_unavailable',
          `Deployment ${d.id} is still building.`,
          `Retry once it is built; follow it with \`girder logs ${d.modelId} --build --deployment ${d.id} --follow\`.`,
          { reason: 'building' },
        ),

  shuttingDown: (): GirderError =>
    new GirderError('model_unavailable', 'Girder is shutting down.', 'Retry once it is back.', {
      reason: 'shutting_down',
    }),
};
