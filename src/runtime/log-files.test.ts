import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/temp-dir.ts';
import { LogFile, lastLines, logFileNames } from './log-files.ts';

const line = (i: number, pad = 0): string => `${JSON.stringify({ i, pad: 'x'.repeat(pad) })}\n`;

test('a burst of lines rotates in order, keeps at most maxFiles files, and the newest lines', async (t) => {
  const dir = tempDir(t);
  const base = join(dir, 'd.jsonl');
  const f = new LogFile(base, { maxBytes: 500, maxFiles: 3 });
  // All in one turn of the event loop: most wait in memory while the file opens and rotates.
  for (let i = 0; i < 200; i++) f.write(line(i));
  await f.close();
  assert.deepEqual(readdirSync(dir).sort(), ['d.jsonl', 'd.jsonl.1', 'd.jsonl.2']);
  const kept = logFileNames(base, 3)
    .reverse()
    .flatMap((n) => readFileSync(n, 'utf8').split('\n').filter(Boolean))
    .map((l) => JSON.parse(l).i);
  assert.equal(kept.at(-1), 199);
  assert.deepEqual(
    kept,
    kept.map((_, k) => 199 - kept.length + 1 + k),
    'consecutive: nothing lost or reordered',
  );
  for (const n of logFileNames(base, 3)) assert.ok(readFileSync(n).length <= 500, n);
  assert.deepEqual(
    (await lastLines(logFileNames(base, 3), 40)).map((l) => JSON.parse(l).i),
    kept.slice(-40),
  );
});

test('with one file, a rotation starts it afresh; a file left by an earlier run is continued', async (t) => {
  const dir = tempDir(t);
  const base = join(dir, 'd.jsonl');
  const first = new LogFile(base, { maxBytes: 100, maxFiles: 1 });
  first.write(line(1));
  await first.close();
  const again = new LogFile(base, { maxBytes: 100, maxFiles: 1 });
  again.write(line(2));
  await new Promise((r) => setTimeout(r, 20));
  again.write(line(3, 80)); // past 100 bytes with what the file held: a new file
  await again.close();
  assert.deepEqual(readdirSync(dir), ['d.jsonl']);
  assert.deepEqual(await lastLines([base], 10), [line(3, 80).trim()]);
});

test('lastLines reads lines that cross its 64 KiB blocks, and skips missing files', async (t) => {
  const dir = tempDir(t);
  const base = join(dir, 'd.jsonl');
  const f = new LogFile(base, { maxBytes: 10_000_000, maxFiles: 2 });
  for (let i = 0; i < 50; i++) f.write(line(i, 5_000 + i * 37));
  await f.close();
  const got = await lastLines(logFileNames(base, 2), 30);
  assert.deepEqual(
    got.map((l) => JSON.parse(l).i),
    Array.from({ length: 30 }, (_, k) => 20 + k),
  );
  assert.deepEqual(await lastLines([join(dir, 'none.jsonl')], 5), []);
});

test('remove() closes the file and deletes every file of the log', async (t) => {
  const dir = tempDir(t);
  const f = new LogFile(join(dir, 'd.jsonl'), { maxBytes: 50, maxFiles: 3 });
  for (let i = 0; i < 20; i++) f.write(line(i));
  await f.remove();
  f.write(line(99));
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(readdirSync(dir), []);
});
