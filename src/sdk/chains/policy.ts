/**
 * The call policy of one dependency, the same in `runLocal` and deployed: at most `concurrencyLimit`
 * calls in flight (more wait their turn), each attempt bounded by `timeoutSec`, and up to `retries`
 * attempts with exponential backoff, only for failures a retry can fix (see `isRetryable`).
 */
import { ChainletError, ChainletTimeoutError } from './errors.ts';
import type { RpcOptions } from './settings.ts';

/** Statuses a retry can fix: the callee's gateway or replica was briefly unavailable, or timed out. */
const RETRY_STATUSES = new Set([502, 503, 504]);
/** Connection failures of Node's sockets and undici, where the callee never answered. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/**
 * Whether a failed attempt is worth another: a connection error, or a 502/503/504 that the callee itself
 * answered (a chain of one frame). A 503 that a callee only passed up from its own dependency is not: that
 * hop already retried, and retrying at every level would multiply the attempts.
 *
 * @example
 *   isRetryable(new ChainletError(503, [frame])); // true
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof ChainletError) return RETRY_STATUSES.has(err.status) && err.chain.length === 1;
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as Error).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  }
  return false;
}

/** Milliseconds to wait after failed attempt `n` (1-based): 100, 200, 400 … up to 2 s, with jitter. */
export function backoffMs(n: number): number {
  return Math.min(2000, 100 * 2 ** (n - 1)) * (0.5 + Math.random() / 2);
}

/**
 * One dependency's policy. `call(attempt)` runs `attempt` under it; `attempt` gets a signal that aborts
 * at the timeout, and resolves once the answer has started (a stream: its first chunk), after which
 * nothing is retried.
 *
 * @example
 *   const policy = new CallPolicy('SayHello', depends(SayHello).options);
 *   const out = await policy.call((signal) => transport.send(body, signal));
 */
export class CallPolicy {
  readonly chainlet: string;
  readonly options: RpcOptions;
  #inFlight = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(chainlet: string, options: RpcOptions) {
    this.chainlet = chainlet;
    this.options = options;
  }

  async call<T>(attempt: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.#acquire();
    try {
      for (let n = 1; ; n++) {
        signal?.throwIfAborted();
        try {
          return await this.#once(attempt, signal);
        } catch (err) {
          if (n >= this.options.retries || !isRetryable(err) || signal?.aborted) throw err;
        }
        await sleep(backoffMs(n), signal);
      }
    } finally {
      this.#release();
    }
  }

  async #once<T>(attempt: (signal: AbortSignal) => Promise<T>, outer: AbortSignal | undefined): Promise<T> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(outer?.reason);
    outer?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () => controller.abort(new ChainletTimeoutError(this.chainlet, this.options.timeoutSec)),
      this.options.timeoutSec * 1000,
    );
    // the attempt may ignore its signal (a local chainlet cannot be stopped): stop waiting for it anyway
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    aborted.catch(() => {});
    try {
      return await Promise.race([attempt(controller.signal), aborted]);
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
    }
  }

  async #acquire(): Promise<void> {
    if (this.#inFlight < this.options.concurrencyLimit) {
      this.#inFlight++;
      return;
    }
    // the slot is handed over by #release, so #inFlight never drops below the limit meanwhile
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#inFlight--;
  }

  /** Calls in flight now (for tests and metrics). */
  get inFlight(): number {
    return this.#inFlight;
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', abort);
      resolve();
    }
    function abort() {
      clearTimeout(timer);
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', abort, { once: true });
  });
}
