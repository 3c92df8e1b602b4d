import { call, type Running, startGirder } from './helpers.ts';
import { waitFor } from './wait.ts';

/**
 * Settings durations shrink 100×: Baseten's valid settings (a 10 s window at least) run in a
 * fraction of the time, with a decision every 20 ms. 10 s of a setting is 100 ms here.
 */
export const FAST = { scalingTimeScale: 0.01, autoscalerTickMs: 20, probeIntervalMs: 100 };

/**
 * A Girder whose autoscaler runs FAST, with the management and inference calls the scaling tests make.
 *
 * @example
 *   const { girder, predict, scale, replicas } = await startScaling({ after });
 *   await scale(modelId, { min_replica: 0, scale_down_delay: 20 }); // 200 ms here
 */
export async function startScaling(t: { after: (fn: () => Promise<void> | void) => void }, opts = {}) {
  const girder: Running = await startGirder(t, { ...FAST, ...opts });
  const api = (path: string, method = 'GET', body?: unknown) =>
    call(`${girder.url}/api/v1${path}`, {
      method,
      headers: girder.auth,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const predict = (modelId: string, body: unknown, target = 'production') =>
    call(`${girder.url}/model-${modelId}/${target}/predict`, { headers: girder.auth, body: JSON.stringify(body) });
  /** Sets the production environment's autoscaling (its deployment follows at once). */
  const scale = async (modelId: string, settings: Record<string, number>) => {
    const r = await api(`/models/${modelId}/environments/production`, 'PATCH', { autoscaling_settings: settings });
    if (r.status !== 200) throw new Error(`PATCH failed: ${r.text}`);
  };
  const deployment = (modelId: string, dep = 'production') => api(`/models/${modelId}/deployments/${dep}`);
  const status = async (modelId: string, dep = 'production') => (await deployment(modelId, dep)).json.status;
  /** Waits until the deployment's active_replica_count is `n` (a live value at every moment). */
  const replicas = (modelId: string, n: number, dep = 'production', timeoutMs = 30_000) =>
    waitFor(async () => (await deployment(modelId, dep)).json.active_replica_count === n, timeoutMs, `${n} replicas`);
  return { girder, api, predict, scale, deployment, status, replicas };
}

/**
 * `n` clients, each calling predict again as soon as its answer came, until `stop()`; resolves with
 * every status seen.
 *
 * @example
 *   const load = clients(4, () => predict(id, { sleep_ms: 100 }));
 *   await replicas(id, 4);
 *   const statuses = await load.stop();
 */
export function clients(n: number, once: () => Promise<{ status: number }>) {
  let running = true;
  const statuses: number[] = [];
  const loops = Array.from({ length: n }, async () => {
    while (running) statuses.push((await once()).status);
  });
  return {
    statuses,
    /** Stops the clients; resolves once each ended, with every status seen.  */
    async stop(): Promise<number[]> {
      running = false;
      await Promise.all(loops);
      return statuses;
    },
  };
}
