import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { call } from './helpers.ts';
import { client, collect, girderWithStandIn } from './openai.harness.ts';
import { waitFor } from './wait.ts';

const { girder, standIn } = await girderWithStandIn({ after });
const openai = client(girder);
const hello = [{ role: 'user' as const, content: 'Hello' }];

/** The pid of the stand-in replica that answered a plain completion (its x-stand-in-replica header). */
async function replicaOf(session?: string): Promise<string> {
  const headers = session ? { 'x-session-affinity': session } : {};
  const { response } = await openai.chat.completions
    .create({ model: 'llm-stand-in', messages: hello }, { headers })
    .withResponse();
  return String(response.headers.get('x-stand-in-replica'));
}

test('x-session-affinity keeps a conversation on its replica; other requests take the least-loaded', async () => {
  const settings = `${girder.url}/api/v1/models/${standIn.model.id}/deployments/${standIn.deployment.id}/autoscaling_settings`;
  const patched = await call(settings, {
    method: 'PATCH',
    headers: girder.auth,
    body: JSON.stringify({ min_replica: 2, max_replica: 2 }),
  });
  assert.equal(patched.status, 200, patched.text);
  await waitFor(
    () => girder.g.supervisor.replicas(standIn.deployment.id).filter((r) => r.routable).length === 2,
    30_000,
    'two ready replicas',
  );
  // A slow stream keeps the first replica busy, so the conversation's first request goes to the other.
  const busy = openai.chat.completions.create({
    model: 'llm-stand-in',
    messages: hello,
    stream: true,
    // @ts-expect-error the stand-in's test hook
    stand_in: { words: 3, delay_ms: 1500 },
  });
  const slow = await busy;
  const it = slow[Symbol.asyncIterator]();
  await it.next();
  const home = await replicaOf('conversation-1');
  await collect({ [Symbol.asyncIterator]: () => it });
  // Both idle now: least-loaded picks the first replica, the conversation stays on its own.
  const free = await replicaOf();
  assert.notEqual(free, home, 'without affinity, an idle pair answers from the first replica');
  for (let i = 0; i < 5; i++)
    assert.equal(await replicaOf('conversation-1'), home, `request ${i + 2} of the conversation`);
  assert.equal(await replicaOf('conversation-2'), free, 'a new conversation starts on the least-loaded replica');
});
