import { inspect, type Tokens } from './inspect.ts';

/** An event longer than this is passed on as it comes, unread: a stream must never wait on one event. */
const MAX_EVENT = 1024 * 1024;
const DATA = Buffer.from('data:');

/** Where the next event ends (just past its blank line), from `from`; -1 when it has not ended yet. */
function eventEnd(buf: Buffer, from: number): number {
  const lf = buf.indexOf('\n\n', from);
  const crlf = buf.indexOf('\n\r\n', from);
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 3;
  return lf < 0 ? -1 : lf + 2;
}

/**
 * An upstream's SSE answer on its way to the client, event by event as the upstream wrote them:
 * each complete event leaves at once, and only an unfinished one waits for the rest of its bytes.
 * Along the way it keeps the last usage a chunk reported, rewrites a chunk's top-level `model` to
 * the name the client asked for, and drops the usage-only last chunk when Girder asked for usage
 * and the client did not. Events it does not change leave as the same bytes.
 *
 * @example
 *   const sse = new SseRewriter('"my-alias"', false);
 *   res.write(sse.push(chunk)); // … then res.end(sse.end()); sse.tokens
 */
export class SseRewriter {
  readonly #askedJson: string;
  readonly #dropUsageOnly: boolean;
  #pending: Buffer | undefined;
  /** Inside an oversized event passed on unread: the bytes up to its end pass unread too. */
  #skipping = false;
  tokens: Tokens | undefined;

  constructor(askedJson: string, dropUsageOnly: boolean) {
    this.#askedJson = askedJson;
    this.#dropUsageOnly = dropUsageOnly;
  }

  /** The bytes to send now for a chunk of the upstream's answer (possibly none). */
  push(chunk: Buffer): Buffer {
    const buf = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = undefined;
    const out: Buffer[] = [];
    let at = 0;
    let changed = false;
    for (;;) {
      const end = eventEnd(buf, at);
      if (end < 0) break;
      const event = buf.subarray(at, end);
      const next = this.#skipping ? event : this.#event(event);
      this.#skipping = false;
      if (next !== event) changed = true;
      if (next) out.push(next);
      at = end;
    }
    if (at < buf.length) {
      if (buf.length - at > MAX_EVENT) {
        out.push(buf.subarray(at));
        this.#skipping = true;
        at = buf.length;
      } else {
        this.#pending = buf.subarray(at);
      }
    }
    // The common case: whole events, none changed, sent as the very bytes that came.
    if (!changed && at === buf.length && buf === chunk) return chunk;
    return out.length === 1 ? out[0] : Buffer.concat(out);
  }

  /** The bytes left when the upstream's answer ends: an unfinished last event goes as it is. */
  end(): Buffer | undefined {
    const rest = this.#pending;
    this.#pending = undefined;
    return rest;
  }

  /** One event: itself, a rewritten copy, or nothing (dropped). */
  #event(event: Buffer): Buffer | null {
    // Only a single `data:` line holding a JSON object is read; comments, named events and [DONE] pass.
    if (!event.subarray(0, DATA.length).equals(DATA)) return event;
    let start = DATA.length;
    if (event[start] === 0x20) start++;
    if (event[start] !== 0x7b) return event;
    const lineEnd = event.indexOf(0x0a, start);
    let stop = lineEnd;
    if (event[stop - 1] === 0x0d) stop--;
    if (event.indexOf(0x0a, lineEnd + 1) !== event.length - 1) return event;
    const doc = event.subarray(start, stop);
    const seen = inspect(doc, this.#askedJson);
    if (!seen) return event;
    if (seen.tokens) this.tokens = seen.tokens;
    if (seen.usageOnly && this.#dropUsageOnly) return null;
    if (!seen.modelSpan) return event;
    const m = seen.modelSpan;
    return Buffer.concat([
      event.subarray(0, start + m.start),
      Buffer.from(this.#askedJson),
      event.subarray(start + m.end),
    ]);
  }
}
