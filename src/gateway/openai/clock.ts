import { performance } from 'node:perf_hooks';

/**
 * Girder's part of a request's time so far, for `x-girder-overhead-ms`: started when the request
 * comes, stopped while the client uploads and while the replica works, read when the answer's head
 * leaves.
 *
 * @example
 *   const clock = new Clock(); clock.stop(); … clock.start(); res.setHeader('x-girder-overhead-ms', clock.header());
 */
export class Clock {
  #since = performance.now();
  #spent = 0;
  /** Girder starts working (again) now. */
  start(): void {
    this.#since = performance.now();
  }
  /** Girder hands over now (to the client's upload, or to the replica). */
  stop(): void {
    this.#spent += performance.now() - this.#since;
  }
  /** Milliseconds Girder spent, counting until now. */
  header(): string {
    return (this.#spent + performance.now() - this.#since).toFixed(3);
  }
}
