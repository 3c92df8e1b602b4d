/** bench/chains: the same entrypoint without the hop, answering itself. */
import { chainlet, type Input, z } from 'girder/chains';

export class ZeroHop extends chainlet({
  entrypoint: true,
  input: z.object({ text: z.string() }),
  settings: { predictConcurrency: 64 },
}) {
  async runRemote({ text }: Input<typeof ZeroHop>) {
    return text;
  }
}
