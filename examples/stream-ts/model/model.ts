import { setTimeout as sleep } from 'node:timers/promises';
import type { Model, ModelContext } from 'girder';

interface Input {
  text?: string;
  delay_ms?: number;
}

/** Streams `text` back word by word, `delay_ms` apart; stops as soon as the client hangs up. */
export default class Stream implements Model {
  async *predict({ text = 'Hello from a streaming model.', delay_ms = 50 }: Input, ctx: ModelContext) {
    ctx.setHeader('content-type', 'text/plain; charset=utf-8');
    const words = text.split(/\s+/).filter(Boolean);
    for (const [i, word] of words.entries()) {
      if (i > 0) await sleep(delay_ms, undefined, { signal: ctx.signal });
      yield i < words.length - 1 ? `${word} ` : `${word}\n`;
    }
  }
}
