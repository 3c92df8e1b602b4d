import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startGirder } from './helpers.ts';
import { entry, rawPush } from './raw-push.ts';
import { waitFor } from './wait.ts';

// The Girder runs in this process, so that /proc/self/fd shows the files it holds open.
const girder = await startGirder({ after }, { maxPushBytes: 100_000 });
const snapshots = join(girder.g.options.dataDir, 'snapshots');

/** What this process holds open under the snapshots folder (deleted files read "… (deleted)"). */
function openSnapshotFiles(): string[] {
  const held: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(snapshots)) held.push(target);
    } catch {
      /* closed while we looked */
    }
  }
  return held;
}

const config = entry('config.yaml', 'model_name: handles\n');
const part = Buffer.alloc(10_000, 1);

test('failed pushes leave no file of their snapshot open', async () => {
  const failures: [string, () => Promise<unknown>][] = [
    // The client leaves in the middle of a file.
    [
      'abort',
      () => rawPush(girder.url, girder.key, [config, entry('model/w.bin', part, 50_000)], { end: 'abort', gapMs: 50 }),
    ],
    // The upload ends in the middle of a file.
    ['truncated', () => rawPush(girder.url, girder.key, [config, entry('model/w.bin', part, 50_000)], { gapMs: 50 })],
    // A bad entry after a file that is still open.
    [
      'bad entry',
      () =>
        rawPush(girder.url, girder.key, [config, entry('model/w.bin', part, 20_000), part, entry('model/w.bin')], {
          gapMs: 50,
        }),
    ],
    // The size limit is reached in the middle of a file.
    [
      'size limit',
      () =>
        rawPush(girder.url, girder.key, [config, entry('model/w.bin', part, 200_000), ...Array(12).fill(part)], {
          gapMs: 20,
        }),
    ],
  ];
  for (const [what, push] of failures) {
    for (let i = 0; i < 3; i++) {
      const r = (await push()) as { status: number } | null;
      if (what !== 'abort') assert.equal(r?.status, 400, what);
    }
  }
  // An abort is noticed after the client left: give the server a moment to clean up.
  await waitFor(() => readdirSync(snapshots).length === 0, 5_000, 'the failed snapshots to be removed');
  // Closing a file takes a turn of the thread pool: wait a little before looking for good.
  await waitFor(() => openSnapshotFiles().length === 0, 3_000, 'the files to close').catch(() => {});
  assert.deepEqual(openSnapshotFiles(), [], 'no handle on a (deleted) snapshot file');
});
