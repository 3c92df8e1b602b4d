/**
 * Proxy overhead benchmark: the same tiny echo upstream (examples/custom-echo, run by Girder as a
 * replica) measured with wrk (1) directly, (2) through Girder, (3) through nginx as a reverse proxy,
 * and optionally (4) through a minimal undici-based Node proxy (bench/proxy/baseline-proxy.ts).
 *
 * Usage (see bench/README.md):
 *   npm run bench:proxy -- [--duration 10] [--connections 32] [--threads 1] [--warmup 2]
 *                          [--baseline-proxy] [--baseline-flags "--flush-headers --signal"]
 *                          [--only direct,girder,nginx,baseline] [--no-write] [--hold]
 *
 * --hold starts everything, prints the URLs (and a wrk command for each), and waits for Ctrl-C
 * without measuring: for attaching strace/perf or running load by hand.
 *
 * Prints a markdown table and the targets (reported, not asserted), and writes it to
 * bench/proxy/last-result.md. Everything it starts (Girder, its replica, nginx, the baseline proxy,
 * wrk) is stopped at the end, also on failure or Ctrl-C.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { BUNDLE_CONTENT_TYPE, packDir } from '../../src/control/packaging/bundle.ts';
import { Girder } from '../../src/girder.ts';

const HERE = import.meta.dirname;
const ROOT = join(HERE, '..', '..');

// ---------------------------------------------------------------------------------------------
// Options

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
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
  console.log(readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0]);
  process.exit(0);
}
const positiveInt = (name: string, v: string, min = 1): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${v}"`);
  return n;
};
const opts = {
  duration: positiveInt('duration', args.duration),
  connections: positiveInt('connections', args.connections),
  threads: positiveInt('threads', args.threads),
  warmup: positiveInt('warmup', args.warmup, 0),
  body: args.body,
};
if (opts.threads > opts.connections) throw new Error('--threads must not exceed --connections');
type PathName = 'direct' | 'girder' | 'nginx' | 'baseline';
const ALL: PathName[] = ['direct', 'girder', 'nginx', 'baseline'];
const selected = new Set<PathName>(args.only
  ? args.only.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    if (!ALL.includes(s as PathName)) throw new Error(`--only: unknown path "${s}" (use ${ALL.join(', ')})`);
    return s as PathName;
  })
  : (['direct', 'girder', 'nginx', ...(args['baseline-proxy'] ? ['baseline' as const] : [])]));

// ---------------------------------------------------------------------------------------------
// Cleanup: everything started registers how to stop it; run on success, failure and signals.

const cleanups: Array<() => Promise<void> | void> = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      try { await fn(); } catch (err) { console.error('cleanup:', (err as Error).message); }
    }
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: stopping everything…`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** Stops a child process: SIGTERM, SIGKILL after a grace period; resolves when it exited. */
function stopChild(child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => { clearTimeout(t); resolve(); });
    child.kill('SIGTERM');
  });
}

// ---------------------------------------------------------------------------------------------
// Helpers

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function which(cmd: string, fallbacks: string[] = []): string {
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, cmd))) return join(dir, cmd);
  for (const f of fallbacks) if (existsSync(f)) return f;
  throw new Error(`${cmd} not found on PATH; run bench/proxy/run.sh (it installs nginx and wrk)`);
}

/** One POST, checking that the echo came back: catches a misconfigured path before loading it. */
async function sanity(name: string, url: string, headers: Record<string, string>): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: opts.body });
  const text = await res.text();
  if (res.status !== 200 || text !== opts.body) {
    throw new Error(`${name}: sanity request to ${url} answered ${res.status}: ${text.slice(0, 300)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// wrk

interface WrkResult {
  rps: number;
  p50: number; // ms
  p99: number; // ms
  requests: number;
  socketErrors: number;
  non2xx: number;
  errors: number;
  errorDetail: string;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseWrk(out: string): WrkResult {
  const num = (re: RegExp, what: string): RegExpExecArray => {
    const m = re.exec(out);
    if (!m) throw new Error(`could not find ${what} in wrk output:\n${out}`);
    return m;
  };
  const lat = (pct: string): number => {
    const m = num(new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, 'm'), `the ${pct}% latency line`);
    return Number(m[1]) * UNIT_MS[m[2]];
  };
  const rps = Number(num(/^Requests\/sec:\s+([\d.]+)/m, 'Requests/sec')[1]);
  const requests = Number(num(/^\s*(\d+) requests in /m, 'the request count')[1]);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = sock ? sock.slice(1, 5).reduce((a, b) => a + Number(b), 0) : 0;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const detail: string[] = [];
  if (sock && socketErrors) detail.push(`socket: connect ${sock[1]}, read ${sock[2]}, write ${sock[3]}, timeout ${sock[4]}`);
  if (non2xx) detail.push(`non-2xx: ${non2xx}`);
  return { rps, p50: lat('50'), p99: lat('99'), requests, socketErrors, non2xx, errors: socketErrors + non2xx, errorDetail: detail.join('; ') };
}

function luaScript(headers: Record<string, string>): string {
  const q = (s: string) => JSON.stringify(s); // a JSON string is a valid Lua string literal for ASCII
  return [
    'wrk.method = "POST"',
    `wrk.body = ${q(opts.body)}`,
    ...Object.entries(headers).map(([k, v]) => `wrk.headers[${q(k)}] = ${q(v)}`),
    '',
  ].join('\n');
}

const wrkBin = which('wrk', ['/usr/bin/wrk']);
const running = new Set<ChildProcess>();
cleanups.push(() => Promise.all([...running].map((c) => stopChild(c, 500))).then(() => {}));

function wrk(url: string, script: string, seconds: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(wrkBin, [`-t${opts.threads}`, `-c${opts.connections}`, `-d${seconds}s`, '--latency', '-s', script, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      running.delete(child);
      if (code === 0) resolve(out);
      else reject(new Error(`wrk exited with ${signal ?? code}: ${err || out}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The three (four) paths

const work = mkdtempSync(join(tmpdir(), 'girder-bench-'));
cleanups.push(() => rmSync(work, { recursive: true, force: true }));

async function startGirder(): Promise<{ g: Girder; key: string; modelId: string; replicaPort: number }> {
  const dataDir = join(work, 'girder-data');
  const g = await Girder.start({ dataDir, port: 0 });
  cleanups.push(() => g.close());
  const key = g.newAdminKey!;
  const res = await fetch(`${g.url}/api/v1/models/push`, {
    method: 'POST', headers: { authorization: `Api-Key ${key}`, 'content-type': BUNDLE_CONTENT_TYPE },
    body: Readable.toWeb(Readable.from(packDir(join(ROOT, 'examples', 'custom-echo')))) as ReadableStream, duplex: 'half',
  } as RequestInit);
  const pushed = await res.json() as { model: { id: string }; deployment: { id: string } };
  if (!res.ok) throw new Error(`push failed: ${res.status} ${JSON.stringify(pushed)}`);
  const d = g.registry.deployments.get(pushed.deployment.id)!;
  await waitFor(() => g.supervisor.status(d).status === 'ACTIVE', 30_000, `deployment ${d.id} to be ACTIVE`);
  const replicas = g.supervisor.replicas(d.id);
  if (replicas.length !== 1) throw new Error(`expected one replica, found ${replicas.length}`);
  return { g, key, modelId: pushed.model.id, replicaPort: replicas[0].port };
}

async function startNginx(upstreamPort: number): Promise<number> {
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
  const child = spawn(bin, ['-p', dir + '/', '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  cleanups.push(() => stopChild(child));
  await waitFor(async () => {
    if (child.exitCode !== null) {
      const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '';
      throw new Error(`nginx exited (${child.exitCode}): ${stderr}${log}`);
    }
    return canConnect(port);
  }, 10_000, 'nginx to listen');
  return port;
}

async function startBaseline(upstreamPort: number): Promise<number> {
  const extra = args['baseline-flags'].split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(HERE, 'baseline-proxy.ts'), '--upstream-port', String(upstreamPort), ...extra],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => stopChild(child));
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error('baseline proxy did not start')), 10_000);
    child.once('exit', (code) => { clearTimeout(t); reject(new Error(`baseline proxy exited (${code})`)); });
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m) { clearTimeout(t); resolve(Number(m[1])); }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Main

interface Row { name: PathName; label: string; url: string; result: WrkResult }

const fmtMs = (ms: number): string => `${ms.toFixed(2)} ms`;
const fmtRps = (n: number): string => Math.round(n).toLocaleString('en-US');

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch { /* not Linux */ }
  return cpus()[0]?.model ?? 'unknown';
}

async function main(): Promise<void> {
  const started = Date.now();
  const date = new Date().toISOString();
  const labels: Record<PathName, string> = {
    direct: 'direct (echo replica)',
    girder: 'girder',
    nginx: 'nginx (1 worker)',
    baseline: `baseline undici proxy${args['baseline-flags'] ? ` (${args['baseline-flags']})` : ''}`,
  };

  console.error('starting Girder and pushing examples/custom-echo…');
  const { key, modelId, replicaPort, g } = await startGirder();
  const targets: Array<{ name: PathName; url: string; headers: Record<string, string> }> = [];
  const json = { 'Content-Type': 'application/json' };
  targets.push({ name: 'direct', url: `http://127.0.0.1:${replicaPort}/predict`, headers: json });
  targets.push({ name: 'girder', url: `${g.url}/model-${modelId}/production/predict`, headers: { ...json, Authorization: `Api-Key ${key}` } });
  if (selected.has('nginx')) {
    const port = await startNginx(replicaPort);
    targets.push({ name: 'nginx', url: `http://127.0.0.1:${port}/predict`, headers: json });
  }
  if (selected.has('baseline')) {
    const port = await startBaseline(replicaPort);
    targets.push({ name: 'baseline', url: `http://127.0.0.1:${port}/predict`, headers: json });
  }

  if (args.hold) {
    for (const t of targets) {
      if (!selected.has(t.name)) continue;
      const script = join(work, `${t.name}.lua`);
      writeFileSync(script, luaScript(t.headers));
      console.log(`${t.name}: ${t.url}\n  wrk -t${opts.threads} -c${opts.connections} -d${opts.duration}s --latency -s ${script} ${t.url}`);
    }
    console.log(`girder pid ${process.pid}, replica port ${replicaPort}${t_auth(targets)}; Ctrl-C (or SIGTERM) to stop`);
    await new Promise(() => {}); // the signal handlers clean up and exit
  }

  const rows: Row[] = [];
  for (const t of targets) {
    if (!selected.has(t.name)) continue;
    const script = join(work, `${t.name}.lua`);
    writeFileSync(script, luaScript(t.headers));
    await sanity(t.name, t.url, t.headers);
    if (opts.warmup > 0) {
      console.error(`${t.name}: warm-up ${opts.warmup} s…`);
      await wrk(t.url, script, opts.warmup);
    }
    console.error(`${t.name}: measuring ${opts.duration} s (${opts.connections} connections, ${opts.threads} thread)…`);
    const result = parseWrk(await wrk(t.url, script, opts.duration));
    console.error(`${t.name}: ${fmtRps(result.rps)} req/s, p50 ${fmtMs(result.p50)}, p99 ${fmtMs(result.p99)}, errors ${result.errors}`);
    rows.push({ name: t.name, label: labels[t.name], url: t.url, result });
  }

  const by = (n: PathName) => rows.find((r) => r.name === n)?.result;
  const direct = by('direct');
  const girder = by('girder');
  const nginx = by('nginx');
  const baseline = by('baseline');

  const lines: string[] = [];
  lines.push(`## Proxy benchmark — ${date}`, '');
  lines.push(`wrk -t${opts.threads} -c${opts.connections} -d${opts.duration}s --latency, POST \`${opts.body}\` (${Buffer.byteLength(opts.body)} B), ${opts.warmup} s warm-up before each run; upstream: examples/custom-echo (one Node replica started by Girder); nginx: worker_processes 1, upstream keepalive 64; Girder: in-process, one Node process.`, '');
  lines.push('| path | req/s | p50 | p99 | errors |', '|---|---:|---:|---:|---:|');
  for (const r of rows) {
    const e = r.result.errors ? `${r.result.errors} (${r.result.errorDetail})` : '0';
    lines.push(`| ${r.label} | ${fmtRps(r.result.rps)} | ${fmtMs(r.result.p50)} | ${fmtMs(r.result.p99)} | ${e} |`);
  }
  lines.push('');
  const mark = (ok: boolean) => (ok ? '✅ met' : '❌ not met');
  if (girder && nginx) {
    const ratio = girder.rps / nginx.rps;
    lines.push(`- Girder / nginx req/s: **${ratio.toFixed(2)}** (target ≥ 0.40): ${mark(ratio >= 0.4)}`);
  }
  if (girder && direct) {
    const delta = girder.p50 - direct.p50;
    lines.push(`- Girder p50 − direct p50: **${delta >= 0 ? '+' : ''}${delta.toFixed(2)} ms** (target ≤ 1.00 ms): ${mark(delta <= 1)}`);
  }
  if (girder) lines.push(`- Girder errors: **${girder.errors}** (target 0): ${mark(girder.errors === 0)}`);
  if (nginx && direct) lines.push(`- for reference: nginx / direct req/s ${(nginx.rps / direct.rps).toFixed(2)}, nginx p50 − direct p50 ${(nginx.p50 - direct.p50).toFixed(2)} ms`);
  if (baseline && girder) lines.push(`- for reference: Girder / baseline undici proxy req/s ${(girder.rps / baseline.rps).toFixed(2)}, baseline / nginx req/s ${nginx ? (baseline.rps / nginx.rps).toFixed(2) : 'n/a'}`);
  lines.push('');
  lines.push(`Machine: ${cpuModel()}, nproc ${cpus().length} (everything — wrk, upstream, proxy — shares these cores); Node ${process.version}; nginx ${nginxVersion()}; ${wrkVersion()}. Run took ${((Date.now() - started) / 1000).toFixed(0)} s.`);
  const text = lines.join('\n') + '\n';
  process.stdout.write('\n' + text);
  if (!args['no-write']) {
    writeFileSync(join(HERE, 'last-result.md'), text);
    console.error(`\n(written to ${join('bench', 'proxy', 'last-result.md')})`);
  }
}

function t_auth(targets: Array<{ name: PathName; headers: Record<string, string> }>): string {
  const a = targets.find((t) => t.name === 'girder')?.headers.Authorization;
  return a ? `, girder header "Authorization: ${a}"` : '';
}

function nginxVersion(): string {
  try {
    const out = spawnSyncText(which('nginx', ['/usr/sbin/nginx']), ['-v']);
    return /nginx\/(\S+)/.exec(out)?.[1] ?? '?';
  } catch { return '?'; }
}

function wrkVersion(): string {
  try { return /wrk \S+/.exec(spawnSyncText(wrkBin, ['-v']))?.[0] ?? 'wrk'; } catch { return 'wrk'; }
}

function spawnSyncText(cmd: string, argv: string[]): string {
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  return (r.stdout ?? '') + (r.stderr ?? '');
}

try {
  await main();
} catch (err) {
  console.error('bench failed:', err instanceof Error ? err.stack ?? err.message : err);
  process.exitCode = 1;
} finally {
  await cleanup();
}
