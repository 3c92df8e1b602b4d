import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { storeConformance } from '../conformance.ts';
import { SqliteStore } from './store.ts';

storeConformance('sqlite in memory', async () => SqliteStore.open(':memory:'));

test('a SQLite store keeps its data across a reopen of the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'girder-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'girder.db');
  const first = SqliteStore.open(path);
  await first.insertModel({ id: 'aaaaaaaa', name: 'one', createdAt: 'now', deploymentSeq: 0 });
  await first.putSecret('s', 'v', 'now');
  await first.close();
  const second = SqliteStore.open(path);
  assert.equal((await second.listModels())[0].name, 'one');
  assert.equal((await second.listSecrets())[0].value, 'v');
  await second.close();
});
