import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { tempDir } from '../../../test/temp-dir.ts';
import { transaction } from './transaction.ts';

const rows = (db: DatabaseSync): unknown[] =>
  db
    .prepare('SELECT x FROM t ORDER BY x')
    .all()
    .map((r) => r.x);

test('what fn writes is committed, and its value returned', () => {
  const db = new DatabaseSync(':memory:');
  db.exec('CREATE TABLE t (x INTEGER)');
  assert.equal(
    transaction(db, () => db.prepare('INSERT INTO t VALUES (1), (2)').run().changes),
    2,
  );
  assert.deepEqual(rows(db), [1, 2]);
  assert.equal(db.isTransaction, false);
});

test('when fn throws, nothing it wrote stays and the error reaches the caller', () => {
  const db = new DatabaseSync(':memory:');
  db.exec('CREATE TABLE t (x INTEGER)');
  assert.throws(
    () =>
      transaction(db, () => {
        db.exec('INSERT INTO t VALUES (1)');
        throw new Error('half done');
      }),
    /half done/,
  );
  assert.deepEqual(rows(db), []);
  assert.equal(db.isTransaction, false);
});

test('immediate takes the write lock at BEGIN: another connection cannot start writing', (t) => {
  const path = join(tempDir(t, 'girder-tx-'), 'db');
  const a = new DatabaseSync(path);
  const b = new DatabaseSync(path);
  t.after(() => {
    a.close();
    b.close();
  });
  a.exec('PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER)');
  b.exec('PRAGMA busy_timeout = 0');
  const otherCanWrite = (): boolean => {
    try {
      b.exec('BEGIN IMMEDIATE');
      b.exec('ROLLBACK');
      return true;
    } catch {
      return false;
    }
  };
  assert.equal(transaction(a, otherCanWrite), true, 'a deferred transaction that has not written holds no write lock');
  assert.equal(transaction(a, otherCanWrite, { immediate: true }), false);
  assert.equal(otherCanWrite(), true, 'the lock ends with the transaction');
});
