/** bench/chains: an entrypoint that makes one hop to Callee, which echoes its input. */
import { chainlet, depends, type Input, z } from 'girder/chains';

export class Callee extends chainlet({ input: z.object({ text: z.string() }), settings: { predictConcurrency: 64 } }) {
  async runRemote({ text }: Input<typeof Callee>) {
    return text;
  }
}

export class OneHop extends chainlet({
  entrypoint: true,
  input: z.object({ text: z.string() }),
  deps: { callee: depends(Callee) },
  settings: { predictConcurrency: 64 },
}) {
  async runRemote({ text }: Input<typeof OneHop>) {
    return this.deps.callee.runRemote({ text });
  }
}
