import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/temp-dir.ts';
import { secureDataDir } from './data-dir-modes.ts';

const mode = (p: string) => statSync(p).mode & 0o777;

test('a lax data dir is tightened: private files 0600, its directories 0700', (t) => {
  const dir = join(tempDir(t), 'data');
  mkdirSync(join(dir, 'logs'), { recursive: true });
  for (const f of ['girder.db', 'girder.db-wal', 'girder.db-shm', 'admin-key']) writeFileSync(join(dir, f), 'x');
  for (const p of [dir, join(dir, 'logs')]) chmodSync(p, 0o755);
  secureDataDir(dir, false);
  for (const f of ['girder.db', 'girder.db-wal', 'girder.db-shm', 'admin-key'])
    assert.equal(mode(join(dir, f)), 0o600, f);
  for (const d of ['', 'logs', 'snapshots', 'run']) assert.equal(mode(join(dir, d)), 0o700, d || 'the data dir');
});

test('for replicas outside a sandbox as other users, the way to their directories is traversable, not listable', (t) => {
  const dir = join(tempDir(t), 'data');
  secureDataDir(dir, true);
  for (const d of ['', 'snapshots', 'run']) assert.equal(mode(join(dir, d)), 0o711, d || 'the data dir');
  assert.equal(mode(join(dir, 'logs')), 0o700);
  secureDataDir(dir, false);
  assert.equal(mode(dir), 0o700, 'and back, once a sandbox hides it');
});
