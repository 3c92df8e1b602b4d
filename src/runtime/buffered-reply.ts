import { EventEmitter } from 'node:events';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Reply } from './reply.ts';

/**
 * An answer kept in memory, for a caller that needs the whole of it (an async request records the
 * model's output; a chain hop hands it to the next chainlet). It is a `Reply` like a client's
 * response, so the answer comes through the same call path as a sync one. Its connection never
 * closes early: nobody leaves.
 *
 * @example
 *   const reply = new BufferedReply();
 *   invoke(supervisor, { ...inv, res: reply, onEnd: (err) => err ? fail(err) : done(reply.status, reply.text()) });
 */
export class BufferedReply extends EventEmitter implements Reply {
  headersSent = false;
  writableFinished = false;
  status = 0;
  /** The answer's headers, names in lower case. */
  readonly headers: Record<string, string> = {};
  /** destroy() was called: a streamed answer was cut (its deadline passed). */
  destroyed = false;
  readonly #chunks: Buffer[] = [];

  writeHead(status: number, headers: OutgoingHttpHeaders | (string | string[])[]): this {
    this.status = status;
    if (Array.isArray(headers)) {
      for (let i = 0; i < headers.length; i += 2) this.setHeader(String(headers[i]), String(headers[i + 1]));
    } else {
      for (const [name, value] of Object.entries(headers)) if (value !== undefined) this.setHeader(name, String(value));
    }
    return this;
  }

  setHeader(name: string, value: string): this {
    this.headers[name.toLowerCase()] = value;
    return this;
  }

  write(chunk: Buffer): boolean {
    this.headersSent = true;
    this.#chunks.push(chunk);
    return true;
  }

  end(chunk?: Buffer | string): this {
    this.headersSent = true;
    if (chunk !== undefined) this.#chunks.push(Buffer.from(chunk));
    this.writableFinished = true;
    return this;
  }

  flushHeaders(): void {
    this.headersSent = true;
  }

  destroy(): this {
    this.destroyed = true;
    return this;
  }

  /** The body as text (UTF-8). */
  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}
