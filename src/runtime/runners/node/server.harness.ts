/**
 * What the node runner's tests share: `start()` spawns server.ts on a fixture model (./fixtures/)
 * as Girder would, with the environment of ../PROTOCOL.md, and reads its output line by line. The
 * tests: server.test.ts (life cycle, predict, errors, logs) and server.stream.test.ts (streams).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../../../test/wait.ts';
import { freePort } from '../../ports.ts';

const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const JSON_TYPE = { 'content-type': 'application/json' };

export interface Line {
  stream: 'stdout' | 'stderr';
  raw: string;
  msg: string;
  level?: string;
  request_id?: string;
}

export interface Runner {
  url: string;
  child: ChildProcess;
  lines: Line[];
  exited: Promise<number | null>;
  /** Resolves with the first line (already written or to come) that matches. */
  line(match: (line: Line) => boolean): Promise<Line>;
  predict(body: unknown, headers?: Record<string, string>, signal?: AbortSignal): Promise<Response>;
}

export interface StartOptions {
  config?: Record<string, unknown>;
  env?: Record<string, string>;
  /** Wait for readiness (default), only liveness, or nothing. */
  wait?: 'ready' | 'live' | 'none';
}

/** Spawns the runner on a fixture as Girder would; the child is killed when the test ends. */
export async function start(t: TestContext, fixture: string, options: StartOptions = {}): Promise<Runner> {
  const port = await freePort();
  const config = {
    model_name: fixture,
    model_module_dir: 'model',
    model_class_filename: 'model.ts',
    model_class_name: 'Model',
    data_dir: 'data',
    runtime: { predict_concurrency: 1 },
    ...options.config,
  };
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', SERVER], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      GIRDER_MODEL_DIR: join(FIXTURES, fixture),
      GIRDER_CONFIG: JSON.stringify(config),
      GIRDER_ENVIRONMENT: 'null',
      ...options.env,
    },
    stdio: ['pipe', 'pipe', 'pipe'], // stdin held open, as Girder does
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);

  const lines: Line[] = [];
  const waiters: Array<{ match: (line: Line) => boolean; resolve: (line: Line) => void }> = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    createInterface({ input: child[stream]! }).on('line', (raw) => {
      const line: Line = { stream, raw, msg: raw };
      if (raw.startsWith('{')) Object.assign(line, JSON.parse(raw));
      lines.push(line);
      for (const w of waiters.filter((w) => w.match(line))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    });
  }

  const url = `http://127.0.0.1:${port}`;
  const runner: Runner = {
    url,
    child,
    lines,
    exited,
    line: (match) => {
      const seen = lines.find(match);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ match, resolve }));
    },
    predict: (body, headers = {}, signal) =>
      fetch(`${url}/v1/models/model:predict`, {
        method: 'POST',
        headers: { ...JSON_TYPE, ...headers },
        signal,
        body: body instanceof Uint8Array ? body : JSON.stringify(body),
      }),
  };
  if (options.wait !== 'none') await until(`${url}/`);
  if ((options.wait ?? 'ready') === 'ready') await until(`${url}/v1/models/model`);
  return runner;
}

/** Polls until the URL answers 200 (as long as a test may take: its own timeout stops it first). */
export const until = (url: string): Promise<boolean> =>
  waitFor(async () => (await fetch(url).catch(() => null))?.status === 200, 15_000, `${url} to answer 200`);

export async function errorOf(res: Response): Promise<string> {
  return ((await res.json()) as { error: string }).error;
}

export async function readChunk(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const { value } = await reader.read();
  return new TextDecoder().decode(value);
}
