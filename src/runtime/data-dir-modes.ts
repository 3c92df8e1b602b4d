import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** The data dir's files that only Girder reads: the store (and SQLite's WAL and shared memory), the admin key. */
const PRIVATE_FILES = ['girder.db', 'girder.db-wal', 'girder.db-shm', 'admin-key'];

/**
 * Sets the modes that keep a data dir Girder's: its private files 0600, `logs/` 0700, and the data
 * dir, `snapshots/` and `run/` 0700, or 0711 (`traversable`) when replicas run outside a sandbox
 * as other users, who reach their own directories through them (they still cannot list them, and
 * each deployment's directories inside are its replicas' alone). Called at every start, so that a
 * data dir made by an older Girder, or with a lax umask, is tightened too.
 *
 * @example
 *   secureDataDir('/var/lib/girder', false); // girder.db → 0600, snapshots/ → 0700, …; returns what it could not set
 */
export function secureDataDir(dataDir: string, traversable: boolean): string[] {
  const dirMode = traversable ? 0o711 : 0o700;
  const warnings: string[] = [];
  // A mode that cannot be set (a read-only mount, a directory of another owner) is the operator's to
  // fix: Girder says so and serves on; what then fails (a push into a read-only snapshots/) says why.
  const tighten = (path: string, mode: number): void => {
    try {
      chmodSync(path, mode);
    } catch (err) {
      warnings.push(`cannot set mode ${mode.toString(8)} on ${path}: ${(err as Error).message}`);
    }
  };
  mkdirSync(dataDir, { recursive: true, mode: dirMode });
  tighten(dataDir, dirMode);
  for (const name of ['snapshots', 'run']) {
    mkdirSync(join(dataDir, name), { recursive: true, mode: dirMode });
    tighten(join(dataDir, name), dirMode);
  }
  mkdirSync(join(dataDir, 'logs'), { recursive: true, mode: 0o700 });
  tighten(join(dataDir, 'logs'), 0o700);
  for (const name of PRIVATE_FILES) {
    const file = join(dataDir, name);
    if (existsSync(file)) tighten(file, 0o600);
  }
  return warnings;
}
