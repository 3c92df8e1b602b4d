import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { HttpError } from '../index.ts';
import { chainlet, depends, type Input, model } from './chainlet.ts';
import { ChainletError } from './errors.ts';
import { runLocal } from './local.ts';
import { z } from 'zod';

const Classifier = model<{ text: string }, { label: string }>({ name: 'classifier' });

class Triage extends chainlet({
  input: z.object({ text: z.string() }),
  deps: { classify: depends(Classifier, { retries: 3 }) },
}) {
  async runRemote({ text }: Input<typeof Triage>) {
    const { label } = await this.deps.classify.runRemote({ text });
    return `${text}: ${label}`;
  }
}

/** A predict server on port 0 that answers with `answers` in turn (status, body), then the last one. */
async function serveModel(answers: [number, unknown][]): Promise<{ url: string; bodies: unknown[]; server: Server }> {
  const bodies: unknown[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      const [status, body] = answers[Math.min(bodies.length - 1, answers.length - 1)];
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/predict`, bodies, server };
}

test('a model dependency is served by a handler in runLocal, through JSON both ways', async () => {
  const seen: unknown[] = [];
  const classifier = (input: unknown) => {
    seen.push(input);
    return { label: 'greeting' };
  };
  assert.equal(await runLocal(Triage, { text: 'hi' }, { models: { classifier } }), 'hi: greeting');
  assert.deepEqual(seen, [{ text: 'hi' }]);
});

test('a model dependency is called at its URL; a 503 is retried, the body sent each time', async () => {
  const m = await serveModel([
    [503, { error: 'no replica', error_code: 'model_unavailable' }],
    [200, { label: 'ok' }],
  ]);
  try {
    assert.equal(await runLocal(Triage, { text: 'hi' }, { models: { classifier: m.url } }), 'hi: ok');
    assert.deepEqual(m.bodies, [{ text: 'hi' }, { text: 'hi' }]);
  } finally {
    m.server.close();
  }
});

test("a model's error is a ChainletError naming the model, with its status and message", async () => {
  const m = await serveModel([[422, { error: 'text too long', error_code: 'application_error' }]]);
  try {
    const err = await runLocal(Triage, { text: 'hi' }, { models: { classifier: m.url } }).catch((e) => e);
    assert.ok(err instanceof ChainletError);
    assert.equal(err.status, 422);
    assert.deepEqual(
      err.chain.map((f: { chainlet: string }) => f.chainlet),
      ['Triage', 'classifier'],
    );
    assert.equal(err.root.message, 'text too long');
    assert.equal(m.bodies.length, 1);
  } finally {
    m.server.close();
  }
});

test('a refused connection to a model is retried, then fails with the connection error', async () => {
  const m = await serveModel([[200, {}]]);
  await new Promise((resolve) => m.server.close(resolve)); // the port is free now: connections are refused
  let calls = 0;
  const err = await runLocal(Triage, { text: 'hi' }, { models: { classifier: m.url } }).catch((e) => e);
  assert.match(err.root.message, /fetch failed/);
  // a handler that answers 503 is retried like the URL, so a test can count the attempts
  const flaky = () => {
    calls++;
    throw new HttpError(503, 'busy');
  };
  await runLocal(Triage, { text: 'hi' }, { models: { classifier: flaky } }).catch(() => {});
  assert.equal(calls, 3);
});

test('runLocal refuses to start a chain whose models it was not given', async () => {
  await assert.rejects(runLocal(Triage, { text: 'hi' }), /model\(s\) classifier: pass them in options.models/);
});

test('model(…) needs a name or an id, and takes an environment or a deployment, not both', () => {
  assert.equal(model({ id: 'abcd1234' }).key, 'abcd1234');
  assert.equal(model({ name: 'm' }).environment, 'production');
  assert.equal(model({ name: 'm', deploymentId: 'q1w2e3r' }).environment, null);
  assert.throws(() => model({ name: '' }), /needs a model `name` or `id`/);
  assert.throws(() => model({ name: 'm', environment: 'e', deploymentId: 'd' }), /not both/);
});
