import type { ApiKeyRecord } from '../../records/control.ts';
import { V1Error } from './errors.ts';

const MINUTE_MS = 60_000;

/**
 * A bucket that refills continuously to `limit` over a minute: a key may spend its whole minute at
 * once, then one unit every 60/limit seconds. A level below zero is debt (an answer used more
 * tokens than were left), paid back by the refill before the next request passes.
 */
class Bucket {
  level: number;
  #at: number;
  limit: number;

  constructor(limit: number, now: number) {
    this.limit = limit;
    this.level = limit;
    this.#at = now;
  }

  /** Refills for the time since the last look (a changed limit applies from now). */
  refill(limit: number, now: number): void {
    if (limit !== this.limit) {
      this.level = Math.min(this.level, limit);
      this.limit = limit;
    }
    this.level = Math.min(limit, this.level + ((now - this.#at) * limit) / MINUTE_MS);
    this.#at = now;
  }

  /** Milliseconds until the level reaches `target`. */
  msUntil(target: number): number {
    return this.level >= target ? 0 : Math.ceil(((target - this.level) * MINUTE_MS) / this.limit);
  }
}

/** OpenAI's duration format for `x-ratelimit-reset-*`: `20ms`, `1.5s`, `6m0s`. */
function duration(ms: number): string {
  if (ms < 1000) return `${Math.ceil(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${Number(s.toFixed(3))}s`;
  return `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
}

/** One key's buckets; a limit the key does not have has no bucket. */
interface KeyBuckets {
  requests?: Bucket;
  tokens?: Bucket;
}

/**
 * Per-key requests- and tokens-per-minute limits of `/v1`, in memory: a check costs two Map and
 * arithmetic steps, never a store read. Requests are counted when admitted; tokens when the answer
 * reports its usage, so a request is refused only once the key's tokens are spent (not on an
 * estimate), and one long answer can overdraw a minute, which the next requests wait out.
 *
 * @example
 *   const admitted = limits.admit(key);      // throws 429 with Retry-After when over a limit
 *   res.writeHead(200, admitted.headers());  // x-ratelimit-* as OpenAI sends them
 *   limits.spend(key, 512);                  // once the answer's usage is known
 */
export class RateLimits {
  readonly #keys = new Map<string, KeyBuckets>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  #buckets(key: ApiKeyRecord, now: number): KeyBuckets {
    let b = this.#keys.get(key.prefix);
    if (!b) this.#keys.set(key.prefix, (b = {}));
    b.requests = sync(b.requests, key.rpm, now);
    b.tokens = sync(b.tokens, key.tpm, now);
    return b;
  }

  /**
   * Lets a request of the key through, counting it, or throws 429 (OpenAI's `rate_limit_exceeded`,
   * with `Retry-After`, `retry-after-ms` and the `x-ratelimit-*` headers). A key without limits costs
   * one property read.
   */
  admit(key: ApiKeyRecord): { headers: () => Record<string, string> } {
    if (key.rpm == null && key.tpm == null) return NO_LIMITS;
    const now = this.#now();
    const b = this.#buckets(key, now);
    const requestWait = b.requests ? b.requests.msUntil(1) : 0;
    const tokenWait = b.tokens ? b.tokens.msUntil(Number.MIN_VALUE) : 0;
    if (requestWait > 0 || tokenWait > 0) {
      const byTokens = tokenWait > requestWait;
      const wait = Math.max(requestWait, tokenWait);
      const which = byTokens ? `tokens per min (TPM): Limit ${key.tpm}` : `requests per min (RPM): Limit ${key.rpm}`;
      throw new V1Error('rate_limited', `Rate limit reached for ${which}. Please try again in ${duration(wait)}.`, {
        detail: 'Raise the limits with `girder keys limits PREFIX --rpm N --tpm N`.',
        type: byTokens ? 'tokens' : 'requests',
        headers: { ...headersOf(b), 'retry-after': String(Math.ceil(wait / 1000)), 'retry-after-ms': String(wait) },
      });
    }
    if (b.requests) b.requests.level -= 1;
    return { headers: () => headersOf(b) };
  }

  /** Counts the tokens of an answer against the key's tokens per minute. */
  spend(key: ApiKeyRecord, tokens: number): void {
    if (key.tpm == null || tokens <= 0) return;
    const b = this.#buckets(key, this.#now());
    if (b.tokens) b.tokens.level -= tokens;
  }
}

const NO_LIMITS = { headers: () => ({}) };

function sync(bucket: Bucket | undefined, limit: number | null | undefined, now: number): Bucket | undefined {
  if (limit == null) return undefined;
  if (!bucket) return new Bucket(limit, now);
  bucket.refill(limit, now);
  return bucket;
}

/** OpenAI's `x-ratelimit-*` headers for the limits a key has. */
function headersOf(b: KeyBuckets): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [name, bucket] of [
    ['requests', b.requests],
    ['tokens', b.tokens],
  ] as const) {
    if (!bucket) continue;
    h[`x-ratelimit-limit-${name}`] = String(bucket.limit);
    h[`x-ratelimit-remaining-${name}`] = String(Math.max(0, Math.floor(bucket.level)));
    h[`x-ratelimit-reset-${name}`] = duration(bucket.msUntil(bucket.limit));
  }
  return h;
}
