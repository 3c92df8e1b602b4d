/**
 * bench/async: in one run,
 *  1. durable async submits: wrk POSTs async_predict for --duration seconds against a deployment whose
 *     replica never becomes ready (the requests stay QUEUED), so that only the submit path is measured:
 *     every 201 is sent after its request is committed (SQLite WAL, synchronous=FULL, group commit);
 *  2. dispatch latency on an idle deployment: --samples submits, one at a time, to a custom server that
 *     stamps when each call arrives; reported as submit sent → replica received.
 * Prints a markdown table and writes it to bench/async/last-result.md.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

// wrk runs as its own process while this one (Girder in-process) serves it: never block on it.
const run = promisify(execFile);
import { call, fixture, modelCopy, startGirder } from '../../test/helpers.ts';
import { waitFor } from '../../test/wait.ts';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '30' },
    connections: { type: 'string', default: '32' },
    samples: { type: 'string', default: '200' },
  },
});
const cleanups: (() => Promise<void> | void)[] = [];
const t = { after: (fn: () => Promise<void> | void) => cleanups.push(fn) };
const tmp = mkdtempSync(join(tmpdir(), 'girder-bench-async-'));
cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const ms = (x: number) => `${x.toFixed(2)} ms`;

async function wrk(
  url: string,
  key: string,
  seconds: number,
  connections: number,
): Promise<{ rps: number; p50: number; p99: number; non2xx: number; total: number }> {
  const lua = join(tmp, 'submit.lua');
  writeFileSync(
    lua,
    `wrk.method = "POST"\nwrk.body = '{"model_input":{"prompt":"hello"},"priority":1}'\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Api-Key ${key}"\n`,
  );
  const { stdout: out } = await run('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', lua, url]);
  const unit = (v: string, u: string) => Number(v) * (u === 'us' ? 0.001 : u === 's' ? 1000 : 1);
  const lat = (p: string) => {
    const m = new RegExp(`${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out)!;
    return unit(m[1], m[2]);
  };
  const total = Number(/(\d+) requests in/.exec(out)![1]);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]), p50: lat('50'), p99: lat('99'), non2xx, total };
}

try {
  const g = await startGirder(t, {
    dataDir: join(tmp, 'data'),
    asyncMaxOutstanding: 10_000_000,
    probeIntervalMs: 1000,
  });
  const sink = await g.push(
    modelCopy(t, fixture('behaviours'), { model_name: 'bench-sink', environment_variables: { LOAD_MS: '1000000000' } }),
  );
  const submitUrl = `${g.url}/model-${sink.model.id}/production/async_predict`;
  await wrk(submitUrl, g.key, 3, Number(args.connections)); // warm-up
  const s = await wrk(submitUrl, g.key, Number(args.duration), Number(args.connections));
  const stored = (
    await call(`${g.url}/model-${sink.model.id}/production/async_queue_status`, { method: 'GET', headers: g.auth })
  ).json.num_queued_requests;

  const stamp = await g.deploy(join(import.meta.dirname, 'stamp-server'));
  const url = `${g.url}/model-${stamp.model.id}/production/async_predict`;
  const sent = new Map<string, number>();
  for (let i = 0; i < Number(args.samples); i++) {
    const t0 = performance.timeOrigin + performance.now();
    const r = await call(url, { headers: g.auth, body: JSON.stringify({ model_input: { i } }) });
    sent.set(r.json.request_id, t0);
    await waitFor(
      async () =>
        (
          await call(`${g.url}/model-${stamp.model.id}/production/async_queue_status`, {
            method: 'GET',
            headers: g.auth,
          })
        ).json.num_in_progress_requests === 0,
      5000,
      'idle',
    );
  }
  const stamps = (
    await call(`${g.url}/model-${stamp.model.id}/production/sync/stamps`, { method: 'GET', headers: g.auth })
  ).json as Record<string, number>;
  const lat = [...sent].map(([id, t0]) => stamps[id] - t0);

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const table = [
    `## Async benchmark — ${new Date().toISOString()}`,
    '',
    `Girder in one process (SQLite WAL, synchronous=FULL, group commit); wrk -t1 -c${args.connections} -d${args.duration}s on the same machine; ${cpus().length} cores (${cpu}); Node ${process.version}.`,
    '',
    '| measure | value | target |',
    '|---|---:|---:|',
    `| durable submits/s (${args.duration} s) | ${Math.round(s.rps).toLocaleString('en')} | ≥ 5,000 |`,
    `| submit p50 | ${ms(s.p50)} | |`,
    `| submit p99 | ${ms(s.p99)} | < 20 ms |`,
    `| submit errors (non-2xx) | ${s.non2xx} | 0 |`,
    `| requests in the queue afterwards (all durable) | ${stored.toLocaleString('en')} | |`,
    `| idle: submit sent → replica received, p50 (${lat.length} samples) | ${ms(pct(lat, 50))} | < 5 ms |`,
    `| idle: submit sent → replica received, p99 | ${ms(pct(lat, 99))} | |`,
  ].join('\n');
  console.log(table);
  writeFileSync(join(import.meta.dirname, 'last-result.md'), `${table}\n`);
} finally {
  for (const fn of cleanups.reverse()) await fn();
}
