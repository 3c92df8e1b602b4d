import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { call, example, modelCopy, startGirder } from './helpers.ts';
import { tempDir } from './temp-dir.ts';
import { waitFor } from './wait.ts';

const apiKey = 'rotation-admin-key-0123456789';
const auth = { authorization: `Api-Key ${apiKey}` };

/** A deployment's log files on disk, by name. */
const logFiles = (dataDir: string, deploymentId: string): string[] =>
  readdirSync(join(dataDir, 'logs'))
    .filter((f) => f.startsWith(`${deploymentId}.`))
    .sort();

test('logs rotate by size into at most N files, and the newest lines are read across them', async (t) => {
  const dataDir = tempDir(t);
  const opts = { dataDir, apiKey, logMaxBytes: 2_000, logMaxFiles: 3 };
  const first = await startGirder(t, opts);
  const m = await first.deploy(modelCopy(t, example('hello-ts'), { model_name: 'rotating' }));
  const id = m.deployment.id;
  for (let i = 0; i < 60; i++) {
    const r = await call(`${first.url}/model-${m.model.id}/production/predict`, {
      headers: auth,
      body: JSON.stringify({ name: `n${i}` }),
    });
    assert.equal(r.status, 200, r.text);
  }
  // Stopped, so that the next start writes nothing more to its logs.
  await call(`${first.url}/api/v1/models/${m.model.id}/deployments/${id}/deactivate`, { headers: auth });
  await first.g.close();

  assert.deepEqual(logFiles(dataDir, id), [`${id}.jsonl`, `${id}.jsonl.1`, `${id}.jsonl.2`]);
  for (const f of logFiles(dataDir, id)) assert.ok(statSync(join(dataDir, 'logs', f)).size <= 2_000, f);
  const onDisk = [`${id}.jsonl.2`, `${id}.jsonl.1`, `${id}.jsonl`]
    .flatMap((f) => readFileSync(join(dataDir, 'logs', f), 'utf8').split('\n'))
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const newest = readFileSync(join(dataDir, 'logs', `${id}.jsonl`), 'utf8')
    .split('\n')
    .filter(Boolean);
  assert.ok(newest.length < 15 && onDisk.length > 15, 'the 15 lines asked for span several files');

  // A new Girder has nothing in memory: the lines come from the files, the newest ones across them.
  const second = await startGirder(t, opts);
  const r = await call(`${second.url}/api/v1/models/${m.model.id}/deployments/${id}/logs?limit=15`, {
    method: 'GET',
    headers: auth,
  });
  assert.equal(r.status, 200, r.text);
  const lines = r.text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  assert.deepEqual(lines, onDisk.slice(-15));
  const greetings = lines.filter((l) => l.msg.startsWith('Greeting')).map((l) => l.msg);
  assert.equal(greetings.at(-1), 'Greeting n59', 'the newest line is there');
});

test('a follow stream sees every line logged, across rotations', async (t) => {
  const girder = await startGirder(t, { apiKey, logMaxBytes: 1_000, logMaxFiles: 2 });
  const m = await girder.deploy(modelCopy(t, example('hello-ts'), { model_name: 'following' }));
  const id = m.deployment.id;
  const ac = new AbortController();
  t.after(() => ac.abort());
  const res = await fetch(`${girder.url}/api/v1/models/${m.model.id}/deployments/${id}/logs?follow=true&limit=1`, {
    headers: auth,
    signal: ac.signal,
  });
  assert.equal(res.status, 200);
  let seen = '';
  void (async () => {
    for await (const chunk of res.body!) seen += Buffer.from(chunk).toString('utf8');
  })().catch(() => {});
  for (let i = 0; i < 30; i++) {
    const r = await call(`${girder.url}/model-${m.model.id}/production/predict`, {
      headers: auth,
      body: JSON.stringify({ name: `f${i}` }),
    });
    assert.equal(r.status, 200, r.text);
  }
  await waitFor(() => seen.includes('"Greeting f29"'), 5_000, 'the last line in the follow stream');
  const greetings = seen
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l).msg)
    .filter((msg: string) => msg.startsWith('Greeting'));
  assert.deepEqual(
    greetings,
    Array.from({ length: 30 }, (_, i) => `Greeting f${i}`),
  );
  // The files rotated (a rotation may be under way, between the rename and the new file's open).
  const rotated = [`${id}.jsonl`, `${id}.jsonl.1`].join();
  await waitFor(() => logFiles(girder.g.options.dataDir, id).join() === rotated, 5_000, 'the rotated files');
});
