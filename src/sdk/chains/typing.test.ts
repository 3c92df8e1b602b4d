/**
 * Type-level tests: `tsc --noEmit` (in `npm test`) fails if a `@ts-expect-error` line below stops being
 * an error, i.e. if a wrong call between chainlets stopped being a type error. The same wrong calls,
 * forced past the compiler, also fail at run time, which the test at the bottom checks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CallInput, chainlet, depends, type Input, model, type Output } from './chainlet.ts';
import { ChainletError } from './errors.ts';
import { runLocal } from './local.ts';
import { z } from 'zod';

class Greet extends chainlet({ input: z.object({ name: z.string(), punctuation: z.string().default('!') }) }) {
  async runRemote({ name, punctuation }: Input<typeof Greet>) {
    return { greeting: `Hello, ${name}${punctuation}` };
  }
}

class Stream extends chainlet({ input: z.object({}) }) {
  async *runRemote() {
    yield 'a';
  }
}

const Classifier = model<{ text: string }, { label: string }>({ name: 'classifier' });

class Caller extends chainlet({
  input: z.object({ wrong: z.boolean().default(false) }),
  deps: { greet: depends(Greet), stream: depends(Stream), classify: depends(Classifier) },
}) {
  async runRemote({ wrong }: Input<typeof Caller>) {
    if (!wrong) return (await this.deps.greet.runRemote({ name: 'Ada' })).greeting;
    return this.deps.greet.runRemote({ name: 1 } as never);
  }

  /** Never called: each line is a wrong call the compiler must refuse. */
  async wrongCalls() {
    // @ts-expect-error a required key is missing
    await this.deps.greet.runRemote({});
    // @ts-expect-error a key of the wrong type
    await this.deps.greet.runRemote({ name: 1 });
    // @ts-expect-error a key the input does not have
    await this.deps.greet.runRemote({ name: 'Ada', nme: 'x' });
    // @ts-expect-error the output has no such field
    (await this.deps.greet.runRemote({ name: 'Ada' })).greting;
    // @ts-expect-error a text stream yields strings
    for await (const chunk of await this.deps.stream.runRemote({})) chunk satisfies Uint8Array;
    // @ts-expect-error a model stub takes the model's declared input
    await this.deps.classify.runRemote({ txt: 'x' });
    const { label } = await this.deps.classify.runRemote({ text: 'x' });
    label satisfies string;
    // @ts-expect-error no such dependency
    this.deps.missing;
    // @ts-expect-error runLocal checks the entrypoint's input
    await runLocal(Greet, { punctuation: '?' });
  }
}

// Defaults make keys optional for callers, and are filled in for runRemote.
({ name: 'Ada' }) satisfies CallInput<typeof Greet>;
// @ts-expect-error runRemote's input always has its defaulted keys
({ name: 'Ada' }) satisfies Input<typeof Greet>;
({ greeting: 'x' }) satisfies Output<typeof Greet>;

test('the wrong calls the compiler refuses also fail at run time', async () => {
  const models = { classifier: () => ({ label: 'ok' }) };
  assert.equal(await runLocal(Caller, {}, { models }), 'Hello, Ada!');
  const err = await runLocal(Caller, { wrong: true }, { models }).catch((e) => e);
  assert.ok(err instanceof ChainletError);
  assert.equal(err.root.errorClass, 'InputValidationError');
  assert.equal(err.root.chainlet, 'Greet');
});
