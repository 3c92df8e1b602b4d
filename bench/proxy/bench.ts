/**
 * Proxy overhead benchmark: the same tiny echo upstream (examples/custom-echo, run by Girder as a
 * replica) measured with wrk (1) directly, (2) through Girder, (3) through nginx as a reverse proxy,
 * and optionally (4) through a minimal undici-based Node proxy (bench/proxy/baseline-proxy.ts).
 *
 * Usage (see bench/README.md):
 *   npm run bench:proxy -- [--duration 10] [--rounds 3] [--connections 32] [--threads 1] [--warmup 2]
 *                          [--body '{"hello":"world"}'] [--only direct,girder,nginx,baseline]
 *                          [--baseline-proxy] [--baseline-flags "--client http --flush-headers"]
 *                          [--no-write] [--hold]
 *
 *   --rounds N         measures every path N times, interleaved (direct, girder, nginx, direct, …), and
 *                      reports the median round of each path and the median of the per-round ratios
 *   --baseline-proxy   adds a row for the minimal Node proxy (flags for it: --baseline-flags)
 *   --no-write         does not update bench/proxy/last-result.md
 *   --hold             starts everything, prints the URLs and a wrk command for each, and waits for
 *                      Ctrl-C without measuring: for attaching strace/perf or loading by hand
 *
 * Prints a markdown table and the targets (reported, not asserted: the exit code is 0 whether or not
 * they are met, non-zero only when the benchmark itself failed), and writes it to
 * bench/proxy/last-result.md. Everything it starts (Girder and its replica, nginx, the baseline
 * proxy, wrk) is stopped at the end, also on failure or Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../../src/runtime/ports.ts';
import { waitFor } from '../../test/wait.ts';
import {
  canConnect,
  childPids,
  cpuModel,
  cpuUs,
  fmtMs,
  fmtRps,
  groupPids,
  loadAverage,
  luaScript,
  onCleanup,
  parseWrk,
  runBench,
  runWrk,
  sanity,
  spawnSyncText,
  startGirderServe,
  stopChild,
  which,
  wrkVersion,
  type WrkResult,
} from './lib.ts';

const HERE = import.meta.dirname;

// ---------------------------------------------------------------------------------------------
// Options

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    threads: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '2' },
    body: { type: 'string', default: '{"hello":"world"}' },
    only: { type: 'string' },
    'baseline-proxy': { type: 'boolean', default: false },
    'baseline-flags': { type: 'string', default: '' },
    'no-write': { type: 'boolean', default: false },
    hold: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log(
    readFileSync(new URL(import.meta.url), 'utf8')
      .split('*/')[0]
      .replace(/^\/\*\*\n| ?\* ?/gm, ''),
  );
  process.exit(0);
}
const intArg = (name: string, v: string, min = 1): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${v}"`);
  return n;
};
const opts = {
  duration: intArg('duration', args.duration),
  rounds: intArg('rounds', args.rounds),
  connections: intArg('connections', args.connections),
  threads: intArg('threads', args.threads),
  warmup: intArg('warmup', args.warmup, 0),
  body: args.body,
};
if (opts.threads > opts.connections) throw new Error('--threads must not exceed --connections');

type PathName = 'direct' | 'girder' | 'nginx' | 'baseline';
const CHOOSABLE: PathName[] = ['direct', 'girder', 'nginx', 'baseline'];
const selected = new Set<PathName>(
  args.only
    ? args.only
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .map((s) => {
          if (!CHOOSABLE.includes(s as PathName))
            throw new Error(`--only: unknown path "${s}" (use ${CHOOSABLE.join(', ')})`);
          return s as PathName;
        })
    : ['direct', 'girder', 'nginx', ...(args['baseline-proxy'] ? ['baseline' as const] : [])],
);

// Fail before starting anything when a tool is missing.
which('wrk', ['/usr/bin/wrk']);
if (selected.has('nginx')) which('nginx', ['/usr/sbin/nginx']);

const LOADAVG = loadAverage();
const wrk = (url: string, script: string, seconds: number): Promise<string> =>
  runWrk({ threads: opts.threads, connections: opts.connections, seconds, script, url });

// ---------------------------------------------------------------------------------------------
// The paths

const work = mkdtempSync(join(tmpdir(), 'girder-bench-'));
onCleanup(() => rmSync(work, { recursive: true, force: true }));

async function startNginx(upstreamPort: number): Promise<{ port: number; pid: number }> {
  const bin = which('nginx', ['/usr/sbin/nginx']);
  const dir = join(work, 'nginx');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const conf = `# Written by bench/proxy/bench.ts
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream echo {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://echo;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child = spawn(bin, ['-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  onCleanup(() => stopChild(child));
  await waitFor(
    async () => {
      if (child.exitCode !== null) {
        const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '';
        throw new Error(`nginx exited (${child.exitCode}): ${stderr}${log}`);
      }
      return canConnect(port);
    },
    10_000,
    'nginx to listen',
  );
  return { port, pid: child.pid! };
}

async function startBaseline(upstreamPort: number): Promise<{ port: number; pid: number }> {
  const extra = args['baseline-flags'].split(/\s+/).filter(Boolean);
  const child = spawn(
    process.execPath,
    [
      '--disable-warning=ExperimentalWarning',
      join(HERE, 'baseline-proxy.ts'),
      '--upstream-port',
      String(upstreamPort),
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  onCleanup(() => stopChild(child));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error('baseline proxy did not start')), 10_000);
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`baseline proxy exited (${code})`));
    });
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
  });
  return { port, pid: child.pid! };
}

// ---------------------------------------------------------------------------------------------
// Main

interface Target {
  name: PathName;
  label: string;
  url: string;
  headers: Record<string, string>;
  /** The processes whose CPU time is the proxy's (for direct: the upstream's). */
  proxyPids: () => number[];
}
interface Row {
  target: Target;
  result: WrkResult;
  proxyCpuUs: number;
  upstreamCpuUs: number;
}

function nginxVersion(): string {
  try {
    return /nginx\/(\S+)/.exec(spawnSyncText(which('nginx', ['/usr/sbin/nginx']), ['-v']))?.[1] ?? '?';
  } catch {
    return '?';
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const date = new Date().toISOString();

  console.error('starting Girder and pushing examples/custom-echo…');
  const {
    pid: girderPid,
    key,
    replicaPort,
    replicaPid,
    predictUrl: girderUrl,
  } = await startGirderServe(join(work, 'girder-data'));
  const upstreamPids = () => groupPids(replicaPid); // the replica's shell and its node process
  const json = { 'Content-Type': 'application/json' };
  const girderHeaders = { ...json, Authorization: `Api-Key ${key}` };
  const girderPids = () => [girderPid];
  const targets: Target[] = [
    {
      name: 'direct',
      label: 'direct (echo replica)',
      url: `http://127.0.0.1:${replicaPort}/predict`,
      headers: json,
      proxyPids: upstreamPids,
    },
    { name: 'girder', label: 'girder', url: girderUrl, headers: girderHeaders, proxyPids: girderPids },
  ];
  if (selected.has('nginx')) {
    const { port, pid } = await startNginx(replicaPort);
    targets.push({
      name: 'nginx',
      label: 'nginx (1 worker)',
      url: `http://127.0.0.1:${port}/predict`,
      headers: json,
      proxyPids: () => [pid, ...childPids(pid)],
    });
  }
  if (selected.has('baseline')) {
    const { port, pid } = await startBaseline(replicaPort);
    const flags = args['baseline-flags'].trim();
    targets.push({
      name: 'baseline',
      label: `baseline Node proxy (${flags || 'undici'})`,
      url: `http://127.0.0.1:${port}/predict`,
      headers: json,
      proxyPids: () => [pid],
    });
  }
  const chosen = targets.filter((t) => selected.has(t.name));
  for (const t of chosen) writeFileSync(join(work, `${t.name}.lua`), luaScript(opts.body, t.headers));

  if (args.hold) {
    for (const t of chosen) {
      console.log(
        `${t.name}: ${t.url}\n  wrk -t${opts.threads} -c${opts.connections} -d${opts.duration}s --latency -s ${join(work, `${t.name}.lua`)} ${t.url}`,
      );
    }
    console.log(
      `Girder (girder serve) pid ${girderPid}; replica pids ${upstreamPids().join(' ')}; Authorization: ${girderHeaders.Authorization}`,
    );
    console.log('Ctrl-C (or SIGTERM) stops everything.');
    await new Promise(() => {}); // the signal handlers clean up and exit
  }

  // Rounds interleave the paths, so that a slow spell of the machine hits all of them alike.
  const rounds: Row[][] = [];
  for (let round = 1; round <= opts.rounds; round++) {
    const rows: Row[] = [];
    for (const t of chosen) {
      const script = join(work, `${t.name}.lua`);
      if (round === 1) {
        await sanity(t.name, t.url, t.headers, opts.body);
        if (opts.warmup > 0) {
          console.error(`${t.name}: warm-up ${opts.warmup} s…`);
          await wrk(t.url, script, opts.warmup);
        }
      }
      console.error(
        `${t.name}: round ${round}/${opts.rounds}, measuring ${opts.duration} s (${opts.connections} connections, ${opts.threads} thread${opts.threads > 1 ? 's' : ''})…`,
      );
      const pids = t.proxyPids();
      const up = upstreamPids();
      const [p0, u0] = [cpuUs(pids), cpuUs(up)];
      const result = parseWrk(await wrk(t.url, script, opts.duration));
      const [p1, u1] = [cpuUs(pids), cpuUs(up)];
      rows.push({ target: t, result, proxyCpuUs: p1 - p0, upstreamCpuUs: u1 - u0 });
      console.error(
        `${t.name}: ${fmtRps(result.rps)} req/s, p50 ${fmtMs(result.p50)}, p99 ${fmtMs(result.p99)}, errors ${result.errors}`,
      );
    }
    rounds.push(rows);
  }
  // Each path's median round (by req/s) stands for it; errors are summed over every round.
  const rows: Row[] = chosen.map((t) => {
    const mine = rounds.map((r) => r.find((row) => row.target === t)!).sort((a, b) => a.result.rps - b.result.rps);
    const mid = mine[Math.floor(mine.length / 2)];
    const errors = mine.reduce((n, r) => n + r.result.errors, 0);
    return {
      ...mid,
      result: {
        ...mid.result,
        errors,
        errorDetail: mine
          .map((r) => r.result.errorDetail)
          .filter(Boolean)
          .join('; '),
      },
    };
  });
  /** The median over the rounds of a per-round figure, and every round's value. */
  const perRound = (f: (round: Row[]) => number | undefined): { median: number; all: number[] } | undefined => {
    const all = rounds.map(f).filter((v): v is number => v !== undefined);
    if (!all.length) return undefined;
    const sorted = [...all].sort((a, b) => a - b);
    return { median: sorted[Math.floor(sorted.length / 2)], all };
  };
  const inRound = (round: Row[], n: PathName) => round.find((r) => r.target.name === n)?.result;
  const by = (n: PathName) => rows.find((r) => r.target.name === n)?.result;
  const direct = by('direct');
  const girder = by('girder');
  const nginx = by('nginx');
  const baseline = by('baseline');
  const ratio = perRound((r) => {
    const g = inRound(r, 'girder');
    const n = inRound(r, 'nginx');
    return g && n ? g.rps / n.rps : undefined;
  });
  const p50Delta = perRound((r) => {
    const g = inRound(r, 'girder');
    const d = inRound(r, 'direct');
    return g && d ? g.p50 - d.p50 : undefined;
  });
  const fmtAll = (v: { all: number[] }, digits: number) =>
    v.all.length > 1 ? ` (rounds: ${v.all.map((x) => x.toFixed(digits)).join(', ')})` : '';

  const lines: string[] = [];
  lines.push(`## Proxy benchmark — ${date}`, '');
  lines.push(
    `${opts.rounds} round${opts.rounds > 1 ? 's' : ''} of wrk -t${opts.threads} -c${opts.connections} -d${opts.duration}s --latency per path, interleaved; each row is the path's median round by req/s (errors: all rounds). POST \`${opts.body}\` (${Buffer.byteLength(opts.body)} B); ${opts.warmup} s warm-up before the first round. ` +
      'Upstream: examples/custom-echo (one Node replica started by Girder). Girder: `girder serve`, one Node process. ' +
      'nginx: worker_processes 1, upstream keepalive 64, access_log off.',
    '',
  );
  lines.push('| path | req/s | p50 | p99 | errors |', '|---|---:|---:|---:|---:|');
  for (const r of rows) {
    const e = r.result.errors ? `${r.result.errors} (${r.result.errorDetail})` : '0';
    lines.push(
      `| ${r.target.label} | ${fmtRps(r.result.rps)} | ${fmtMs(r.result.p50)} | ${fmtMs(r.result.p99)} | ${e} |`,
    );
  }
  lines.push('');
  const mark = (ok: boolean) => (ok ? '✅ met' : '❌ not met');
  if (ratio) {
    lines.push(
      `- Girder / nginx req/s, median of the rounds: **${ratio.median.toFixed(2)}**${fmtAll(ratio, 2)} (target ≥ 0.40): ${mark(ratio.median >= 0.4)}`,
    );
  }
  if (p50Delta) {
    const d = p50Delta.median;
    lines.push(
      `- Girder p50 − direct p50, median of the rounds: **${d >= 0 ? '+' : ''}${d.toFixed(2)} ms**${fmtAll(p50Delta, 2)} (target ≤ 1.00 ms): ${mark(d <= 1)}`,
    );
  }
  if (girder) lines.push(`- Girder errors: **${girder.errors}** (target 0): ${mark(girder.errors === 0)}`);
  const others = rows.filter((r) => r.target.name !== 'girder' && r.result.errors);
  if (others.length)
    lines.push(`- errors on other paths: ${others.map((r) => `${r.target.name} ${r.result.errors}`).join(', ')}`);
  if (nginx && direct)
    lines.push(
      `- for reference: nginx / direct req/s ${(nginx.rps / direct.rps).toFixed(2)}; nginx p50 − direct p50 ${(nginx.p50 - direct.p50).toFixed(2)} ms`,
    );
  if (baseline && girder)
    lines.push(
      `- for reference: Girder / baseline Node proxy req/s ${(girder.rps / baseline.rps).toFixed(2)}${nginx ? `; baseline / nginx ${(baseline.rps / nginx.rps).toFixed(2)}` : ''}`,
    );
  lines.push('');
  lines.push(
    'CPU time per request during each measured run (user + system, from /proc; "proxy" is the process in the middle, for direct the echo server itself):',
    '',
  );
  lines.push('| path | proxy CPU | upstream CPU | proxy busy |', '|---|---:|---:|---:|');
  for (const r of rows) {
    const perReq = (us: number) => `${(us / Math.max(1, r.result.requests)).toFixed(1)} µs`;
    const busy = `${Math.round((100 * r.proxyCpuUs) / (opts.duration * 1e6))}% of a core`;
    lines.push(
      `| ${r.target.label} | ${perReq(r.proxyCpuUs)} | ${r.target.name === 'direct' ? '(same)' : perReq(r.upstreamCpuUs)} | ${busy} |`,
    );
  }
  lines.push('');
  lines.push(
    `Machine: ${cpuModel()}, nproc ${cpus().length} (wrk, the upstream and the proxy share these cores); Node ${process.version}; nginx ${nginxVersion()}; ${wrkVersion()}; load average before the run ${LOADAVG}. Run took ${((Date.now() - started) / 1000).toFixed(0)} s.`,
  );
  const text = `${lines.join('\n')}\n`;
  process.stdout.write(`\n${text}`);
  if (!args['no-write']) {
    writeFileSync(join(HERE, 'last-result.md'), text);
    console.error(`\n(written to bench/proxy/last-result.md)`);
  }
}

await runBench('bench', main);
