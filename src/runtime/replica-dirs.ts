import { chmod, chown, lchown, lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReplicaIdentity } from './replica-users.ts';

/** A deployment's own directories, which its replicas (and nothing else of the data dir) may read. */
export interface ReplicaDirs {
  snapshot: string;
  runDir: string;
  secretsDir: string;
  /** `<runDir>/home`: HOME of an isolated replica (caches outlive restarts, per deployment). */
  home: string;
}

/**
 * Makes a deployment's directories readable by the identity its replicas run as, and nothing more.
 * The snapshot and the secrets stay Girder's but join the replica's group (`u+rw,g+rX`, no bits
 * for others), so that the replica can read them and never change them, nor slip a file in among
 * them; the run dir and its `home/` become the replica user's (0700). Snapshots are immutable, so
 * each is walked once; `done` remembers them.
 *
 * @example
 *   await grantDirs({ uid: 1879080000, gid: 1879080000 }, dirs, new Set());
 */
export async function grantDirs(id: ReplicaIdentity, dirs: ReplicaDirs, done: Set<string>): Promise<void> {
  if (!done.has(dirs.snapshot)) {
    await shareWithGroup(dirs.snapshot, id.gid);
    done.add(dirs.snapshot);
  }
  await mkdir(dirs.home, { recursive: true, mode: 0o700 });
  // The run dir holds what the replica wrote: it changes hands only when the uid did.
  if ((await lstat(dirs.runDir)).uid !== id.uid) await ownTree(dirs.runDir, id);
  for (const dir of [dirs.runDir, dirs.home]) {
    await chown(dir, id.uid, id.gid);
    await chmod(dir, 0o700);
  }
  // Girder rewrites the secrets before every start, keeping the directory's owner for new files.
  const girder = process.getuid?.() ?? 0;
  await chown(dirs.secretsDir, girder, id.gid);
  await chmod(dirs.secretsDir, 0o750);
  for (const name of await readdir(dirs.secretsDir)) {
    const p = join(dirs.secretsDir, name);
    if (!(await lstat(p)).isFile()) continue; // Girder writes nothing else there
    await chown(p, girder, id.gid);
    await chmod(p, 0o640);
  }
}

/**
 * Gives a tree to `gid`: directories 0750, files the owner's bits plus group read (and execute
 * where the owner has it), others nothing. Its root is changed last, so that an interrupted walk
 * is done again at the next start rather than taken as finished.
 */
async function shareWithGroup(root: string, gid: number): Promise<void> {
  const top = await lstat(root);
  if (top.gid === gid && (top.mode & 0o077) === 0o050) return; // shared at an earlier start
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      const st = await lstat(p);
      if (entry.isSymbolicLink()) {
        await lchown(p, st.uid, gid);
        continue;
      }
      await chown(p, st.uid, gid);
      if (entry.isDirectory()) {
        await chmod(p, 0o750);
        await walk(p);
      } else await chmod(p, (st.mode & 0o700) | 0o040 | (st.mode & 0o100 ? 0o010 : 0));
    }
  };
  await walk(root);
  await chown(root, top.uid, gid);
  await chmod(root, 0o750);
}

/**
 * Gives a run dir to the replica user (its uid changed since an earlier start): what replicas made
 * there. Never a file of Girder's: a replica may have hard-linked one in (where the kernel allows
 * it), and changing its owner would hand it over.
 */
async function ownTree(root: string, id: ReplicaIdentity): Promise<void> {
  const girder = process.getuid?.() ?? 0;
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    const p = join(entry.parentPath, entry.name);
    const st = await lstat(p);
    if (st.uid === girder) continue;
    if (entry.isSymbolicLink()) await lchown(p, id.uid, id.gid);
    else await chown(p, id.uid, id.gid);
  }
  await chown(root, id.uid, id.gid);
}
