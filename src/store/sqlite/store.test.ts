import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { tempDir } from '../../../test/temp-dir.ts';
import { storeConformance } from '../conformance.ts';
import { SqliteStore } from './store.ts';

storeConformance('sqlite in memory', async () => SqliteStore.open(':memory:'));

// A file database writes async batches through its writer thread: the same contract must hold.
const fileDirs: string[] = [];
after(() => {
  for (const d of fileDirs) rmSync(d, { recursive: true, force: true });
});
storeConformance('sqlite file with writer thread', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'girder-store-'));
  fileDirs.push(dir);
  return SqliteStore.open(join(dir, 'girder.db'));
});

test('a SQLite store keeps its data across a reopen of the file', async (t) => {
  const path = join(tempDir(t, 'girder-store-'), 'girder.db');
  const first = SqliteStore.open(path);
  await first.insertModel({ id: 'aaaaaaaa', name: 'one', createdAt: 'now', deploymentSeq: 0 });
  await first.putSecret('s', 'v', 'now');
  await first.close();
  const second = SqliteStore.open(path);
  assert.equal((await second.listModels())[0].name, 'one');
  assert.equal((await second.listSecrets())[0].value, 'v');
  await second.close();
});
