/**
 * The Hello chain of Baseten's chains guide, in TypeScript: `HelloAll` takes `{"names": [...]}`, asks
 * `SayHello` to greet each name (concurrently, one call per name) and joins the greetings, one a line.
 * test/hello-chain.test.ts runs it with `runLocal`.
 */
import { chainlet, depends, type Input, z } from 'girder/chains';

export class SayHello extends chainlet({
  input: z.object({ name: z.string().min(1) }),
  settings: { predictConcurrency: 8 },
}) {
  async runRemote({ name }: Input<typeof SayHello>) {
    return `Hello, ${name}!`;
  }
}

export class HelloAll extends chainlet({
  entrypoint: true,
  input: z.object({ names: z.array(z.string()) }),
  deps: { sayHello: depends(SayHello, { retries: 3, timeoutSec: 30 }) },
}) {
  async runRemote({ names }: Input<typeof HelloAll>) {
    const greetings = await Promise.all(names.map((name) => this.deps.sayHello.runRemote({ name })));
    return greetings.join('\n');
  }
}
