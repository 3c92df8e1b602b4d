// What the python runner answers when a request or an output is not what it can handle: bodies
// nested too deeply to decode, outputs nested too deeply to encode. Shared pieces: server.harness.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JSON_HEADERS, predict, startReady, type Runner } from './server.harness.ts';

// Deeper than any Python decodes: 3.11 stops near 1000 levels, 3.13 (whose C json counts its own limit) near 10000.
const DEPTH = 100_000;

function post(runner: Runner, body: string | Uint8Array, contentType: string): Promise<Response> {
  return fetch(`${runner.url}/v1/models/model:predict`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
}

/** The runner still answers a plain predict: the bad request did not take it down. */
async function assertStillServing(runner: Runner): Promise<void> {
  const response = await predict(runner, { still: 'serving' });
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { echo: { still: 'serving' } });
}

/** msgpack for `{"depth": n}`, written by hand (a fixmap, a fixstr, a uint32). */
function msgpackDepth(n: number): Buffer {
  const depth = Buffer.alloc(5);
  depth.writeUInt8(0xce);
  depth.writeUInt32BE(n, 1);
  return Buffer.concat([Buffer.from([0x81, 0xa5]), Buffer.from('depth'), depth]);
}

test('a JSON body nested too deeply is a 400 that says so, and the runner keeps serving', async () => {
  const runner = await startReady('nesting');
  const response = await post(runner, '['.repeat(DEPTH) + ']'.repeat(DEPTH), JSON_HEADERS['content-type']);
  assert.equal(response.status, 400);
  assert.equal(response.headers.get('x-baseten-error-code'), '700');
  const body = (await response.json()) as { error: string };
  assert.match(body.error, /^Invalid JSON payload: nesting too deep/);
  await assertStillServing(runner);
});

test('a msgpack body nested too deeply is a 400 that says so, and the runner keeps serving', async () => {
  const runner = await startReady('nesting');
  // 0x91 is a one-element array: DEPTH of them, then nil.
  const body = Buffer.concat([Buffer.alloc(DEPTH, 0x91), Buffer.from([0xc0])]);
  const response = await post(runner, body, 'application/octet-stream');
  assert.equal(response.status, 400);
  assert.match(((await response.json()) as { error: string }).error, /^Invalid msgpack payload: nesting too deep/);
  await assertStillServing(runner);
});

test("an output nested too deeply to encode is the model's 500 with the reason, and the runner keeps serving", async () => {
  const runner = await startReady('nesting');
  const response = await predict(runner, { depth: DEPTH });
  assert.equal(response.status, 500);
  assert.equal(response.headers.get('x-baseten-error-code'), '600');
  assert.match(
    ((await response.json()) as { error: string }).error,
    /^The model's output cannot be encoded as JSON: nesting too deep/,
  );
  await assertStillServing(runner);

  const packed = await post(runner, msgpackDepth(DEPTH), 'application/octet-stream');
  assert.equal(packed.status, 500);
  assert.match(
    ((await packed.json()) as { error: string }).error,
    /^The model's output cannot be encoded as msgpack: nesting too deep/,
  );
  await assertStillServing(runner);
});
