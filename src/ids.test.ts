import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newRequestId, REQUEST_ID_RE } from './ids.ts';

test('request ids are 32 lowercase hex and do not repeat across pool refills', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const id = newRequestId();
    assert.match(id, REQUEST_ID_RE);
    seen.add(id);
  }
  assert.equal(seen.size, 5000);
});
