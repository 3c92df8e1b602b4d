import type { Registry } from '../control/registry.ts';
import type { AsyncError, AsyncRequestHead, AsyncStatus } from '../records/async.ts';
import type { DeploymentRecord } from '../records/control.ts';
import type { Replica } from '../runtime/replica.ts';
import type { Supervisor } from '../runtime/supervisor.ts';
import type { Store } from '../store/store.ts';
import { Backlog } from './backlog.ts';
import type { Committer } from './committer.ts';
import { attemptOnReplica } from './model-call.ts';

/** Per deployment: the backlog that may run now, counts, and the dispatch loop's state. */
export class DeploymentQueue {
  readonly backlog = new Backlog();
  /** QUEUED requests, retries waiting out their delay (not in the backlog yet) included. */
  queued = 0;
  inProgress = 0;
  pumping = false;
  /** Aborts the dispatch loop's wait for a slot when nothing is left to run. */
  waiting: AbortController | undefined;

  /** Ends the wait for a slot once the backlog is empty: a slot taken for nothing would be held for nothing. */
  stopWaitingIfEmpty(): void {
    if (!this.backlog.size) this.waiting?.abort();
  }
}

export interface DispatchOptions {
  registry: Registry;
  supervisor: Supervisor;
  store: Store;
  committer: Committer;
  /** Timeout of one model call (MODEL_PREDICT_TIMEOUT after). */
  predictTimeoutMs: number;
  /** Records a terminal state (SUCCEEDED, FAILED) and hands the request to its webhook. */
  finish: (h: AsyncRequestHead, status: AsyncStatus, errors: AsyncError[], output: unknown) => Promise<void>;
  /** Runs work nobody awaits, reporting its failure instead of letting it end the process. */
  detach: (work: Promise<unknown>) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/**
 * The dispatch loops, one per deployment. A loop waits for a replica slot first (`acquire(…, 'async')`,
 * which parks behind any parked sync request: sync before async), and only then takes the best request
 * at that moment, by (priority, arrival), so that a request submitted while the loop waited can still
 * go first. Each outcome is handled here: success and final failure go to `finish`, a retryable failure
 * comes back QUEUED after its backoff, at its arrival position.
 *
 * @example
 *   const dispatch = new Dispatcher({ registry, supervisor, store, committer, predictTimeoutMs, finish, detach });
 *   dispatch.of(head.deploymentId).queued++;
 *   dispatch.enqueue(head); // runs when a slot frees
 */
export class Dispatcher {
  readonly #opts: DispatchOptions;
  readonly #deps = new Map<string, DeploymentQueue>();
  #closing = false;

  constructor(opts: DispatchOptions) {
    this.#opts = opts;
    opts.registry.on('change', (e) => {
      // A deactivated deployment keeps its queue; activating it (or any change) starts its loop again.
      if (e.type !== 'deployment-removed' && this.#deps.has(e.deployment.id)) this.pump(e.deployment.id);
    });
  }

  /**
   * The queue of one deployment, made on first use.
   *
   * @example
   *   const { queued, inProgress } = dispatch.of(deployment.id);
   */
  of(deploymentId: string): DeploymentQueue {
    let q = this.#deps.get(deploymentId);
    if (!q) this.#deps.set(deploymentId, (q = new DeploymentQueue()));
    return q;
  }

  /**
   * The queue of one deployment if it has had requests, without making one.
   *
   * @example
   *   dispatch.get(deployment.id)?.queued ?? 0;
   */
  get(deploymentId: string): DeploymentQueue | undefined {
    return this.#deps.get(deploymentId);
  }

  /**
   * Every deployment's queue (for the expiry sweep).
   *
   * @example
   *   for (const q of dispatch.queues()) q.stopWaitingIfEmpty();
   */
  queues(): IterableIterator<DeploymentQueue> {
    return this.#deps.values();
  }

  /**
   * Puts a QUEUED request (already counted in `queued`) in its deployment's backlog, or, for a retry still
   * waiting out its delay, schedules that, then makes sure the deployment's loop runs.
   *
   * @example
   *   dispatch.enqueue(head);
   */
  enqueue(h: AsyncRequestHead): void {
    const wait = h.notBefore - Date.now();
    if (wait > 0) {
      // A retry waiting for its delay; a cancel meanwhile changes its status and it stays out.
      setTimeout(() => {
        h.notBefore = 0;
        if (h.status === 'QUEUED') this.enqueue(h);
      }, wait).unref();
      return;
    }
    this.of(h.deploymentId).backlog.add(h);
    this.pump(h.deploymentId);
  }

  /**
   * Starts the dispatch loop of a deployment unless it runs already (or the dispatcher is closed).
   *
   * @example
   *   dispatch.pump(deployment.id);
   */
  pump(deploymentId: string): void {
    this.#opts.detach(this.#loop(deploymentId));
  }

  /**
   * Stops every loop: no new request starts, and a call in flight records nothing when it ends, so that it
   * stays IN_PROGRESS on disk and runs again at the next start.
   *
   * @example
   *   dispatch.close();
   */
  close(): void {
    this.#closing = true;
    for (const q of this.#deps.values()) q.waiting?.abort();
  }

  /** The dispatch loop of one deployment: a slot first, then the best request for it. */
  async #loop(deploymentId: string): Promise<void> {
    const { registry, supervisor } = this.#opts;
    const q = this.of(deploymentId);
    if (q.pumping || this.#closing) return;
    q.pumping = true;
    try {
      while (q.backlog.size && !this.#closing) {
        const deployment = registry.deployments.get(deploymentId);
        if (!deployment?.active) break; // a deactivated deployment keeps its queue; activation pumps again
        q.waiting = new AbortController();
        let replica: Replica;
        try {
          replica = await supervisor.acquire(deployment, 'async', q.waiting.signal);
        } catch {
          // Aborted (nothing left to run), or the deployment cannot start now: try again shortly.
          if (q.backlog.size && !this.#closing) await sleep(1000);
          continue;
        } finally {
          q.waiting = undefined;
        }
        const head = q.backlog.shift();
        if (!head) {
          supervisor.release(deploymentId, replica);
          break;
        }
        this.#opts.detach(this.#run(head, q, deployment, replica));
      }
    } finally {
      q.pumping = false;
    }
  }

  /** Runs one attempt of a request on the slot it was given (the call gives it back), then records the outcome. */
  async #run(h: AsyncRequestHead, q: DeploymentQueue, deployment: DeploymentRecord, replica: Replica): Promise<void> {
    const { committer, store, supervisor, predictTimeoutMs, finish } = this.#opts;
    q.queued--;
    q.inProgress++;
    Object.assign(h, { status: 'IN_PROGRESS', attempts: h.attempts + 1, statusAt: Date.now() });
    // Not awaited: a crash before this lands just runs the request again (at least once).
    void committer.update({ id: h.id, status: h.status, attempts: h.attempts, statusAt: h.statusAt }).catch(() => {});
    let input: string;
    try {
      input = (await store.getAsyncRequest(h.id))!.input;
    } catch (err) {
      supervisor.release(h.deploymentId, replica);
      q.inProgress--;
      throw err;
    }
    const chain = h.chainId !== undefined;
    const outcome = await attemptOnReplica(supervisor, deployment, replica, h.id, input, predictTimeoutMs, chain);
    q.inProgress--;
    if (this.#closing) return; // interrupted by shutdown: still IN_PROGRESS on disk, resumed at the next start
    if (outcome.ok) return finish(h, 'SUCCEEDED', [], outcome.output);
    if (!outcome.retryable || h.attempts >= h.retry.max_attempts) return finish(h, 'FAILED', [outcome.error], null);
    await this.#retryLater(h, q, outcome.error);
  }

  /** Back to QUEUED after a doubling delay (capped at max_delay_ms), at its arrival position. */
  async #retryLater(h: AsyncRequestHead, q: DeploymentQueue, error: AsyncError): Promise<void> {
    const { initial_delay_ms, max_delay_ms } = h.retry;
    const delay = Math.min(initial_delay_ms * 2 ** (h.attempts - 1), max_delay_ms);
    Object.assign(h, { status: 'QUEUED', statusAt: Date.now(), notBefore: Date.now() + delay, errors: [error] });
    await this.#opts.committer.update({
      id: h.id,
      status: h.status,
      statusAt: h.statusAt,
      notBefore: h.notBefore,
      errors: h.errors,
    });
    q.queued++;
    this.enqueue(h);
  }
}
