/**
 * Shared pieces of the proxy benchmarks (bench.ts, layers.ts): cleanup on exit and signals, child
 * processes, wrk, CPU accounting from /proc, and starting a Girder that serves examples/custom-echo.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Girder } from '../../src/girder.ts';
import { newApiKey } from '../../src/ids.ts';
import { pushDir } from '../../test/helpers.ts';
import { waitFor } from '../../test/wait.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
const ECHO_DIR = join(ROOT, 'examples', 'custom-echo');

// ---------------------------------------------------------------------------------------------
// Cleanup: everything started registers how to stop it; run on success, failure and signals.

const cleanups: Array<() => Promise<void> | void> = [];
/** wrk processes running now. */
const running = new Set<ChildProcess>();
let cleaning: Promise<void> | undefined;

/** Registers a stop function; they run in reverse order of registration. */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/** Whether the cleanup started (after Ctrl-C, failures of what it stopped are expected). */
const cleaningUp = (): boolean => cleaning !== undefined;

/** Runs a benchmark's main: reports a failure (exit code 1) unless Ctrl-C caused it, and always cleans up. */
export async function runBench(name: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (!cleaningUp()) {
      console.error(`${name} failed:`, err instanceof Error ? (err.stack ?? err.message) : err);
      process.exitCode = 1;
    }
  } finally {
    await cleanup();
  }
}

export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    // Load first, so that nothing is in flight when the servers stop.
    await Promise.all([...running].map((c) => stopChild(c, 500)));
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error('cleanup:', (err as Error).message);
      }
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
export function stopChild(child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

// ---------------------------------------------------------------------------------------------
// Small helpers

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** The path of a command on PATH (or the first fallback that exists). */
export function which(cmd: string, fallbacks: string[] = []): string {
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, cmd))) return join(dir, cmd);
  for (const f of fallbacks) if (existsSync(f)) return f;
  throw new Error(`${cmd} not found on PATH; run bench/proxy/run.sh (it installs nginx and wrk)`);
}

export function spawnSyncText(cmd: string, argv: string[]): string {
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  return (r.stdout ?? '') + (r.stderr ?? '');
}

/** One POST, checking that the echo came back: catches a misconfigured path before loading it. */
export async function sanity(name: string, url: string, headers: Record<string, string>, body: string): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  if (res.status !== 200 || text !== body) {
    throw new Error(`${name}: sanity request to ${url} answered ${res.status}: ${text.slice(0, 300)}`);
  }
}

export const fmtMs = (ms: number): string => `${ms.toFixed(2)} ms`;
export const fmtRps = (n: number): string => Math.round(n).toLocaleString('en-US');

export function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch {
    /* not Linux */
  }
  return cpus()[0]?.model ?? 'unknown';
}

export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return '?';
  }
}

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc (Linux): user + system time of a set of processes, in µs.

const TICK_US = 1e6 / (Number(spawnSyncText('getconf', ['CLK_TCK']).trim()) || 100);

function procStat(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
  } catch {
    return undefined;
  }
}

export function cpuUs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const f = procStat(pid);
    if (f) ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
  }
  return ticks * TICK_US;
}

/** Processes whose process group is `pgid` (a replica runs in a group of its own). */
export function groupPids(pgid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = procStat(Number(d));
    if (f && Number(f[2]) === pgid) out.push(Number(d)); // pgrp (field 5)
  }
  return out;
}

export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------
// wrk

export interface WrkResult {
  rps: number;
  /** ms */
  p50: number;
  /** ms */
  p99: number;
  requests: number;
  socketErrors: number;
  non2xx: number;
  errors: number;
  errorDetail: string;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Reads wrk's report (run with --latency): Requests/sec, the 50% and 99% lines, errors. */
export function parseWrk(out: string): WrkResult {
  const find = (re: RegExp, what: string): RegExpExecArray => {
    const m = re.exec(out);
    if (!m) throw new Error(`could not find ${what} in wrk output:\n${out}`);
    return m;
  };
  const lat = (pct: string): number => {
    const m = find(new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, 'm'), `the ${pct}% latency line`);
    return Number(m[1]) * UNIT_MS[m[2]];
  };
  const rps = Number(find(/^Requests\/sec:\s+([\d.]+)/m, 'Requests/sec')[1]);
  const requests = Number(find(/^\s*(\d+) requests in /m, 'the request count')[1]);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = sock ? sock.slice(1, 5).reduce((a, b) => a + Number(b), 0) : 0;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const detail: string[] = [];
  if (sock && socketErrors)
    detail.push(`socket: connect ${sock[1]}, read ${sock[2]}, write ${sock[3]}, timeout ${sock[4]}`);
  if (non2xx) detail.push(`non-2xx: ${non2xx}`);
  return {
    rps,
    p50: lat('50'),
    p99: lat('99'),
    requests,
    socketErrors,
    non2xx,
    errors: socketErrors + non2xx,
    errorDetail: detail.join('; '),
  };
}

/** A wrk script that POSTs `body` with `headers`. */
export function luaScript(body: string, headers: Record<string, string>): string {
  const q = (s: string) => JSON.stringify(s); // a JSON string literal is a valid Lua one for ASCII text
  return [
    '-- Written by bench/proxy',
    'wrk.method = "POST"',
    `wrk.body = ${q(body)}`,
    ...Object.entries(headers).map(([k, v]) => `wrk.headers[${q(k)}] = ${q(v)}`),
    '',
  ].join('\n');
}

let wrkBin: string | undefined;

export function wrkVersion(): string {
  try {
    return /wrk \S+/.exec(spawnSyncText(which('wrk', ['/usr/bin/wrk']), ['-v']))?.[0] ?? 'wrk';
  } catch {
    return 'wrk';
  }
}

/** Runs wrk with --latency and resolves with its report. */
export function runWrk(opts: {
  threads: number;
  connections: number;
  seconds: number;
  script: string;
  url: string;
}): Promise<string> {
  wrkBin ??= which('wrk', ['/usr/bin/wrk']);
  return new Promise((resolve, reject) => {
    const child = spawn(
      wrkBin!,
      [`-t${opts.threads}`, `-c${opts.connections}`, `-d${opts.seconds}s`, '--latency', '-s', opts.script, opts.url],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
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
// Girder serving examples/custom-echo

export interface EchoGirder {
  g: Girder;
  key: string;
  modelId: string;
  deploymentId: string;
  /** The replica's loopback port: "direct". */
  replicaPort: number;
  /** The replica's process group (its shell and the node server). */
  replicaPid: number;
  /** `${g.url}/model-${modelId}/production/predict` */
  predictUrl: string;
}

/**
 * Starts a Girder in this process on port 0, pushes examples/custom-echo through the management API
 * (pushDir from test/helpers.ts, as `girder push` does) and waits until the deployment is ACTIVE.
 * Closed by cleanup().
 */
export async function startEchoGirder(dataDir: string): Promise<EchoGirder> {
  const g = await Girder.start({ dataDir, port: 0 });
  onCleanup(() => g.close());
  const key = g.newAdminKey!;
  const pushed = await pushDir(g.url, key, ECHO_DIR);
  const d = g.registry.deployments.get(pushed.deployment.id)!;
  await waitFor(() => g.supervisor.status(d).status === 'ACTIVE', 30_000, `deployment ${d.id} to be ACTIVE`);
  const replicas = g.supervisor.replicas(d.id);
  if (replicas.length !== 1) throw new Error(`expected one replica, found ${replicas.length}`);
  return {
    g,
    key,
    modelId: pushed.model.id,
    deploymentId: d.id,
    replicaPort: replicas[0].port,
    replicaPid: replicas[0].pid ?? 0,
    predictUrl: `${g.url}/model-${pushed.model.id}/production/predict`,
  };
}

export interface ServedEcho {
  /** The `girder serve` process. */
  pid: number;
  key: string;
  /** The replica's loopback port: "direct". */
  replicaPort: number;
  /** The replica's process group (its node server). */
  replicaPid: number;
  predictUrl: string;
}

/**
 * Starts `girder serve` as its own process, as a user runs it, and pushes examples/custom-echo to it.
 * The benchmark's own work then never counts as Girder's CPU time.
 */
export async function startGirderServe(dataDir: string): Promise<ServedEcho> {
  const key = newApiKey();
  // e.g. GIRDER_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/girder-prof" to profile Girder alone.
  const nodeFlags = (process.env.GIRDER_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(
    process.execPath,
    [...nodeFlags, join(ROOT, 'src', 'cli', 'main.ts'), 'serve', '--port', '0', '--data-dir', dataDir],
    {
      env: { ...process.env, GIRDER_API_KEY: key },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  onCleanup(() => stopChild(child, 10_000));
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await waitFor(
    () => /listening on (http:\/\/\S+)/.test(out) || child.exitCode !== null,
    30_000,
    'girder serve to listen',
  );
  const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
  if (!url) throw new Error(`girder serve did not start:\n${out}`);
  const auth = { authorization: `Api-Key ${key}` };
  const pushed = await pushDir(url, key, ECHO_DIR);
  const deploymentUrl = `${url}/api/v1/models/${pushed.model.id}/deployments/${pushed.deployment.id}`;
  await waitFor(
    async () =>
      ((await (await fetch(deploymentUrl, { headers: auth })).json()) as { status: string }).status === 'ACTIVE',
    30_000,
    'the echo deployment to be ACTIVE',
  );
  // The replica's group leader is in Girder's replica record, and its port in its environment.
  let replicaPid = 0;
  await waitFor(
    () => {
      try {
        replicaPid = (JSON.parse(readFileSync(join(dataDir, 'run', 'replicas.json'), 'utf8')) as number[])[0] ?? 0;
      } catch {
        /* not written yet */
      }
      return replicaPid > 0;
    },
    10_000,
    'the replica record',
  );
  const port = /(?:^|\0)PORT=(\d+)/.exec(readFileSync(`/proc/${replicaPid}/environ`, 'utf8'))?.[1];
  if (!port) throw new Error(`no PORT in the environment of replica ${replicaPid}`);
  return {
    pid: child.pid!,
    key,
    replicaPort: Number(port),
    replicaPid,
    predictUrl: `${url}/model-${pushed.model.id}/production/predict`,
  };
}
