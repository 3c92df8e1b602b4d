import type { Client } from '../client.ts';
import { printLogs } from './logs.ts';

/** DeploymentV1, the fields the CLI reads. */
export interface DeploymentView {
  id: string;
  name: string;
  model_id: string;
  status: string;
  active_replica_count: number;
  environment: string | null;
  is_development: boolean;
  is_production: boolean;
  created_at: string;
  /** Girder's: how its environment was built, null when there was nothing to build. */
  build?: { status: string; error: string | null; runs: number } | null;
}

const FAILED = new Set(['DEPLOY_FAILED', 'UNHEALTHY', 'BUILD_FAILED']);
const POLL_MS = 500;

/** True when the status will not change without a request or a user action. */
function settled(d: DeploymentView): boolean {
  if (d.status === 'ACTIVE' || d.status === 'INACTIVE' || FAILED.has(d.status)) return true;
  // A deployment outside any environment idles at zero replicas until called. A serving one only
  // passes through SCALED_TO_ZERO while its replicas restart (a development push).
  return d.status === 'SCALED_TO_ZERO' && !d.is_development && d.environment === null;
}

/**
 * Polls a deployment until it settles and returns its status, 'TIMEOUT', or 'superseded' when
 * `stale()` says a newer push made the wait moot. Unless `quiet`, prints each status it sees and,
 * on failure, the last 30 log lines so the cause is on screen. With `tryStart`, a deployment that
 * idles at zero replicas is woken once, so that a broken model shows now rather than to its first
 * caller; it then scales down as its autoscaling settings say.
 */
export async function waitForDeployment(
  client: Client,
  modelId: string,
  deploymentId: string,
  timeoutMs: number,
  opts: { quiet?: boolean; stale?: () => boolean; tryStart?: boolean } = {},
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let woken = false;
  for (;;) {
    if (opts.stale?.()) return 'superseded';
    const d = await client.api<DeploymentView>('GET', `/models/${modelId}/deployments/${deploymentId}`);
    if (d.status !== last && !opts.quiet) console.log(`status      ${d.status}`);
    last = d.status;
    if (settled(d) && d.status === 'SCALED_TO_ZERO' && opts.tryStart && !woken) {
      woken = true;
      if (!opts.quiet) console.log('starting it once to check that it works…');
      await client.request(`/model-${modelId}/deployment/${deploymentId}/wake`, { method: 'POST' });
    } else if (settled(d) && !(woken && d.status === 'SCALED_TO_ZERO')) {
      if (d.status === 'BUILD_FAILED' && !opts.quiet) {
        console.log(`\nDeployment ${d.name} failed to build:\n${d.build?.error ?? ''}`);
        console.log(`Its whole build log: girder logs ${modelId} --build --deployment ${d.id}`);
      } else if (FAILED.has(d.status) && !opts.quiet) {
        console.log(`\nDeployment ${d.name} is ${d.status}. Its last log lines:`);
        await printLogs(client, modelId, deploymentId, { limit: 30 });
      }
      if (d.status === 'SCALED_TO_ZERO' && !opts.quiet) console.log('It starts on its first request.');
      if (woken && d.status === 'ACTIVE' && !opts.quiet) {
        console.log('It works; it scales down as its autoscaling settings say, and serves no environment.');
      }
      return d.status;
    }
    if (Date.now() > deadline) {
      if (!opts.quiet)
        console.error(
          `Timed out after ${Math.round(timeoutMs / 1000)} s waiting for deployment ${d.name} (still ${d.status}).`,
        );
      return 'TIMEOUT';
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
