import type { OutgoingHttpHeaders } from 'node:http';
import { AbortReason } from '../../runtime/abort.ts';
import type { Reply } from '../../runtime/reply.ts';
import { errorEvent, sendOpenAIError } from './errors.ts';
import { inspect, type Tokens } from './inspect.ts';
import { SseRewriter } from './sse.ts';

/** How an answer is carried: read event by event, kept whole (a JSON document), or passed on unread. */
type Mode = 'head' | 'sse' | 'json' | 'raw';

/** A JSON answer larger than this is passed on unread: its usage is not counted. */
const MAX_JSON = 8 * 1024 * 1024;

export interface AnswerOptions {
  /** The name the client asked for, as JSON text: the answer's `model` says it. */
  askedJson: string;
  /** Girder asked the upstream for usage in a stream and the client did not: drop the usage-only chunk. */
  dropUsageOnly: boolean;
  /** Headers computed when the answer's head leaves (rate limits, Girder's overhead). */
  headHeaders: () => Record<string, string>;
}

/** A flat [name, value, …] list or an object, as a list without the names in `drop` (lower case). */
function headerList(headers: OutgoingHttpHeaders | (string | string[])[], drop: string): (string | string[])[] {
  const out: (string | string[])[] = [];
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() !== drop) out.push(headers[i], headers[i + 1]);
    }
  } else {
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined && name.toLowerCase() !== drop)
        out.push(name, typeof value === 'number' ? String(value) : value);
    }
  }
  return out;
}

function contentTypeOf(list: (string | string[])[]): string {
  for (let i = 0; i < list.length; i += 2)
    if (String(list[i]).toLowerCase() === 'content-type') return String(list[i + 1]);
  return '';
}

/**
 * Where a replica's answer to a `/v1` request is written: a `Reply` in front of the client's, so that
 * the one call path (`runtime/invoke.ts`) streams into it as into any response. A 2xx SSE answer
 * goes on event by event (`SseRewriter`); a 2xx JSON answer, a document the client reads only whole
 * anyway, is kept until its end to set `model` and read its usage; anything else, an upstream's own
 * error above all, passes through untouched. A stream that fails midway ends with an `error` event.
 *
 * @example
 *   const answer = new OpenAIAnswer(res, { askedJson: '"my-model"', dropUsageOnly: true, headHeaders: () => ({}) });
 *   invoke(app.supervisor, { ...inv, res: answer, onEnd: (err) => (err ? answer.fail(err, {}) : done(answer.tokens)) });
 */
export class OpenAIAnswer implements Reply {
  readonly #res: Reply;
  readonly #opts: AnswerOptions;
  #mode: Mode = 'head';
  #status = 0;
  #head: (string | string[])[] = [];
  #chunks: Buffer[] = [];
  #size = 0;
  #sse: SseRewriter | undefined;
  #tokens: Tokens | undefined;
  /** Status of the answer, once its head came. */
  get status(): number {
    return this.#status;
  }

  constructor(res: Reply, opts: AnswerOptions) {
    this.#res = res;
    this.#opts = opts;
  }

  /** The usage the upstream reported (the last one of a stream), once the answer ended. */
  get tokens(): Tokens | undefined {
    return this.#sse?.tokens ?? this.#tokens;
  }

  get headersSent(): boolean {
    return this.#res.headersSent;
  }

  get writableFinished(): boolean {
    return this.#res.writableFinished;
  }

  writeHead(status: number, headers: OutgoingHttpHeaders | (string | string[])[]): this {
    this.#status = status;
    const ok = status >= 200 && status < 300;
    const type = contentTypeOf(headerList(headers, ''));
    if (ok && type.startsWith('text/event-stream')) this.#mode = 'sse';
    else if (ok && type.includes('json')) this.#mode = 'json';
    else this.#mode = 'raw';
    // A rewritten answer changes length: a stream goes chunked, a document gets its new length at the end.
    const list = headerList(headers, this.#mode === 'raw' ? '' : 'content-length');
    if (this.#mode === 'json') {
      this.#head = list;
      return this;
    }
    if (this.#mode === 'sse') this.#sse = new SseRewriter(this.#opts.askedJson, this.#opts.dropUsageOnly);
    this.#res.writeHead(status, [...list, ...Object.entries(this.#opts.headHeaders()).flat()]);
    return this;
  }

  setHeader(name: string, value: string): this {
    this.#res.setHeader(name, value);
    return this;
  }

  write(chunk: Buffer): boolean {
    if (this.#mode === 'sse') {
      const out = this.#sse!.push(chunk);
      return out.length === 0 ? true : this.#res.write(out);
    }
    if (this.#mode === 'json') {
      this.#size += chunk.length;
      if (this.#size <= MAX_JSON) {
        this.#chunks.push(chunk);
        return true;
      }
      this.#passUnread();
    }
    return this.#res.write(chunk);
  }

  end(chunk?: Buffer | string): this {
    const last = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.#mode === 'sse') {
      const out = last ? this.#sse!.push(last) : undefined;
      const rest = this.#sse!.end();
      this.#res.end(out && rest ? Buffer.concat([out, rest]) : (rest ?? out));
    } else if (this.#mode === 'json') {
      if (last) this.#chunks.push(last);
      this.#endDocument(Buffer.concat(this.#chunks));
    } else {
      this.#res.end(last);
    }
    return this;
  }

  /** A whole JSON answer: its usage read, its `model` set to the asked name, sent with its length. */
  #endDocument(doc: Buffer): void {
    const seen = inspect(doc, this.#opts.askedJson);
    this.#tokens = seen?.tokens;
    const m = seen?.modelSpan;
    const body = m
      ? Buffer.concat([doc.subarray(0, m.start), Buffer.from(this.#opts.askedJson), doc.subarray(m.end)])
      : doc;
    const head = [
      ...this.#head,
      ...Object.entries(this.#opts.headHeaders()).flat(),
      'content-length',
      String(body.length),
    ];
    this.#res.writeHead(this.#status, head);
    this.#res.end(body);
  }

  /** A JSON answer too large to keep: what was kept goes out, the rest follows unread. */
  #passUnread(): void {
    this.#mode = 'raw';
    this.#res.writeHead(this.#status, [...this.#head, ...Object.entries(this.#opts.headHeaders()).flat()]);
    for (const c of this.#chunks) this.#res.write(c);
    this.#chunks = [];
  }

  flushHeaders(): void {
    if (this.#mode !== 'json') this.#res.flushHeaders();
  }

  /**
   * Called by the call path when a started answer must stop (its deadline passed): a stream gets its
   * `error` event from `fail`, which the call path's end calls next; anything else is cut now.
   */
  destroy(): this {
    if (this.#mode !== 'sse') this.#res.destroy();
    return this;
  }

  /**
   * How a failed call ends: an OpenAI-shaped error when nothing was sent yet, an `error` event
   * closing a stream that had started, a cut connection otherwise.
   */
  fail(err: unknown, headers: Record<string, string>): void {
    if (err instanceof AbortReason) this.#res.destroy();
    else if (!this.#res.headersSent) sendOpenAIError(this.#res, err, { ...headers, ...this.#opts.headHeaders() });
    else if (this.#mode === 'sse' && !this.#res.writableFinished) this.#res.end(errorEvent(err));
    else this.#res.destroy();
  }

  on(event: 'close' | 'drain', listener: () => void): this {
    this.#res.on(event, listener);
    return this;
  }

  once(event: 'close' | 'drain', listener: () => void): this {
    this.#res.once(event, listener);
    return this;
  }

  off(event: 'close' | 'drain', listener: () => void): this {
    this.#res.off(event, listener);
    return this;
  }
}
