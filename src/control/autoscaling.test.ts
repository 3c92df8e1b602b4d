import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GirderError } from '../errors.ts';
import { DEFAULT_AUTOSCALING } from '../records/control.ts';
import { patchAutoscaling } from './autoscaling.ts';

test('a patch sets the fields it names and keeps the others', () => {
  const { settings, changed } = patchAutoscaling(DEFAULT_AUTOSCALING, { max_replica: 3, target_in_flight_tokens: 10 });
  assert.equal(changed, true);
  assert.deepEqual(settings, { ...DEFAULT_AUTOSCALING, max_replica: 3, target_in_flight_tokens: 10 });
  assert.equal(DEFAULT_AUTOSCALING.max_replica, 1, 'the settings patched are not modified');
});

test('a patch of values already set, or an empty one, is unchanged', () => {
  assert.equal(patchAutoscaling(DEFAULT_AUTOSCALING, { min_replica: 0, concurrency_target: 1 }).changed, false);
  assert.equal(patchAutoscaling(DEFAULT_AUTOSCALING, {}).changed, false);
});

test('a field missing from older stored settings counts as changed when a patch sets it', () => {
  const { target_in_flight_tokens: _, ...older } = DEFAULT_AUTOSCALING;
  assert.equal(patchAutoscaling(older, { target_in_flight_tokens: 5 }).changed, true);
});

test('min_replica above max_replica is refused, whichever field the patch moves', () => {
  const refused = (err: unknown) => err instanceof GirderError && err.status === 400;
  assert.throws(() => patchAutoscaling(DEFAULT_AUTOSCALING, { min_replica: 2 }), refused);
  assert.throws(
    () => patchAutoscaling({ ...DEFAULT_AUTOSCALING, min_replica: 2, max_replica: 2 }, { max_replica: 1 }),
    refused,
  );
  assert.equal(patchAutoscaling(DEFAULT_AUTOSCALING, { min_replica: 2, max_replica: 2 }).changed, true);
});
