import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { HttpError } from '../index.ts';
import { chainlet, depends, type Input } from './chainlet.ts';
import { ChainletError, ChainletTimeoutError } from './errors.ts';
import { runLocal } from './local.ts';
import { z } from 'zod';

class Echo extends chainlet({ input: z.object({ text: z.string(), times: z.int().default(1) }) }) {
  async runRemote({ text, times }: Input<typeof Echo>) {
    return { echoed: text.repeat(times) };
  }
}

test('runLocal answers with the entrypoint output, keys left out taking their defaults', async () => {
  assert.deepEqual(await runLocal(Echo, { text: 'ab' }), { echoed: 'ab' });
  assert.deepEqual(await runLocal(Echo, { text: 'ab', times: 2 }), { echoed: 'abab' });
});

test('an input the schema rejects is a 400 ChainletError naming the field', async () => {
  const err = await runLocal(Echo, { text: 7 } as never).catch((e) => e);
  assert.ok(err instanceof ChainletError);
  assert.equal(err.status, 400);
  assert.equal(err.root.errorClass, 'InputValidationError');
  assert.match(err.root.message, /`text`: .*expected string/);
});

test('an input that is not JSON fails before anything runs', async () => {
  await assert.rejects(runLocal(Echo, { text: 'a', times: 10n } as never), /`\$\.times` is a bigint/);
});

class Returns extends chainlet({ input: z.object({ what: z.enum(['map', 'nan', 'date', 'nothing']) }) }) {
  async runRemote({ what }: Input<typeof Returns>) {
    if (what === 'map') return { m: new Map([['a', 1]]) };
    if (what === 'nan') return [1, Number.NaN];
    if (what === 'date') return { at: new Date(0) };
    return undefined;
  }
}

test('an output that is not JSON fails in the chainlet that returned it; a Date becomes its string', async () => {
  const err = await runLocal(Returns, { what: 'map' }).catch((e) => e);
  assert.ok(err instanceof ChainletError);
  assert.match(err.message, /`\$\.m` is a Map, not a plain object/);
  await assert.rejects(runLocal(Returns, { what: 'nan' }), /`\$\[1\]` is NaN/);
  assert.deepEqual(await runLocal(Returns, { what: 'date' }), { at: '1970-01-01T00:00:00.000Z' });
  assert.equal(await runLocal(Returns, { what: 'nothing' }), null);
});

class Inner extends chainlet({ input: z.object({ n: z.number() }) }) {
  async runRemote({ n }: Input<typeof Inner>) {
    if (n < 0) throw new RangeError(`negative: ${n}`);
    if (n === 0) throw new HttpError(422, 'zero is not allowed');
    return n * 2;
  }
}

class Middle extends chainlet({ input: z.object({ n: z.number() }), deps: { inner: depends(Inner) } }) {
  async runRemote({ n }: Input<typeof Middle>) {
    return (await this.deps.inner.runRemote({ n })) + 1;
  }
}

class Outer extends chainlet({ input: z.object({ n: z.number() }), deps: { middle: depends(Middle) } }) {
  async runRemote({ n }: Input<typeof Outer>) {
    return this.deps.middle.runRemote({ n });
  }
}

test('results cross every hop: Outer → Middle → Inner', async () => {
  assert.equal(await runLocal(Outer, { n: 20 }), 41);
});

test('an error keeps the chain of calls, each chainlet with its error class and message', async () => {
  const err = await runLocal(Outer, { n: -1 }).catch((e) => e);
  assert.ok(err instanceof ChainletError);
  assert.equal(err.status, 500);
  assert.deepEqual(
    err.chain.map((f) => [f.chainlet, f.errorClass]),
    [
      ['Outer', 'ChainletError'],
      ['Middle', 'ChainletError'],
      ['Inner', 'RangeError'],
    ],
  );
  assert.equal(err.root.message, 'negative: -1');
  assert.match(err.root.stack[0].filename, /local\.test\.ts$/);
});

test('an HttpError keeps its status up the chain', async () => {
  const err = await runLocal(Outer, { n: 0 }).catch((e) => e);
  assert.equal(err.status, 422);
  assert.equal(err.root.errorClass, 'HttpError');
});

class CallsWrong extends chainlet({ input: z.object({}), deps: { inner: depends(Inner) } }) {
  async runRemote() {
    return this.deps.inner.runRemote({ n: 'one' } as never);
  }
}

test('a dependency that rejects its input fails its caller with 500, not 400', async () => {
  const err = await runLocal(CallsWrong, {}).catch((e) => e);
  assert.equal(err.status, 500);
  assert.deepEqual(
    err.chain.map((f: { errorClass: string }) => f.errorClass),
    ['ChainletError', 'InputValidationError'],
  );
  assert.match(err.root.message, /`n`/);
});

let flakyCalls = 0;
class Flaky extends chainlet({ input: z.object({ status: z.int() }) }) {
  async runRemote({ status }: Input<typeof Flaky>) {
    flakyCalls++;
    if (flakyCalls < 3) throw new HttpError(status, `attempt ${flakyCalls} failed`);
    return 'ok';
  }
}

class RetriesFlaky extends chainlet({
  input: z.object({ status: z.int() }),
  deps: { flaky: depends(Flaky, { retries: 3 }) },
}) {
  async runRemote(input: Input<typeof RetriesFlaky>) {
    return this.deps.flaky.runRemote(input);
  }
}

test('a 503 from a dependency is retried, up to `retries` attempts in all', async () => {
  flakyCalls = 0;
  assert.equal(await runLocal(RetriesFlaky, { status: 503 }), 'ok');
  assert.equal(flakyCalls, 3);
});

test('a 500 from a dependency is not retried', async () => {
  flakyCalls = 0;
  const err = await runLocal(RetriesFlaky, { status: 500 }).catch((e) => e);
  assert.equal(err.root.message, 'attempt 1 failed');
  assert.equal(flakyCalls, 1);
});

let stuckCalls = 0;
class Stuck extends chainlet({ input: z.object({}) }) {
  async runRemote() {
    stuckCalls++;
    await new Promise((resolve) => setTimeout(resolve, 300));
    return 'late';
  }
}

class CallsStuck extends chainlet({
  input: z.object({}),
  deps: { stuck: depends(Stuck, { timeoutSec: 0.05, retries: 3 }) },
}) {
  async runRemote() {
    return this.deps.stuck.runRemote({});
  }
}

test('a dependency timeout names the chainlet and the limit, and is not retried', async () => {
  stuckCalls = 0;
  const err = await runLocal(CallsStuck, {}).catch((e) => e);
  assert.ok(err instanceof ChainletError);
  assert.equal(err.root.errorClass, 'TimeoutError');
  assert.equal(err.root.message, 'Timeout calling chainlet `Stuck` (0.05 seconds limit).');
  assert.equal(stuckCalls, 1);
  assert.ok(new ChainletTimeoutError('Stuck', 0.05) instanceof Error);
});

let inFlight = 0;
let mostInFlight = 0;
class Slow extends chainlet({ input: z.object({ i: z.int() }) }) {
  async runRemote({ i }: Input<typeof Slow>) {
    mostInFlight = Math.max(mostInFlight, ++inFlight);
    await new Promise((resolve) => setImmediate(resolve));
    inFlight--;
    return i;
  }
}

class Fans extends chainlet({
  input: z.object({ n: z.int() }),
  deps: { slow: depends(Slow, { concurrencyLimit: 2 }) },
}) {
  async runRemote({ n }: Input<typeof Fans>) {
    return Promise.all(Array.from({ length: n }, (_, i) => this.deps.slow.runRemote({ i })));
  }
}

test('calls beyond `concurrencyLimit` wait for a free slot', async () => {
  mostInFlight = 0;
  assert.deepEqual(await runLocal(Fans, { n: 6 }), [0, 1, 2, 3, 4, 5]);
  assert.equal(mostInFlight, 2);
});

class Reads extends chainlet({
  input: z.object({}),
  settings: { secrets: ['token'], envVariables: { MODE: 'test' } },
}) {
  loads = 0;
  async load() {
    this.loads++;
  }
  async runRemote() {
    const { secrets, environment, dataDir, env, chainletName } = this.context;
    return { secrets, environment, dataDirExists: existsSync(dataDir), env, chainletName, loads: this.loads };
  }
}

test('each chainlet sees its declared secrets only, the environment, a data dir and its env variables', async () => {
  const out = await runLocal(Reads, {}, { secrets: { token: 't0k', other: 'x' }, environment: 'staging' });
  assert.deepEqual(out, {
    secrets: { token: 't0k' },
    environment: { name: 'staging' },
    dataDirExists: true,
    env: { MODE: 'test' },
    chainletName: 'Reads',
    loads: 1,
  });
});
