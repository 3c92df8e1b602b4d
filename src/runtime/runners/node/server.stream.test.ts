// Streams from the node runner: chunks as the model yields them, joined for a JSON client, pulled only
// as fast as the client reads, stopped when it leaves. Shared pieces: server.harness.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorOf, readChunk, start } from './server.harness.ts';

test('a streamed chunk arrives before the model yields the next one', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'stream');
  const res = await runner.predict({ mode: 'chunks', id: 's1' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
  const reader = res.body!.getReader();
  // The model yields its second chunk only after the request below opens the gate.
  assert.equal(await readChunk(reader), 'first\n');
  const opener = runner.predict({ id: 'opener', open: 's1' });
  assert.equal(await readChunk(reader), '{"second":true}\n');
  assert.equal((await reader.read()).done, true);
  assert.equal((await opener).status, 200);
});

test('Accept: application/json joins a stream into one JSON string, as Truss does', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'stream');
  const res = await runner.predict({ mode: 'short', id: 'g1' }, { accept: 'application/json' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.equal(await res.json(), 'ab{"c":1}\n');
});

test('the OpenAI SDK still gets a stream though it sends Accept: application/json', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'stream');
  const res = await runner.predict(
    { mode: 'short', id: 'g2' },
    { accept: 'application/json', 'user-agent': 'AsyncOpenAI/Python 1.55.0' },
  );
  assert.equal(res.headers.get('transfer-encoding'), 'chunked');
  assert.equal(await res.text(), 'ab{"c":1}\n');
});

test('a client abort fires ctx.signal and stops pulling from the stream', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'stream');
  const abort = new AbortController();
  const res = await runner.predict({ mode: 'ticks', id: 't1' }, {}, abort.signal);
  assert.equal(await readChunk(res.body!.getReader()), 'tick\n');
  abort.abort();
  await runner.line((l) => l.msg === 'aborted t1');
  await runner.line((l) => l.msg === 'closed t1'); // the generator's finally: the runner called return()
});

test('a stream is pulled only as fast as the client reads (backpressure)', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'stream');
  const abort = new AbortController();
  const res = await runner.predict({ mode: 'flood', id: 'f1' }, {}, abort.signal);
  await res.body!.getReader().read();
  abort.abort();
  const closed = await runner.line((l) => l.msg.startsWith('closed f1 after '));
  // Without waiting for 'drain' the never-waiting generator would be drained whole (1024 MiB).
  assert.ok(Number(closed.msg.split(' ').at(-1)) < 64, closed.msg);
});

test('an exception after the stream started cuts the connection', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'stream');
  const res = await runner.predict({ mode: 'broken', id: 'b1' });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  assert.equal(await readChunk(reader), 'partial\n');
  await assert.rejects(reader.read());
  await runner.line((l) => l.stream === 'stderr' && l.msg.includes('stream broke'));
});

test('a streaming predict with postprocess is a 412 ModelDefinitionError', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'pipeline');
  const res = await runner.predict({ x: 1, stream: true });
  assert.equal(res.status, 412);
  assert.match(await errorOf(res), /^ModelDefinitionError: /);
});
