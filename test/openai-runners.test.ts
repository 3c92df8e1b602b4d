import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { NotFoundError } from 'openai';
import { call, example, fixture, startGirder } from './helpers.ts';
import { client, collect } from './openai.harness.ts';

const girder = await startGirder({ after });
const [ts, py] = await Promise.all([girder.deploy(fixture('chat-ts')), girder.deploy(fixture('chat-python'))]);
const openai = client(girder);
const hello = [{ role: 'user' as const, content: 'Hello' }];

for (const [model, prefix] of [
  ['chat-ts', 'ts'],
  ['chat-python', 'py'],
] as const) {
  test(`${model}: chat completions through /v1, plain and streamed, with usage`, async () => {
    const r = await openai.chat.completions.create({ model, messages: hello });
    assert.equal(r.choices[0].message.content, `${prefix}: Hello`);
    assert.equal(r.model, model);
    assert.equal(r.usage?.total_tokens, 4);
    const stream = await openai.chat.completions.create({
      model,
      messages: hello,
      stream: true,
      stream_options: { include_usage: true },
    });
    const { chunks, text } = await collect(stream);
    assert.equal(text, `${prefix}: Hello `);
    assert.equal(chunks.at(-1)?.usage?.total_tokens, 4);
    const c = await openai.completions.create({ model, prompt: 'one' });
    assert.equal(c.choices[0].text, `${prefix}: one`);
  });
}

test('{target}/sync/v1/chat/completions reaches the same method; predict still serves predict', async () => {
  for (const [pushed, prefix] of [
    [ts, 'ts'],
    [py, 'py'],
  ] as const) {
    const base = `${girder.url}/model-${pushed.model.id}/production`;
    const body = JSON.stringify({ model: 'x', messages: hello });
    const r = await call(`${base}/sync/v1/chat/completions`, { headers: girder.auth, body });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, `${prefix}: Hello`);
    const s = await call(`${base}/sync/v1/chat/completions`, {
      headers: girder.auth,
      body: JSON.stringify({ model: 'x', messages: hello, stream: true }),
    });
    assert.match(String(s.headers['content-type']), /^text\/event-stream/);
    assert.match(s.text, /data: \[DONE\]\n\n$/);
    const p = await call(`${base}/predict`, { headers: girder.auth, body: '{"a":1}' });
    assert.deepEqual(p.json, { predicted: { a: 1 } });
  }
});

test('a model without chatCompletions answers 404 on /v1', async () => {
  await girder.deploy(example('hello-ts'));
  await assert.rejects(openai.chat.completions.create({ model: 'hello-ts', messages: hello }), (err: unknown) => {
    assert.ok(err instanceof NotFoundError);
    assert.match(err.message, /no chatCompletions method/);
    return true;
  });
});
