/**
 * bench/chains: in one run,
 *  1. what a chainlet-to-chainlet hop adds: sequential run_remote calls (one at a time, keep-alive) to
 *     a 0-hop chain (`ZeroHop` answers itself) and a 1-hop chain (`OneHop` calls `Callee`, which
 *     echoes), beside `Callee`'s replica called straight (its predict endpoint on loopback) and
 *     `Callee` called through the gateway as a hop calls it (`/model-{callee}/deployment/{id}/run_remote`).
 *     Rows are interleaved round by round, so that a slow spell of the machine hits each alike. A
 *     hop adds p50(1-hop) − p50(0-hop); what Girder adds to it is that minus the direct call;
 *  2. the Hello chain (examples/hello-chain, three names): sequential latency, and requests/s under
 *     wrk -t1 -c{connections}.
 * Girder runs in this process with its production settings; wrk is its own process. Prints a
 * markdown table and writes it to bench/chains/last-result.md.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { Agent, request } from 'undici';
import { example, startGirder } from '../../test/helpers.ts';
import { pushChain } from '../../test/chains.harness.ts';

const run = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    samples: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
  },
});
const cleanups: (() => Promise<void> | void)[] = [];
const t = { after: (fn: () => Promise<void> | void) => cleanups.push(fn) };
const tmp = mkdtempSync(join(tmpdir(), 'girder-bench-chains-'));
cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const ms = (x: number) => `${x.toFixed(3)} ms`;
const agent = new Agent({ connections: 4, keepAliveTimeout: 30_000 });
cleanups.push(() => agent.close());

interface Row {
  name: string;
  url: string;
  body: string;
  headers: Record<string, string>;
  samples: number[];
}

/** One call, timed from sending to the last byte of the answer; throws unless it is a 200. */
async function timed(row: Row): Promise<number> {
  const t0 = performance.now();
  const res = await request(row.url, { method: 'POST', body: row.body, headers: row.headers, dispatcher: agent });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${row.name}: ${res.statusCode} ${text}`);
  return performance.now() - t0;
}

async function wrk(url: string, key: string, body: string, seconds: number, connections: number) {
  const lua = join(tmp, 'post.lua');
  writeFileSync(
    lua,
    `wrk.method = "POST"\nwrk.body = '${body}'\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Api-Key ${key}"\n`,
  );
  const { stdout: out } = await run('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', lua, url]);
  const unit = (v: string, u: string) => Number(v) * (u === 'us' ? 0.001 : u === 's' ? 1000 : 1);
  const lat = (p: string) => {
    const m = new RegExp(`${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out)!;
    return unit(m[1], m[2]);
  };
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]), p50: lat('50'), p99: lat('99'), non2xx };
}

try {
  const g = await startGirder(t, { dataDir: join(tmp, 'data') });
  const push = async (dir: string, file: string) => {
    const p = await pushChain(g.url, g.key, dir, { file });
    if (p.status !== 200) throw new Error(`push ${file}: ${JSON.stringify(p.json)}`);
    return p.json;
  };
  const dir = join(import.meta.dirname, 'chain');
  const zero = await push(dir, 'zero-hop.ts');
  const one = await push(dir, 'one-hop.ts');
  const hello = await push(example('hello-chain'), 'chain.ts');
  const callee = one.deployment.chainlets.find((c: { name: string }) => c.name === 'Callee');
  const replica = g.g.supervisor.replicas(callee.id)[0];
  const json = { 'content-type': 'application/json' };
  const auth = { ...json, authorization: `Api-Key ${g.key}` };
  const body = '{"text":"hello"}';
  const rows: Row[] = [
    {
      name: 'Callee’s replica, called straight',
      url: `${replica.origin}/v1/models/model:predict`,
      body,
      headers: json,
    },
    {
      name: 'Callee through the gateway, as a hop calls it',
      url: `${g.url}/model-${callee.model_id}/deployment/${callee.id}/run_remote`,
      body,
      headers: auth,
    },
    {
      name: '0-hop chain (ZeroHop)',
      url: `${g.url}/chain-${zero.chain.id}/production/run_remote`,
      body,
      headers: auth,
    },
    {
      name: '1-hop chain (OneHop → Callee)',
      url: `${g.url}/chain-${one.chain.id}/production/run_remote`,
      body,
      headers: auth,
    },
  ].map((r) => ({ ...r, samples: [] }));
  const names = '{"names":["Marius","Sid","Bola"]}';
  const helloRow: Row = {
    name: 'Hello chain, three names',
    url: `${g.url}/chain-${hello.chain.id}/production/run_remote`,
    body: names,
    headers: auth,
    samples: [],
  };
  const all = [...rows, helloRow];
  for (const row of all) for (let i = 0; i < 200; i++) await timed(row); // warm-up: pools, JIT
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const row of all) for (let i = 0; i < Number(args.samples); i++) row.samples.push(await timed(row));
  }
  const [direct, viaGateway, zeroHop, oneHop] = rows;
  const p = (r: Row, q: number) => pct(r.samples, q);
  const hop50 = p(oneHop, 50) - p(zeroHop, 50);
  const hop99 = p(oneHop, 99) - p(zeroHop, 99);
  const w = await wrk(helloRow.url, g.key, names, Number(args.duration), Number(args.connections));

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const n = Number(args.rounds) * Number(args.samples);
  const table = [
    `## Chains benchmark — ${new Date().toISOString()}`,
    '',
    `Girder in one process, its production settings; sequential calls (one at a time, keep-alive), ${args.rounds} interleaved rounds of ${args.samples}; wrk -t1 -c${args.connections} -d${args.duration}s; ${cpus().length} cores (${cpu}); load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; Node ${process.version}.`,
    '',
    '| path | p50 | p99 |',
    '|---|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${ms(p(r, 50))} | ${ms(p(r, 99))} |`),
    `| **a hop adds** (1-hop − 0-hop) | **${ms(hop50)}** | ${ms(hop99)} |`,
    `| of which Girder's (the hop − the replica called straight; target ≤ 1 ms at p50) | **${ms(hop50 - p(direct, 50))}** | ${ms(hop99 - p(direct, 99))} |`,
    `| the gateway alone on a hop's path (through the gateway − straight) | ${ms(p(viaGateway, 50) - p(direct, 50))} | ${ms(p(viaGateway, 99) - p(direct, 99))} |`,
    '',
    '| Hello chain (3 names: 3 concurrent hops) | value |',
    '|---|---:|',
    `| sequential p50 (${n} calls) | ${ms(p(helloRow, 50))} |`,
    `| sequential p99 | ${ms(p(helloRow, 99))} |`,
    `| requests/s, wrk -c${args.connections} | ${Math.round(w.rps).toLocaleString('en')} |`,
    `| wrk p50 / p99 | ${ms(w.p50)} / ${ms(w.p99)} |`,
    `| non-2xx answers | ${w.non2xx} |`,
  ].join('\n');
  console.log(table);
  writeFileSync(join(import.meta.dirname, 'last-result.md'), `${table}\n`);
} finally {
  for (const fn of cleanups.reverse()) await fn();
}
