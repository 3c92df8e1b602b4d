import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { basename } from 'node:path';

/** The uid and gid a replica runs as. */
export interface ReplicaIdentity {
  uid: number;
  gid: number;
}

/**
 * First uid (and gid) of the range Girder gives snapshots when it runs as root: 0x70000000, in the
 * range systemd documents as unused (above its container range, below 2^31), so that it matches no
 * account of the host. `--replica-uid-base` moves it.
 */
export const DEFAULT_UID_BASE = 0x7000_0000;
/** How many uids the range holds: one per snapshot with a replica running (promoted copies share one). */
export const UID_RANGE = 65_536;

/**
 * Whether this process runs as root (then replicas must not).
 *
 * @example
 *   if (runningAsRoot()) args.push(...dropTo(tools, id));
 */
export const runningAsRoot = (): boolean => process.getuid?.() === 0;

/**
 * Who replicas run as, from `--replica-user`:
 * - `auto` (the default): as root, a uid and gid of their own per snapshot (so per deployment, save
 *   that promoted copies of a deployment share its code and its user); otherwise Girder's own user;
 * - `self`: Girder's own user, root included (then nothing but the sandbox stands between a model
 *   and the host);
 * - a user name or uid (`nobody`): every replica as that one user. Replicas of different deployments
 *   then share a uid: they can signal each other's processes and, without the sandbox, read each
 *   other's files.
 *
 * @example
 *   const users = ReplicaUsers.resolve('auto', DEFAULT_UID_BASE);
 *   users.identityFor('/data/snapshots/3f2a9c0b1d4e'); // → { uid: 1879080000, gid: 1879080000 } as root
 */
export class ReplicaUsers {
  readonly kind: 'self' | 'fixed' | 'per-snapshot';
  readonly #fixed: ReplicaIdentity | undefined;
  readonly #base: number;
  readonly #slots = new Map<string, number>();
  readonly #taken = new Set<number>();

  private constructor(kind: ReplicaUsers['kind'], base: number, fixed?: ReplicaIdentity) {
    this.kind = kind;
    this.#base = base;
    this.#fixed = fixed;
  }

  /** Reads `--replica-user`; throws on an unknown user, or a user other than Girder's without root. */
  static resolve(spec: string, base: number, asRoot = runningAsRoot()): ReplicaUsers {
    if (!Number.isInteger(base) || base < 1 || base + UID_RANGE > 2 ** 31)
      throw new Error(`--replica-uid-base must leave ${UID_RANGE} uids below 2^31, got ${base}`);
    if (spec === 'self') return new ReplicaUsers('self', base);
    if (spec === 'auto') return new ReplicaUsers(asRoot ? 'per-snapshot' : 'self', base);
    if (!asRoot)
      throw new Error(`--replica-user ${spec} needs Girder to run as root (it runs as uid ${process.getuid?.()})`);
    const fixed = lookupUser(spec);
    if (fixed.uid === 0) throw new Error(`--replica-user ${spec} is root; use --replica-user self to mean it`);
    return new ReplicaUsers('fixed', base, fixed);
  }

  /** The identity of the replicas of a snapshot, or undefined for Girder's own user. */
  identityFor(snapshot: string): ReplicaIdentity | undefined {
    if (this.kind === 'self') return undefined;
    if (this.#fixed) return this.#fixed;
    let slot = this.#slots.get(snapshot);
    if (slot === undefined) {
      if (this.#taken.size >= UID_RANGE) throw new Error('every uid of the replica range is in use');
      // The same snapshot tends to get the same uid at every start, so its files rarely change owner.
      slot = createHash('sha256').update(basename(snapshot)).digest().readUInt32BE(0) % UID_RANGE;
      while (this.#taken.has(slot)) slot = (slot + 1) % UID_RANGE;
      this.#slots.set(snapshot, slot);
      this.#taken.add(slot);
    }
    return { uid: this.#base + slot, gid: this.#base + slot };
  }

  /** For the start-up line: who replicas run as. */
  describe(): string {
    if (this.kind === 'self') return runningAsRoot() ? 'as root (--replica-user self)' : "as Girder's own user";
    if (this.#fixed) return `as uid ${this.#fixed.uid}, gid ${this.#fixed.gid}`;
    return `each snapshot as a user of its own (uid ${this.#base}–${this.#base + UID_RANGE - 1})`;
  }
}

/** A user name or number → its uid and primary gid (a number without an account: gid = uid). */
function lookupUser(spec: string): ReplicaIdentity {
  const id = (flag: string) => Number(execFileSync('id', [flag, spec], { encoding: 'utf8', stdio: 'pipe' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    if (/^\d+$/.test(spec)) return { uid: Number(spec), gid: Number(spec) };
    throw new Error(`--replica-user: no user "${spec}" on this host`);
  }
}
