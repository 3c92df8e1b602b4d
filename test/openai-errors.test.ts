import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import OpenAI, { APIError } from 'openai';
import { call, modelCopy } from './helpers.ts';
import { client, girderWithStandIn, STAND_IN, standInCopy } from './openai.harness.ts';

// A small body limit makes 413 cheap to reach.
const { girder, standIn } = await girderWithStandIn({ after }, { maxBodyBytes: 4096 });
const openai = client(girder);
const hello = [{ role: 'user' as const, content: 'Hello' }];

/** The error an SDK call throws, asserted to be an APIError of this class and status. */
async function sdkError(p: Promise<unknown>, cls: new (...args: any[]) => APIError, status: number): Promise<APIError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof cls, `${(err as Error).constructor.name}: ${(err as Error).message}`);
    assert.equal(err.status, status);
    assert.match(String(err.requestID), /^[0-9a-f]{32}$/, 'x-request-id names the request');
    return err;
  }
  assert.fail('the call succeeded');
}

test('an unknown model is 404 model_not_found, naming the param', async () => {
  const e = await sdkError(
    openai.chat.completions.create({ model: 'no-such-model', messages: hello }),
    OpenAI.NotFoundError,
    404,
  );
  assert.equal(e.code, 'model_not_found');
  assert.match(String(e.headers?.get('x-girder-overhead-ms')), /^\d+\.\d{3}$/, "Girder's own refusals are timed too");
  assert.equal(e.param, 'model');
  assert.equal(e.type, 'not_found_error');
  assert.match(e.message, /^404 The model `no-such-model` does not exist\./);
});

test('a wrong key is 401 invalid_api_key, and a missing one too, in OpenAI shape', async () => {
  const e = await sdkError(
    client(girder, 'abcdefgh.wrong').chat.completions.create({ model: 'llm-stand-in', messages: hello }),
    OpenAI.AuthenticationError,
    401,
  );
  assert.equal(e.code, 'invalid_api_key');
  const bare = await call(`${girder.url}/v1/chat/completions`, { body: '{"model":"llm-stand-in"}' });
  assert.equal(bare.status, 401);
  assert.equal(bare.json.error.code, 'invalid_api_key');
  const list = await call(`${girder.url}/v1/models`, { method: 'GET' });
  assert.equal(list.status, 401);
});

test('a key scoped to another model gets 403 here, and /v1/models lists only what it may call', async () => {
  const other = await girder.deploy(standInCopy({ after }, 'scoped-llm'));
  const created = await call(`${girder.url}/api/v1/api_keys`, {
    headers: girder.auth,
    body: JSON.stringify({ type: 'WORKSPACE_INVOKE', model_ids: [other.model.id] }),
  });
  const scoped = client(girder, created.json.api_key);
  const e = await sdkError(
    scoped.chat.completions.create({ model: 'llm-stand-in', messages: hello }),
    OpenAI.PermissionDeniedError,
    403,
  );
  assert.equal(e.code, 'model_not_allowed');
  const own = await scoped.chat.completions.create({ model: 'scoped-llm', messages: hello });
  assert.equal(own.choices[0].message.content, 'echo: Hello');
  const ids = [];
  for await (const m of scoped.models.list()) ids.push(m.id);
  assert.deepEqual(ids, ['scoped-llm']);
});

test("an upstream's own error passes through with its status and body", async () => {
  const e = await sdkError(
    openai.chat.completions.create({
      model: 'llm-stand-in',
      messages: hello,
      // @ts-expect-error the stand-in's test hook
      stand_in: { error: { status: 422, message: 'the upstream refuses' } },
    }),
    OpenAI.UnprocessableEntityError,
    422,
  );
  assert.deepEqual(e.error, { message: 'the upstream refuses', type: 'BadRequestError', param: null, code: 422 });
  const v = await sdkError(
    openai.chat.completions.create({ model: 'llm-stand-in', messages: [] }),
    OpenAI.BadRequestError,
    400,
  );
  assert.equal(v.param, 'messages');
});

test('malformed JSON, a missing model and a body over the limit are 400, 400 and 413 in OpenAI shape', async () => {
  const post = (body: string) => call(`${girder.url}/v1/chat/completions`, { headers: girder.auth, body });
  const bad = await post('{"model": "llm-stand-in",');
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.type, 'invalid_request_error');
  const none = await post('{"messages": []}');
  assert.equal(none.status, 400);
  assert.equal(none.json.error.param, 'model');
  const big = await post(
    JSON.stringify({ model: 'llm-stand-in', messages: [{ role: 'user', content: 'x'.repeat(5000) }] }),
  );
  assert.equal(big.status, 413);
  assert.equal(big.json.error.code, 'payload_too_large');
  const get = await call(`${girder.url}/v1/chat/completions`, { method: 'GET', headers: girder.auth });
  assert.equal(get.status, 404);
  assert.match(get.json.error.message, /Unknown request URL: GET \/v1\/chat\/completions/);
});

test('an upstream that cannot start is 503; a deactivated model is 404', async () => {
  const broken = await girder.push(
    standInCopy({ after }, 'broken-llm', { docker_server: { start_command: 'exit 3' } }),
  );
  const e = await sdkError(
    openai.chat.completions.create({ model: 'broken-llm', messages: hello }),
    OpenAI.InternalServerError,
    503,
  );
  assert.equal(e.type, 'service_unavailable');
  assert.equal(e.code, 'model_unavailable');
  const off = await girder.deploy(standInCopy({ after }, 'off-llm'));
  const r = await call(`${girder.url}/api/v1/models/${off.model.id}/deployments/${off.deployment.id}/deactivate`, {
    headers: girder.auth,
  });
  assert.equal(r.status, 200, r.text);
  const gone = await sdkError(
    openai.chat.completions.create({ model: 'off-llm', messages: hello }),
    OpenAI.NotFoundError,
    404,
  );
  assert.match(gone.message, /deactivated/);
  void broken;
});

test('a stream whose upstream dies midway ends with an error the SDK raises', async () => {
  const stream = await openai.chat.completions.create({
    model: 'llm-stand-in',
    messages: hello,
    stream: true,
    // @ts-expect-error the stand-in's test hook
    stand_in: { cut: true },
  });
  const seen: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const c of stream) seen.push(c.choices[0]?.delta.role ?? '');
    })(),
    (err: APIError) => {
      assert.ok(err instanceof APIError);
      assert.equal(err.code, 'model_unavailable');
      return true;
    },
  );
  assert.deepEqual(seen, ['assistant'], 'the chunk sent before the failure arrived');
});

test('a push whose alias is already taken is refused', async () => {
  const dir = modelCopy({ after }, STAND_IN, { model_name: 'alias-thief' });
  await assert.rejects(girder.push(dir), /alias ..stand-in.. is already an alias of model llm-stand-in/);
  const named = modelCopy({ after }, STAND_IN, {
    model_name: 'alias-thief-2',
    model_metadata: { openai: { aliases: ['llm-stand-in'] } },
  });
  await assert.rejects(girder.push(named), /already the name of model llm-stand-in/);
  const typo = modelCopy({ after }, STAND_IN, { model_name: 'typo', model_metadata: { openai: { alias: ['x'] } } });
  await assert.rejects(girder.push(typo), /model_metadata\.openai\.alias: unknown key/);
  void standIn;
});
