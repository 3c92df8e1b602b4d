import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ROOT, call } from './helpers.ts';
import { waitFor } from './wait.ts';

/** Helpers for tests that run `girder serve` as a real process. */

export interface Served {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** Runs `girder serve` as a real process on port 0 and waits until it listens. */
export async function serve(
  t: { after: (fn: () => Promise<void>) => void },
  dataDir: string,
  env: Record<string, string> = {},
  flags: string[] = [],
): Promise<Served> {
  const child = spawn(process.execPath, ['src/cli/main.ts', 'serve', '--port', '0', '--data-dir', dataDir, ...flags], {
    cwd: ROOT,
    env: { ...process.env, GIRDER_API_KEY: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Whatever the test did, neither its server nor the server's replicas outlive it (a live child would
  // also hang the test file).
  t.after(() => stop(child, exited));
  await waitFor(
    () => /listening on (http:\/\/\S+)/.test(out) || child.exitCode !== null,
    20_000,
    'girder serve to listen',
  );
  const m = /listening on (http:\/\/\S+)/.exec(out);
  if (!m) throw new Error(`girder serve did not start:\n${out}`);
  return { child, url: m[1], output: () => out, exited };
}

/** How long a `girder serve` may take to stop its replicas and exit on SIGTERM. */
const STOP_MS = 15_000;

/**
 * Stops a `girder serve` still running as an operator would, with SIGTERM, so that it stops its
 * replicas. A SIGKILL would leave its custom servers running (they do not watch their stdin, and only
 * a later start on the same data dir reaps them), in a test folder deleted meanwhile. Fails the test
 * if Girder does not exit in time (it is then killed).
 */
async function stop(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_MS)));
  const outcome = await Promise.race([exited, late]);
  clearTimeout(timer);
  if (outcome === 'late') {
    child.kill('SIGKILL');
    throw new Error(`girder serve (pid ${child.pid}) did not exit within ${STOP_MS} ms of SIGTERM`);
  }
}

/** Calls predict until it answers 200 (the replica may still be starting); returns the JSON. */
export async function predictOk(url: string, key: string, path: string, body: unknown): Promise<any> {
  let last: Awaited<ReturnType<typeof call>> | undefined;
  await waitFor(
    async () => {
      last = await call(`${url}${path}`, { headers: { authorization: `Api-Key ${key}` }, body: JSON.stringify(body) });
      return last.status === 200;
    },
    30_000,
    `200 from ${path}`,
  );
  return last!.json;
}

/** Whether a process runs: a zombie (exited, not yet reaped by an init that may never reap) does not. */
export const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};
