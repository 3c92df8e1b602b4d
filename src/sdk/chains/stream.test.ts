import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpError } from '../index.ts';
import { chainlet, depends, type Input } from './chainlet.ts';
import { ChainletError } from './errors.ts';
import { runLocal } from './local.ts';
import { z } from 'zod';

/** Yields `n` words; waits for `gate` before the last, so a test can see the first ones arrive. */
let gate = Promise.withResolvers<void>();
let starts = 0;
class Words extends chainlet({ input: z.object({ n: z.int(), failAfter: z.int().optional() }) }) {
  async *runRemote({ n, failAfter }: Input<typeof Words>) {
    starts++;
    if (failAfter === 0) throw new HttpError(503, 'not yet');
    for (let i = 0; i < n; i++) {
      if (i === failAfter) throw new HttpError(503, `failed after ${i}`);
      if (i === n - 1) await gate.promise;
      yield `w${i} `;
    }
  }
}

class Relay extends chainlet({
  input: z.object({ n: z.int(), failAfter: z.int().optional() }),
  deps: { words: depends(Words, { retries: 2 }) },
}) {
  async *runRemote(input: Input<typeof Relay>) {
    for await (const chunk of await this.deps.words.runRemote(input)) yield chunk.toUpperCase();
  }
}

test('a stream crosses two chainlets chunk by chunk, the first chunks before the stream ends', async () => {
  gate = Promise.withResolvers<void>();
  const seen: string[] = [];
  for await (const chunk of await runLocal(Relay, { n: 3 })) {
    seen.push(chunk);
    if (seen.length === 2) gate.resolve(); // the last word waits for this: the first two came before the end
  }
  assert.deepEqual(seen, ['W0 ', 'W1 ', 'W2 ']);
});

test('a stream failing before its first chunk is retried, after it is not', async () => {
  starts = 0;
  const early = await runLocal(Relay, { n: 2, failAfter: 0 }).catch((e) => e);
  assert.ok(early instanceof ChainletError);
  assert.equal(starts, 2);

  starts = 0;
  const seen: string[] = [];
  const late = await (async () => {
    for await (const chunk of await runLocal(Relay, { n: 3, failAfter: 1 })) seen.push(chunk);
  })().catch((e) => e);
  assert.deepEqual(seen, ['W0 ']);
  assert.ok(late instanceof ChainletError);
  assert.equal(late.root.message, 'failed after 1');
  assert.deepEqual(
    late.chain.map((f) => f.chainlet),
    ['Relay', 'Words'],
  );
  assert.equal(starts, 1);
});

class Bytes extends chainlet({ input: z.object({ mix: z.boolean() }) }) {
  async *runRemote({ mix }: Input<typeof Bytes>) {
    yield new Uint8Array([1, 2]);
    yield mix ? 'text' : new Uint8Array([3]);
  }
}

test('a bytes stream arrives as bytes; mixing strings and bytes fails the stream', async () => {
  const chunks: Uint8Array[] = [];
  for await (const chunk of await runLocal(Bytes, { mix: false })) chunks.push(chunk as Uint8Array);
  assert.deepEqual(
    chunks.map((c) => [...c]),
    [[1, 2], [3]],
  );
  const err = await (async () => {
    for await (const _ of await runLocal(Bytes, { mix: true })) {
    }
  })().catch((e) => e);
  assert.match(err.message, /mixes strings and bytes/);
});
