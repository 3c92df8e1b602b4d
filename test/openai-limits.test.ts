import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { APIError, RateLimitError } from 'openai';
import { ok, runCli } from '../src/cli/run-cli.ts';
import { call } from './helpers.ts';
import { client, collect, girderWithStandIn } from './openai.harness.ts';

const { girder } = await girderWithStandIn({ after });
const hello = [{ role: 'user' as const, content: 'Hello there' }];

/** A new invoke key with these limits, made through the CLI as a user would. */
async function keyWith(...flags: string[]): Promise<{ key: string; prefix: string }> {
  const r = ok(await runCli(girder.url, girder.key, ['keys', 'create', '--type', 'WORKSPACE_INVOKE', ...flags]));
  const key = r.stdout.trim();
  return { key, prefix: key.split('.')[0] };
}

async function rateLimited(p: Promise<unknown>): Promise<RateLimitError> {
  const err = await p.then(
    () => assert.fail('the call succeeded'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RateLimitError, String(err));
  return err;
}

test('requests per minute: the answers count down in x-ratelimit-*, then 429 with Retry-After', async () => {
  const { key } = await keyWith('--rpm', '2');
  const openai = client(girder, key);
  const first = await openai.chat.completions.create({ model: 'llm-stand-in', messages: hello }).withResponse();
  assert.equal(first.response.headers.get('x-ratelimit-limit-requests'), '2');
  assert.equal(first.response.headers.get('x-ratelimit-remaining-requests'), '1');
  assert.match(String(first.response.headers.get('x-ratelimit-reset-requests')), /^\d+(\.\d+)?(ms|s)$/);
  const stream = await openai.chat.completions.create({ model: 'llm-stand-in', messages: hello, stream: true });
  assert.equal((await collect(stream)).text, 'echo: Hello there', 'a stream counts as one request');
  const e = await rateLimited(openai.chat.completions.create({ model: 'llm-stand-in', messages: hello }));
  assert.equal(e.code, 'rate_limit_exceeded');
  assert.equal(e.type, 'requests');
  assert.match(e.message, /Rate limit reached for requests per min \(RPM\): Limit 2/);
  const retryAfter = Number(e.headers?.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= 30, `Retry-After ${retryAfter}`);
  assert.ok(Number(e.headers?.get('retry-after-ms')) <= 30_000);
  assert.equal(e.headers?.get('x-ratelimit-remaining-requests'), '0');
});

test('tokens per minute count the usage of plain and streamed answers, then 429 says tokens', async () => {
  const { key } = await keyWith('--tpm', '10');
  const openai = client(girder, key);
  const plain = await openai.chat.completions.create({ model: 'llm-stand-in', messages: hello }).withResponse();
  assert.equal(
    plain.response.headers.get('x-ratelimit-remaining-tokens'),
    '10',
    'tokens count once the answer is known',
  );
  assert.equal(plain.data.usage?.total_tokens, 6);
  // 6 of 10 spent; a stream (whose usage Girder asks for) spends 6 more: the minute is overdrawn.
  const stream = await openai.chat.completions.create({ model: 'llm-stand-in', messages: hello, stream: true });
  await collect(stream);
  const e = await rateLimited(openai.chat.completions.create({ model: 'llm-stand-in', messages: hello }));
  assert.equal(e.type, 'tokens');
  assert.ok(Number(e.headers?.get('retry-after')) >= 1);
});

test('limits are set and removed later without a restart; keys list shows them', async () => {
  const { key, prefix } = await keyWith();
  const openai = client(girder, key);
  const before = await openai.chat.completions.create({ model: 'llm-stand-in', messages: hello }).withResponse();
  assert.equal(before.response.headers.get('x-ratelimit-limit-requests'), null, 'no limit, no headers');
  ok(await runCli(girder.url, girder.key, ['keys', 'limits', prefix, '--rpm', '1']));
  await openai.chat.completions.create({ model: 'llm-stand-in', messages: hello });
  await rateLimited(openai.chat.completions.create({ model: 'llm-stand-in', messages: hello }));
  const listed = ok(await runCli(girder.url, girder.key, ['keys', 'list']));
  assert.match(listed.stdout, new RegExp(`^${prefix}.*\\s1\\s+-\\s`, 'm'));
  ok(await runCli(girder.url, girder.key, ['keys', 'limits', prefix, '--rpm', 'none']));
  await openai.chat.completions.create({ model: 'llm-stand-in', messages: hello });
  const bad = await call(`${girder.url}/api/v1/api_keys/${prefix}`, {
    method: 'PATCH',
    headers: girder.auth,
    body: JSON.stringify({ rpm: 0 }),
  });
  assert.equal(bad.status, 400, bad.text);
  assert.match(bad.json.error, /rpm/);
});

test('an upstream error still counts the request; a refused one is not sent on', async () => {
  const { key } = await keyWith('--rpm', '1');
  const openai = client(girder, key);
  await openai.chat.completions
    .create({ model: 'llm-stand-in', messages: [] })
    .then(() => assert.fail('the stand-in refuses empty messages'))
    .catch((e: unknown) => assert.ok(e instanceof APIError && e.status === 400));
  await rateLimited(openai.chat.completions.create({ model: 'llm-stand-in', messages: hello }));
});
