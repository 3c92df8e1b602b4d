import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ok, runCli } from '../src/cli/run-cli.ts';
import { call, startGirder } from './helpers.ts';
import { client, collect, STAND_IN } from './openai.harness.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'girder-usage-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));
const hello = [{ role: 'user' as const, content: 'Hello there' }];

test('usage per key and model counts plain and streamed answers, and survives a restart', async (t) => {
  const first = await startGirder(t, { dataDir, apiKey: 'usage-admin-key-0123456789' });
  const standIn = await first.deploy(STAND_IN);
  const created = await call(`${first.url}/api/v1/api_keys`, {
    headers: first.auth,
    body: JSON.stringify({ type: 'WORKSPACE_INVOKE', name: 'metered' }),
  });
  const key: string = created.json.api_key;
  const prefix = key.split('.')[0];
  const openai = client(first, key);
  await openai.chat.completions.create({ model: 'llm-stand-in', messages: hello });
  await collect(await openai.chat.completions.create({ model: 'stand-in', messages: hello, stream: true }));
  await collect(
    await openai.chat.completions.create({
      model: 'llm-stand-in',
      messages: hello,
      stream: true,
      stream_options: { include_usage: true },
    }),
  );
  await openai.embeddings.create({ model: 'llm-stand-in', input: ['a b', 'c'] });
  await openai.chat.completions.create({ model: 'llm-stand-in', messages: [] }).catch(() => undefined);

  const expected = { requests: 5, prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 };
  const r = await call(`${first.url}/api/v1/usage?key=${prefix}`, { method: 'GET', headers: first.auth });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.usage.length, 1, 'one hour, one key, one model (aliases count as their model)');
  const [row] = r.json.usage;
  assert.deepEqual(
    { ...row, hour: undefined },
    {
      hour: undefined,
      key_prefix: prefix,
      key_name: 'metered',
      model_id: standIn.model.id,
      model_name: 'llm-stand-in',
      ...expected,
    },
  );
  assert.match(row.hour, /^\d{4}-\d\d-\d\dT\d\d:00:00\.000Z$/);
  assert.deepEqual(r.json.totals, expected);
  const byModel = await call(`${first.url}/api/v1/usage?model=llm-stand-in&since=${encodeURIComponent(row.hour)}`, {
    method: 'GET',
    headers: first.auth,
  });
  assert.deepEqual(byModel.json.totals, expected);
  const invokeKey = await call(`${first.url}/api/v1/usage`, {
    method: 'GET',
    headers: { authorization: `Bearer ${key}` },
  });
  assert.equal(invokeKey.status, 403, 'usage is for managers');

  // Counted after the last read: only the flush at close writes it.
  await openai.chat.completions.create({ model: 'llm-stand-in', messages: hello });
  await first.g.close();
  const second = await startGirder(t, { dataDir, apiKey: 'usage-admin-key-0123456789' });
  const cli = ok(await runCli(second.url, second.key, ['usage', '--key', prefix, '--since', '2h']));
  assert.match(cli.stdout, /^HOUR\s+KEY\s+MODEL\s+REQUESTS\s+PROMPT\s+COMPLETION\s+TOTAL$/m);
  assert.match(cli.stdout, new RegExp(`\\s${prefix} \\(metered\\)\\s+llm-stand-in\\s+6\\s+15\\s+12\\s+27$`, 'm'));
  assert.match(cli.stdout, /^total\s+-\s+-\s+6\s+15\s+12\s+27$/m);
  const bad = await call(`${second.url}/api/v1/usage?since=yesterday`, { method: 'GET', headers: second.auth });
  assert.equal(bad.status, 400);
});
