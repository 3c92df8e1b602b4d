import type { DeploymentRecord } from '../../records/control.ts';
import type { Replica } from '../../runtime/replica.ts';
import type { Supervisor } from '../../runtime/supervisor.ts';

/** Conversations remembered at most; the oldest is forgotten first. */
const MAX_SESSIONS = 100_000;
/** Longer values are not remembered: the table's memory stays bounded (about 100,000 × 256 bytes). */
const MAX_SESSION_LENGTH = 256;

/**
 * Baseten's `x-session-affinity`: requests with the same value go to the replica the first one
 * used, while that replica is up and has a free slot, so that an engine's prefix cache is reused.
 * Otherwise (no header, the replica busy, gone or draining) the request takes the least-loaded
 * replica, as any other; a session whose replica is gone or draining moves there. Held in memory,
 * per deployment.
 *
 * @example
 *   const held = affinity.take(supervisor, deployment, req.headers['x-session-affinity']);
 *   invoke(supervisor, inv, held);   // held: a slot already taken, or undefined to let invoke pick
 */
export class SessionAffinity {
  readonly #sessions = new Map<string, Replica>();

  /** A slot taken on the session's replica, or on the least-loaded one (which the session then keeps). */
  take(supervisor: Supervisor, deployment: DeploymentRecord, session: string | undefined): Replica | undefined {
    if (!session || session.length > MAX_SESSION_LENGTH) return undefined;
    const id = `${deployment.id} ${session}`;
    const pinned = this.#sessions.get(id);
    const held = pinned && supervisor.tryAcquireOn(deployment, pinned, 'sync');
    if (held) return held;
    const replica = supervisor.tryAcquire(deployment, 'sync');
    // A session whose replica is up but busy keeps it for its next request.
    if (replica && !pinned?.routable) {
      this.#sessions.delete(id);
      this.#sessions.set(id, replica);
      if (this.#sessions.size > MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value!);
    }
    return replica;
  }
}
