import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChainletError, runLocal } from 'girder/chains';
import { HelloAll } from '../examples/hello-chain/chain.ts';

test('the Hello chain greets every name, one a line, in order', async () => {
  assert.equal(
    await runLocal(HelloAll, { names: ['Marius', 'Sid', 'Bola'] }),
    'Hello, Marius!\nHello, Sid!\nHello, Bola!',
  );
  assert.equal(await runLocal(HelloAll, { names: [] }), '');
});

test('the Hello chain refuses a name that is not a string, naming the field', async () => {
  const err = await runLocal(HelloAll, { names: ['Ada', 7] } as never).catch((e) => e);
  assert.ok(err instanceof ChainletError);
  assert.equal(err.status, 400);
  assert.match(err.message, /`names\.1`: .*expected string/);
});

test('an empty name fails in SayHello, and the error says HelloAll called it', async () => {
  const err = await runLocal(HelloAll, { names: ['Ada', ''] }).catch((e) => e);
  assert.ok(err instanceof ChainletError);
  assert.deepEqual(
    err.chain.map((f) => f.chainlet),
    ['HelloAll', 'SayHello'],
  );
  assert.match(err.root.message, /`name`: Too small/);
});
