import { GirderError } from '../errors.ts';
import type { DeploymentRecord } from '../records/control.ts';
import { AbortReason, CLIENT_GONE, TIMEOUT } from './abort.ts';
import { callReplica, type ReplicaCall } from './replica-call.ts';
import type { Replica } from './replica.ts';
import type { SlotClass } from './slots.ts';
import type { Supervisor } from './supervisor.ts';

/**
 * One request to a deployment, from whoever admitted it (a sync call, an async dispatch, a chain hop):
 * a call to a replica before the replica is known. `deadline` covers waiting for a slot and the call.
 */
export interface Invocation extends Omit<ReplicaCall, 'replica' | 'path' | 'logsHint'> {
  deployment: DeploymentRecord;
  /** Sync requests take a freed slot before async ones. */
  cls: SlotClass;
  /** Path (and query) on the replica; null for its predict endpoint. */
  path: string | null;
}

/**
 * The one way to call a deployment: take a slot on a replica (starting one if none runs, parking
 * while none is free), call it, and give the slot back. A request that finds a free slot costs no
 * promise, timer or signal. `held` is a slot the caller took already: the async dispatcher waits
 * for a slot before it picks which request to run.
 *
 * @example
 *   invoke(supervisor, { deployment, cls: 'sync', method: 'POST', path: null, headers: req.rawHeaders,
 *     body, requestId, res, responseHeaders, deadline, bodyTimeoutMs: 60_000, wrapErrors: true,
 *     onEnd: (err) => err && failRequest(res, err, requestId) });
 */
export function invoke(supervisor: Supervisor, inv: Invocation, held?: Replica): void {
  const replica = held ?? supervisor.tryAcquire(inv.deployment, inv.cls);
  if (replica) {
    call(supervisor, inv, replica);
    return;
  }
  park(supervisor, inv).then((r) => call(supervisor, inv, r), inv.onEnd);
}

function call(supervisor: Supervisor, inv: Invocation, replica: Replica): void {
  const { deployment } = inv;
  callReplica({
    replica,
    method: inv.method,
    path: inv.path ?? replica.opts.spec.predictPath,
    headers: inv.headers,
    body: inv.body,
    requestId: inv.requestId,
    res: inv.res,
    responseHeaders: inv.responseHeaders,
    deadline: inv.deadline,
    bodyTimeoutMs: inv.bodyTimeoutMs,
    wrapErrors: inv.wrapErrors,
    logsHint: () => logsHint(deployment),
    onEnd: (err) => {
      supervisor.release(deployment.id, replica);
      inv.onEnd(err);
    },
  });
}

/** Where a deployment's replica output is, for error details. */
export const logsHint = (d: DeploymentRecord): string =>
  `Replica output: \`girder logs ${d.modelId} --deployment ${d.id}\`.`;

/**
 * Waits for a slot (every replica busy, or none ready yet) until the deadline, which gives 503
 * model_not_ready, or until the client leaves. Only parked requests pay for a signal and a timer.
 */
async function park(supervisor: Supervisor, inv: Invocation): Promise<Replica> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new AbortReason(TIMEOUT)), inv.deadline - Date.now());
  const onClose = () => ac.abort(new AbortReason(CLIENT_GONE));
  inv.res.once('close', onClose);
  try {
    return await supervisor.acquire(inv.deployment, inv.cls, ac.signal);
  } catch (err) {
    if (err instanceof AbortReason && err.why === TIMEOUT) {
      throw new GirderError(
        'model_not_ready',
        `No replica of deployment ${inv.deployment.id} became ready before the request's deadline.`,
        logsHint(inv.deployment),
      );
    }
    throw err;
  } finally {
    clearTimeout(timer);
    inv.res.off('close', onClose);
  }
}
