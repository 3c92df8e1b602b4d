import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GirderError } from '../errors.ts';
import { parseWrapper } from './wrapper.ts';

const fails = (body: string, pattern: RegExp) =>
  assert.throws(
    () => parseWrapper(body),
    (e: GirderError) => e.status === 400 && e.code === 'client_error' && pattern.test(e.message),
  );

test('defaults follow Baseten: priority 0, 600 s in queue, 3 attempts from 1 s capped at 5 s', () => {
  assert.deepEqual(parseWrapper('{"model_input": {"x": 1}}'), {
    input: '{"x":1}',
    webhookEndpoint: null,
    priority: 0,
    maxTimeInQueueMs: 600_000,
    retry: { max_attempts: 3, initial_delay_ms: 1000, max_delay_ms: 5000 },
    keepOutput: undefined,
  });
});

test('every field is read, and partial retry configs get defaults for the rest', () => {
  const w = parseWrapper(
    '{"model_input": [1, 2], "webhook_endpoint": "https://x.test/h", "priority": 2, "max_time_in_queue_seconds": 10, "inference_retry_config": {"max_attempts": 5}, "keep_output": true}',
  );
  assert.deepEqual(w, {
    input: '[1,2]',
    webhookEndpoint: 'https://x.test/h',
    priority: 2,
    maxTimeInQueueMs: 10_000,
    retry: { max_attempts: 5, initial_delay_ms: 1000, max_delay_ms: 5000 },
    keepOutput: true,
  });
});

test('bad wrappers are refused naming the field and the rule', () => {
  fails('{}', /model_input/);
  fails('{"model_input": 1, "priority": 3}', /priority.*at most 2/);
  fails('{"model_input": 1, "priority": 1.5}', /priority.*integer/);
  fails('{"model_input": 1, "max_time_in_queue_seconds": 5}', /max_time_in_queue_seconds.*at least 10/);
  fails('{"model_input": 1, "max_time_in_queue_seconds": 300000}', /at most 259200/);
  fails('{"model_input": 1, "inference_retry_config": {"max_attempts": 11}}', /inference_retry_config\.max_attempts/);
  fails('{"model_input": 1, "inference_retry_config": {"max_delay_ms": 60001}}', /max_delay_ms/);
  fails('{"model_input": 1, "webhook_endpoint": 5}', /webhook_endpoint/);
  fails('[1]', /JSON object/);
  fails('{"model_input": ', /not valid JSON/);
});
