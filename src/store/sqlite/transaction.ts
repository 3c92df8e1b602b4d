import type { DatabaseSync } from 'node:sqlite';

/**
 * Runs `fn` in one transaction on `db`: COMMIT when it returns (its value is returned), ROLLBACK
 * when it or the COMMIT throws (the error is rethrown). `immediate` begins with BEGIN IMMEDIATE,
 * taking the write lock at once: a writer that shares the file with other connections then waits
 * for the lock (busy_timeout) at BEGIN instead of failing later, when its first write would have to
 * upgrade a read lock.
 *
 * @example
 *   transaction(db, () => db.exec(MIGRATION)); // a migration applies whole or not at all
 *   transaction(db, () => insert.run(...values), { immediate: true });
 */
export function transaction<T>(db: DatabaseSync, fn: () => T, opts: { immediate?: boolean } = {}): T {
  db.exec(opts.immediate ? 'BEGIN IMMEDIATE' : 'BEGIN');
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}
