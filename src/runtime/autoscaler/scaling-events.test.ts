import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ScaleChange } from './scale-rule.ts';
import { ScalingEvents } from './scaling-events.ts';

const change = (from: number, to: number): ScaleChange => ({
  from,
  to,
  reason: 'load',
  message: `${from} → ${to}`,
  numbers: {} as ScaleChange['numbers'],
});

test('events are kept for the retention period, at most N per deployment, oldest first', () => {
  const events = new ScalingEvents(60_000, 3);
  for (let i = 0; i < 5; i++) events.change('d1', change(i, i + 1), 1000 * i);
  assert.deepEqual(
    events.of('d1', 5000).events.map((e) => e.from),
    [2, 3, 4],
    'the oldest go first past the cap',
  );
  assert.equal(events.of('d1', 5000).events[0].at, new Date(2000).toISOString());
  assert.deepEqual(
    events.of('d1', 63_500).events.map((e) => e.from),
    [4],
    'past a minute, gone',
  );
  assert.deepEqual(events.of('other').events, []);
});

test('cold starts are kept the same way, and a deleted deployment is forgotten', () => {
  const events = new ScalingEvents(60_000);
  const start = { replica_id: 'r1', from_zero: true, process_ms: 80, load_ms: 20, total_ms: 100 };
  events.coldStart('d1', start, 0);
  events.change('d1', change(0, 1), 0);
  assert.deepEqual(events.of('d1', 1).cold_starts, [{ at: new Date(0).toISOString(), ...start }]);
  events.forget('d1');
  assert.deepEqual(events.of('d1', 1), { events: [], cold_starts: [] });
});
