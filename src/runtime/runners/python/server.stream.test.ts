// Streams from the python runner: generators (sync and async) chunk by chunk, joined for a JSON
// client, closed when the client leaves. Shared pieces: server.harness.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '../../../../test/wait.ts';
import { JSON_HEADERS, predict, readUntil, startReady, tempDir, WAIT_MS } from './server.harness.ts';

test('Accept: application/json joins a stream into one JSON string, as Truss does', async () => {
  const runner = await startReady('streaming');
  const response = await predict(runner, { mode: 'short' }, { accept: 'application/json' });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/json');
  assert.equal(await response.json(), 'abc');
});

test('the OpenAI SDK still gets a stream though it sends Accept: application/json', async () => {
  const runner = await startReady('streaming');
  const response = await predict(
    runner,
    { mode: 'short' },
    { accept: 'application/json', 'user-agent': 'OpenAI/Python 1.55.0' },
  );
  assert.equal(response.headers.get('transfer-encoding'), 'chunked');
  assert.equal(await response.text(), 'abc');
});

test('a generator streams chunk by chunk', async () => {
  const runner = await startReady('streaming');
  const gate = path.join(await tempDir(), 'gate');
  const response = await predict(runner, { mode: 'gated', gate });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/octet-stream');
  assert.equal(response.headers.get('transfer-encoding'), 'chunked');
  const reader = response.body!.getReader();

  // The generator cannot produce chunk 2 before the gate exists, and the gate is only created
  // after chunk 1 arrived: chunk 1 was flushed on its own.
  const first = await readUntil(reader, '\n');
  assert.equal(first, 'chunk-1\n');
  await writeFile(gate, '');
  let rest = '';
  const decoder = new TextDecoder();
  for (let part = await reader.read(); !part.done; part = await reader.read()) {
    rest += decoder.decode(part.value, { stream: true });
  }
  assert.equal(rest, 'chunk-2\n{"done":true}\n');
});

test('a client that goes away closes the generator', async () => {
  const runner = await startReady('streaming');
  const marker = path.join(await tempDir(), 'closed');
  const abort = new AbortController();
  const response = await fetch(`${runner.url}/v1/models/model:predict`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify({ mode: 'endless', closed_marker: marker }),
    signal: abort.signal,
  });
  await readUntil(response.body!.getReader(), 'first\n');
  abort.abort();
  await waitFor(() => existsSync(marker), WAIT_MS, 'the generator to be closed');
  assert.equal(await readFile(marker, 'utf8'), 'closed');
  // The replica keeps serving.
  const next = await predict(runner, { mode: 'gated', gate: marker });
  assert.equal(await next.text(), 'chunk-1\nchunk-2\n{"done":true}\n');
});

test('a streaming predict with postprocess is a 412 ModelDefinitionError', async () => {
  const runner = await startReady('stream-with-postprocess');
  const response = await predict(runner, {});
  assert.equal(response.status, 412);
  const body = (await response.json()) as { error: string };
  assert.match(body.error, /^ModelDefinitionError: If the predict function returns a generator/);
});

test('an async generator streams', async () => {
  const runner = await startReady('async-model');
  const response = await predict(runner, { name: 'stream' });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('transfer-encoding'), 'chunked');
  assert.equal(await response.text(), '3\n2\n1\n');
});
