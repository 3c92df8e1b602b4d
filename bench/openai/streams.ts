/**
 * The client side of bench/openai: chat-completion streams over node:http, timed at the socket
 * reads: when the first token arrived, and the gaps between the tokens after it.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface Target {
  name: string;
  url: URL;
  headers: Record<string, string>;
}

export interface StreamTiming {
  /** ms from sending the request to the first non-empty `content` delta. */
  ttft: number;
  /** ms between one token's arrival and the next one's. */
  gaps: number[];
  /** Tokens that arrived in the same socket read as the one before: a chunk held back shows here. */
  joined: number;
  tokens: number;
  /** Girder's own `x-girder-overhead-ms`, when the answer has it. */
  overhead: number | undefined;
}

/** One connection per stream, kept alive between streams, as an SDK's pool does. */
export const agent = new Agent({ keepAlive: true, maxSockets: 2048 });

const TOKEN = /"content":"[^"]/g;

/**
 * Sends one streaming chat completion and times its tokens. `onFirst` is called when the first
 * event (the role chunk) arrived, for streams that are held open.
 *
 * @example
 *   const t = await streamOnce(target, { words: 20, delay_ms: 5 });
 */
export function streamOnce(target: Target, standIn: object, onFirst?: () => void): Promise<StreamTiming> {
  const body = JSON.stringify({
    model: 'llm-stand-in',
    messages: [{ role: 'user', content: 'Hello' }],
    stream: true,
    stand_in: standIn,
  });
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let last = 0;
    let ttft = -1;
    let joined = 0;
    let tokens = 0;
    let first = true;
    const gaps: number[] = [];
    const req = request(
      target.url,
      {
        method: 'POST',
        agent,
        headers: { ...target.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`${target.name}: HTTP ${res.statusCode}`));
          return;
        }
        res.setEncoding('utf8');
        res.on('data', (text: string) => {
          const now = performance.now();
          if (first) {
            first = false;
            onFirst?.();
          }
          const n = text.match(TOKEN)?.length ?? 0;
          for (let i = 0; i < n; i++) {
            if (tokens === 0) ttft = now - t0;
            else if (i === 0) gaps.push(now - last);
            else {
              joined++;
              gaps.push(0);
            }
            tokens++;
          }
          if (n) last = now;
        });
        const header = res.headers['x-girder-overhead-ms'];
        const overhead = header === undefined ? undefined : Number(header);
        res.on('end', () => resolve({ ttft, gaps, joined, tokens, overhead }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The p-th percentile (0–100) of a list of numbers. */
export function pct(xs: number[], p: number): number {
  if (!xs.length) return Number.NaN;
  const sorted = Float64Array.from(xs).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export interface LoadResult {
  streams: number;
  ttft: number[];
  gaps: number[];
  joined: number;
  tokens: number;
  overheads: number[];
}

/** `concurrency` streams at a time until `count` have run (or `deadline`, epoch ms, passed). */
export async function load(
  target: Target,
  standIn: object,
  concurrency: number,
  count: number,
  deadline = Number.POSITIVE_INFINITY,
): Promise<LoadResult> {
  const out: LoadResult = { streams: 0, ttft: [], gaps: [], joined: 0, tokens: 0, overheads: [] };
  let started = 0;
  const worker = async () => {
    while (started < count && Date.now() < deadline) {
      started++;
      const t = await streamOnce(target, standIn);
      out.streams++;
      out.ttft.push(t.ttft);
      for (const g of t.gaps) out.gaps.push(g);
      out.joined += t.joined;
      out.tokens += t.tokens;
      if (t.overhead !== undefined) out.overheads.push(t.overhead);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}
