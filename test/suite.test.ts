// test/suite.ts, the step of `npm test` that fails when a test leaves a process running.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { ROOT, fixture } from './helpers.ts';
import { alive } from './process.ts';

/** Runs test/suite.ts on one fixture file, as a run of its own (node:test skips nested runs). */
function suite(file: string) {
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  return spawnSync(process.execPath, ['test/suite.ts', fixture(`leftovers/${file}`)], {
    cwd: ROOT,
    env: { ...env, GIRDER_SUITE_GRACE_MS: '1000' },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

test('a test file that leaves a process running fails the run, which names and kills it', () => {
  const run = suite('leaks.ts');
  assert.equal(run.status, 1, run.stdout + run.stderr);
  const named = /pid (\d+) \(parent \d+\): sleep 600/.exec(run.stderr);
  assert.ok(named, run.stderr);
  assert.equal(alive(Number(named[1])), false, 'the leftover is killed');
});

test('a test file that stops what it starts passes', () => {
  const run = suite('cleans-up.ts');
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.doesNotMatch(run.stderr, /still run/);
});
