import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApiKeyRecord } from '../../records/control.ts';
import { V1Error } from './errors.ts';
import { RateLimits } from './limits.ts';

const key = (limits: { rpm?: number; tpm?: number }): ApiKeyRecord => ({
  prefix: 'abcd1234',
  hash: '',
  name: null,
  type: 'WORKSPACE_INVOKE',
  modelIds: null,
  createdAt: '',
  ...limits,
});

function refused(f: () => unknown): V1Error {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof V1Error);
    return err;
  }
  assert.fail('admitted');
}

test('a minute of requests at once, then one every 60/rpm seconds', () => {
  let now = 0;
  const limits = new RateLimits(() => now);
  const k = key({ rpm: 60 });
  for (let i = 0; i < 60; i++) limits.admit(k);
  const e = refused(() => limits.admit(k));
  assert.equal(e.status, 429);
  assert.equal(e.headers['retry-after'], '1');
  assert.equal(e.headers['retry-after-ms'], '1000');
  now = 1000;
  assert.equal(limits.admit(k).headers()['x-ratelimit-remaining-requests'], '0');
  now = 31_000;
  assert.deepEqual(limits.admit(k).headers(), {
    'x-ratelimit-limit-requests': '60',
    'x-ratelimit-remaining-requests': '29',
    'x-ratelimit-reset-requests': '31s',
  });
});

test('tokens are spent after the answer; an overdraft is waited out', () => {
  let now = 0;
  const limits = new RateLimits(() => now);
  const k = key({ tpm: 600 });
  limits.admit(k);
  limits.spend(k, 900);
  const e = refused(() => limits.admit(k));
  assert.equal(e.type, 'tokens');
  assert.equal(e.headers['retry-after-ms'], '30000', '300 tokens of debt at 10 per second');
  now = 30_001;
  assert.equal(limits.admit(k).headers()['x-ratelimit-remaining-tokens'], '0');
  assert.deepEqual(new RateLimits().admit(key({})).headers(), {}, 'no limits, no headers');
});

test('a lowered limit applies at once: what is left is capped to it', () => {
  const limits = new RateLimits(() => 0);
  const k = key({ rpm: 100 });
  limits.admit(k);
  k.rpm = 1;
  limits.admit(k);
  refused(() => limits.admit(k));
});
