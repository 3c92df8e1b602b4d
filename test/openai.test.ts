import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { call } from './helpers.ts';
import { client, collect, girderWithStandIn, release, standInCopy, standInStats } from './openai.harness.ts';
import { waitFor } from './wait.ts';

const DOMAIN = 'girder.test';
const { girder, standIn } = await girderWithStandIn({ after }, { domain: DOMAIN });
const openai = client(girder);
const hello = [{ role: 'user' as const, content: 'Hello there' }];

test('a plain chat completion through the official SDK: the answer, its usage, the name asked for', async () => {
  const r = await openai.chat.completions.create({ model: 'llm-stand-in', messages: hello });
  assert.equal(r.choices[0].message.content, 'echo: Hello there');
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.equal(r.model, 'llm-stand-in');
  assert.deepEqual(r.usage, { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 });
  const viaAlias = await openai.chat.completions.create({ model: 'stand-in', messages: hello });
  assert.equal(viaAlias.model, 'stand-in', 'an alias is answered under the alias');
});

test('the body reaches the replica byte for byte: no re-serialization without a rename', async () => {
  const body =
    '{ "messages" : [{"role":"user","content":[{"type":"text","text":"caf\\u00e9 \\"q\\""},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}],\n' +
    '  "model":"llm-stand-in", "temperature": 0.50, "top_k": 40, "min_p": 0.1, "repetition_penalty": 1.0,\n' +
    '  "chat_template_args": {"enable_thinking": false}, "reasoning_effort": "low", "parallel_tool_calls": false }';
  const r = await call(`${girder.url}/v1/chat/completions`, {
    headers: { ...girder.auth, 'content-type': 'application/json' },
    body,
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.choices[0].message.content, 'echo: café "q" [image_url]');
  assert.match(String(r.headers['x-girder-overhead-ms']), /^\d+\.\d{3}$/);
  assert.equal(r.headers['x-request-id'], r.headers['x-baseten-request-id']);
  assert.equal((await standInStats(girder, standIn.model.id)).last?.body, body);
});

test('a stream arrives chunk by chunk while the upstream is still writing it', async () => {
  const stream = await openai.chat.completions.create({
    model: 'llm-stand-in',
    messages: hello,
    stream: true,
    // @ts-expect-error the stand-in's test hook, passed through like any extension field
    stand_in: { hold: 'first-chunk' },
  });
  const it = stream[Symbol.asyncIterator]();
  const first = await it.next();
  assert.equal(first.value?.choices[0].delta.role, 'assistant');
  const stats = await standInStats(girder, standIn.model.id);
  assert.equal(stats.open, 1, 'the first chunk came while the upstream stream was still open');
  assert.match(stats.last!.body, /^\{"stream_options":\{"include_usage":true\},/, 'Girder asked for usage');
  await release(girder, standIn.model.id, 'first-chunk');
  const rest = await collect({ [Symbol.asyncIterator]: () => it });
  assert.equal(rest.text, 'echo: Hello there');
  assert.ok(
    rest.chunks.every((c) => c.choices.length > 0),
    'the usage-only chunk Girder asked for is not passed on',
  );
});

test('a stream whose client asked for usage ends with the usage chunk', async () => {
  const stream = await openai.chat.completions.create({
    model: 'stand-in',
    messages: hello,
    stream: true,
    stream_options: { include_usage: true },
  });
  const { chunks, text } = await collect(stream);
  assert.equal(text, 'echo: Hello there');
  assert.ok(chunks.every((c) => c.model === 'stand-in'));
  assert.deepEqual(chunks.at(-1)?.usage, { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 });
});

test('tool calls, plain and streamed, when tools are given', async () => {
  const tools = [
    {
      type: 'function' as const,
      function: {
        name: 'get_weather',
        parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } } },
      },
    },
  ];
  const messages = [{ role: 'user' as const, content: 'Paris' }];
  const r = await openai.chat.completions.create({ model: 'llm-stand-in', messages, tools, tool_choice: 'auto' });
  const callMade = r.choices[0].message.tool_calls?.[0];
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  assert.equal(callMade?.type === 'function' && callMade.function.name, 'get_weather');
  assert.deepEqual(callMade?.type === 'function' && JSON.parse(callMade.function.arguments), {
    city: 'Paris',
    days: 42,
  });
  const stream = await openai.chat.completions.create({ model: 'llm-stand-in', messages, tools, stream: true });
  let args = '';
  for await (const c of stream) args += c.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '';
  assert.deepEqual(JSON.parse(args), { city: 'Paris', days: 42 });
});

test('response_format with a json_schema reaches the upstream, which answers JSON', async () => {
  const r = await openai.chat.completions.create({
    model: 'llm-stand-in',
    messages: hello,
    response_format: {
      type: 'json_schema',
      json_schema: { name: 'reply', schema: { type: 'object', properties: { answer: { type: 'string' } } } },
    },
  });
  assert.deepEqual(JSON.parse(r.choices[0].message.content!), { answer: 'echo: Hello there' });
  const seen = JSON.parse((await standInStats(girder, standIn.model.id)).last!.body);
  assert.equal(seen.response_format.json_schema.name, 'reply');
});

test('other /v1 paths with a model field go to the same path on the replica', async () => {
  const e = await openai.embeddings.create({ model: 'llm-stand-in', input: ['a b', 'c'] });
  assert.equal(e.data.length, 2);
  assert.equal(e.model, 'llm-stand-in');
  assert.deepEqual(e.usage, { prompt_tokens: 3, total_tokens: 3 });
  const c = await openai.completions.create({ model: 'stand-in', prompt: 'one two' });
  assert.equal(c.choices[0].text, 'echo: one two');
  const rerank = await call(`${girder.url}/v1/rerank`, {
    headers: girder.auth,
    body: JSON.stringify({ model: 'llm-stand-in', query: 'q', texts: ['a'] }),
  });
  assert.equal(rerank.status, 404, 'an upstream without the route answers for itself');
  assert.equal(rerank.json.error.message, 'no route POST /v1/rerank');
});

test('GET /v1/models lists names and aliases; retrieve reads one', async () => {
  const names = [];
  for await (const m of openai.models.list()) names.push(m.id);
  assert.ok(names.includes('llm-stand-in') && names.includes('stand-in'), names.join(','));
  const one = await openai.models.retrieve('stand-in');
  assert.equal(one.object, 'model');
  assert.equal((one as unknown as { name: string }).name, 'llm-stand-in');
});

test('an org/Model name and a served_model_name: the upstream gets its name, the client sees its own', async () => {
  const dir = standInCopy({ after }, 'acme/Model-7B', {
    docker_server: { start_command: 'node server.mjs --port $PORT --served-model-name upstream-7b' },
    model_metadata: { openai: { aliases: ['seven'], served_model_name: 'upstream-7b', context_length: 8192 } },
  });
  const pushed = await girder.deploy(dir);
  for (const model of ['acme/Model-7B', 'seven']) {
    const r = await openai.chat.completions.create({ model, messages: hello });
    assert.equal(r.model, model);
    const stream = await openai.chat.completions.create({ model, messages: hello, stream: true });
    const { chunks, text } = await collect(stream);
    assert.equal(text, 'echo: Hello there');
    assert.ok(
      chunks.every((c) => c.model === model),
      'every chunk says the name the client asked for',
    );
  }
  assert.equal(JSON.parse((await standInStats(girder, pushed.model.id)).last!.body).model, 'upstream-7b');
  const listed = await openai.models.retrieve('acme/Model-7B');
  assert.equal((listed as unknown as { context_length: number }).context_length, 8192);
});

test('the inference.{domain} host serves the same API', async () => {
  const r = await call(`${girder.url}/v1/chat/completions`, {
    headers: { ...girder.auth, host: `inference.${DOMAIN}` },
    body: JSON.stringify({ model: 'stand-in', messages: hello }),
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.model, 'stand-in');
});

test('a client that leaves mid-stream aborts the upstream request', async () => {
  const before = (await standInStats(girder, standIn.model.id)).aborted;
  const ac = new AbortController();
  const stream = await openai.chat.completions.create(
    // @ts-expect-error the stand-in's test hook
    { model: 'llm-stand-in', messages: hello, stream: true, stand_in: { hold: 'never' } },
    { signal: ac.signal },
  );
  const it = stream[Symbol.asyncIterator]();
  await it.next();
  ac.abort();
  await waitFor(
    async () => (await standInStats(girder, standIn.model.id)).aborted === before + 1,
    5000,
    'the upstream to see the abort',
  );
  assert.equal((await standInStats(girder, standIn.model.id)).open, 0);
});

test('a Python client (requests) gets the same answers, streamed line by line', async () => {
  const script = `
import json, os, requests
url = os.environ["GIRDER_URL"] + "/v1/chat/completions"
headers = {"Authorization": "Bearer " + os.environ["GIRDER_API_KEY"]}
body = {"model": "stand-in", "messages": [{"role": "user", "content": "Hello there"}]}
print(requests.post(url, headers=headers, json=body).json()["choices"][0]["message"]["content"])
text = ""
with requests.post(url, headers=headers, json={**body, "stream": True}, stream=True) as r:
    for line in r.iter_lines():
        if line.startswith(b"data: {"):
            text += json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
print(text)
`;
  const { stdout } = await promisify(execFile)('python3', ['-c', script], {
    env: { ...process.env, GIRDER_URL: girder.url, GIRDER_API_KEY: girder.key },
  });
  assert.equal(stdout, 'echo: Hello there\necho: Hello there\n');
});

test('a body over 64 KiB (an image) takes node:http, and arrives byte for byte too', async () => {
  const image = `data:image/png;base64,${Buffer.alloc(96 * 1024, 7).toString('base64')}`;
  const body = JSON.stringify({
    model: 'stand-in',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'look' },
          { type: 'image_url', image_url: { url: image } },
        ],
      },
    ],
  });
  const r = await call(`${girder.url}/v1/chat/completions`, { headers: girder.auth, body });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.choices[0].message.content, 'echo: look [image_url]');
  assert.equal((await standInStats(girder, standIn.model.id)).last?.body, body);
});
