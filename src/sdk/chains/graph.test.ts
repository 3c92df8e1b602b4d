import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chainlet, depends, model } from './chainlet.ts';
import { chainGraph, findEntrypoint } from './graph.ts';
import { z } from 'zod';

const input = z.object({});
class Leaf extends chainlet({ input }) {
  runRemote() {
    return 1;
  }
}
class Entry extends chainlet({
  input,
  entrypoint: true,
  deps: { a: depends(Leaf), b: depends(Leaf), m: depends(model({ name: 'whisper' })) },
}) {
  runRemote() {
    return 2;
  }
}

test('the graph holds each chainlet once, the entrypoint first, and the models it calls', () => {
  const g = chainGraph(Entry);
  assert.deepEqual([...g.chainlets.keys()], ['Entry', 'Leaf']);
  assert.deepEqual([...g.models.keys()], ['whisper']);
});

test('a dependency marked as an entrypoint, and two chainlets with one name, are refused', () => {
  class Top extends chainlet({ input, deps: { e: depends(Entry) } }) {
    runRemote() {
      return 0;
    }
  }
  assert.throws(() => chainGraph(Top), /`Entry` is marked as an entrypoint but `Top` depends on it/);
  class Other extends chainlet({ input, name: 'Leaf' }) {
    runRemote() {
      return 0;
    }
  }
  class Both extends chainlet({ input, deps: { a: depends(Leaf), b: depends(Other) } }) {
    runRemote() {
      return 0;
    }
  }
  assert.throws(() => chainGraph(Both), /two chainlets are named `Leaf`/);
});

test('findEntrypoint finds the one marked chainlet of a module, and refuses none or two', () => {
  assert.equal(findEntrypoint({ Leaf, Entry, helper: 3 }), Entry);
  assert.throws(() => findEntrypoint({ Leaf }), /no entrypoint/);
  class Entry2 extends chainlet({ input, entrypoint: true }) {
    runRemote() {
      return 0;
    }
  }
  assert.throws(() => findEntrypoint({ Entry, Entry2 }), /2 entrypoints \(Entry, Entry2\)/);
});

test('settings and call options are validated when declared, naming the key', () => {
  assert.throws(() => chainlet({ input, settings: { predictConcurrency: 0 } }), /`predictConcurrency`/);
  assert.throws(
    () => chainlet({ input, settings: { autoscaling: { minReplica: 3, maxReplica: 1 } } }),
    /minReplica must not exceed maxReplica/,
  );
  assert.throws(() => chainlet({ input, settings: { secret: ['x'] } as never }), /secret/);
  assert.throws(() => depends(Leaf, { retries: 0 }), /`retries`/);
  assert.throws(() => depends(Leaf, { timeout_sec: 5 } as never), /timeout_sec/);
  assert.deepEqual(depends(Leaf).options, { retries: 1, timeoutSec: 600, concurrencyLimit: 300 });
  assert.throws(() => depends(class {} as never), /not a chainlet class/);
});
