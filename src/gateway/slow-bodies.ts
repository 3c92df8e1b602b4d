import type { IncomingMessage } from 'node:http';
import { declaresBody } from './body.ts';

/**
 * 408 for a request body that stops arriving (node:http's requests; the fast path has the whole
 * body before it serves). node:http's own `requestTimeout` bounds the time a whole request may take
 * to arrive, so it would cut a large upload that keeps flowing; Girder sets it to 0 and times the
 * silence instead: while something reads the body and has room for more, the connection must
 * bring a byte at least every `timeoutMs`. A body nobody reads yet (its request waits for a slot)
 * or whose reader is full (a replica slow to take it) is not the client's to send, and is not timed.
 * One sweep checks every watched body, rather than a timer per request.
 */
export class SlowBodies {
  readonly #timeoutMs: number;
  readonly #watched = new Map<IncomingMessage, { bytes: number; since: number; onStall: () => void }>();
  #sweep: NodeJS.Timeout | undefined;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Calls `onStall` once if `req`'s body stops arriving while it is read; forgets it at its end.
   *
   * @example
   *   slowBodies.watch(req, () => failRequest(res, bodyTimedOut(60_000), requestId));
   */
  watch(req: IncomingMessage, onStall: () => void): void {
    if (this.#timeoutMs <= 0 || req.complete || !declaresBody(req.headers)) return;
    this.#watched.set(req, { bytes: req.socket.bytesRead, since: Date.now(), onStall });
    const forget = (): void => {
      this.#watched.delete(req);
    };
    req.once('end', forget);
    req.once('close', forget);
    this.#sweep ??= setInterval(this.#check, Math.max(10, Math.min(1000, this.#timeoutMs / 4))).unref();
  }

  #check = (): void => {
    const now = Date.now();
    for (const [req, w] of this.#watched) {
      const bytes = req.socket.bytesRead;
      if (bytes !== w.bytes || !wanted(req)) {
        w.bytes = bytes;
        w.since = now;
      } else if (now - w.since >= this.#timeoutMs) {
        this.#watched.delete(req);
        w.onStall();
      }
    }
    if (this.#watched.size === 0) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
  };
}

/** Something reads the body (data events, a pipe, or read() calls) and has room for more. */
function wanted(req: IncomingMessage): boolean {
  const reading = req.readableFlowing === true || req.listenerCount('readable') > 0;
  return reading && req.readableLength < req.readableHighWaterMark;
}
