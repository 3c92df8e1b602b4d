/**
 * What the python runner's tests share: the runner as Girder uses it, `python3 -u server.py` as a
 * child process on a free port (environment as in ../PROTOCOL.md), driven over real HTTP. Fixture
 * models live in ./fixtures/<name>/. Runners and temporary directories go when the test file ends.
 * The tests: server.test.ts (life cycle, loading), server.predict.test.ts (bodies, errors, logs,
 * concurrency), server.stream.test.ts (streams), server.errors.test.ts (what it cannot decode or
 * encode, its own errors), server.multiprocessing.test.ts (models that start processes).
 */
import { after } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../../../../test/wait.ts';
import { freePort } from '../../ports.ts';

const SERVER_PY = path.join(import.meta.dirname, 'server.py');
const FIXTURES = path.join(import.meta.dirname, 'fixtures');
export const JSON_HEADERS = { 'content-type': 'application/json' };
// GIRDER_TEST_PYTHON=/path/to/python3.9 runs the suite on another interpreter (Girder supports >= 3.9).
const PYTHON = process.env.GIRDER_TEST_PYTHON ?? 'python3';
/** How long a test waits for the runner; the deadline only keeps a broken runner from hanging the suite. */
export const WAIT_MS = 15_000;

export interface Runner {
  url: string;
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  config?: Record<string, unknown>;
  secrets?: Record<string, string>;
  env?: Record<string, string>;
  environment?: unknown;
}

const children: ChildProcess[] = [];
const tempDirs: string[] = [];

after(async () => {
  for (const child of children) {
    try {
      // The whole group, as Girder stops a replica: with it go the processes the model started,
      // which would otherwise hold the runner's output pipes open and keep this file from ending.
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'girder-pyrunner-'));
  tempDirs.push(dir);
  return dir;
}

/** Spawn server.py on a fixture the way Girder does: env per PROTOCOL.md, config already defaulted. */
export async function spawnRunner(fixture: string, options: StartOptions = {}): Promise<Runner> {
  const port = await freePort();
  const secretsDir = await tempDir();
  for (const [name, value] of Object.entries(options.secrets ?? {})) {
    await writeFile(path.join(secretsDir, name), value);
  }
  const { runtime, ...rest } = options.config ?? {};
  const config = {
    model_name: fixture,
    model_module_dir: 'model',
    model_class_filename: 'model.py',
    model_class_name: 'Model',
    data_dir: 'data',
    environment_variables: {},
    secrets: {},
    ...rest,
    runtime: { predict_concurrency: 1, ...(runtime as object | undefined) },
  };
  const child = spawn(PYTHON, ['-u', SERVER_PY], {
    env: {
      PATH: process.env.PATH,
      PYTHONDONTWRITEBYTECODE: '1',
      PORT: String(port),
      GIRDER_MODEL_DIR: path.join(FIXTURES, fixture),
      GIRDER_CONFIG: JSON.stringify(config),
      GIRDER_SECRETS_DIR: secretsDir,
      GIRDER_ENVIRONMENT: JSON.stringify(options.environment ?? null),
      BT_MODEL_ID: 'abcd1234',
      BT_MODEL_DEPLOYMENT_ID: 'dep1234',
      ...(config.environment_variables as Record<string, string>),
      ...options.env,
    },
    stdio: ['pipe', 'pipe', 'pipe'], // stdin held open, as Girder does
    detached: true, // a process group of its own, as Girder starts it
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { url: `http://127.0.0.1:${port}`, child, stdout: () => stdout, stderr: () => stderr, exited };
}

export async function startRunner(fixture: string, options: StartOptions = {}): Promise<Runner> {
  const runner = await spawnRunner(fixture, options);
  const { child } = runner;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`runner exited early (${child.exitCode}):\n${runner.stderr()}`);
      return (await get(runner, '/'))?.status === 200;
    },
    WAIT_MS,
    'the runner to listen',
  );
  return runner;
}

export async function startReady(fixture: string, options: StartOptions = {}): Promise<Runner> {
  const runner = await startRunner(fixture, options);
  await waitFor(async () => (await get(runner, '/v1/models/model'))?.status === 200, WAIT_MS, 'the model to be ready');
  return runner;
}

async function get(runner: Runner, urlPath: string): Promise<Response | undefined> {
  try {
    return await fetch(runner.url + urlPath);
  } catch {
    return undefined; // not listening yet
  }
}

export function predict(runner: Runner, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${runner.url}/v1/models/model:predict`, {
    method: 'POST',
    headers: { ...JSON_HEADERS, ...headers },
    body: JSON.stringify(body),
  });
}

/** Read from a streamed body until `text` has arrived; returns everything read so far. */
export async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  text: string,
  sofar = '',
): Promise<string> {
  const decoder = new TextDecoder();
  while (!sofar.includes(text)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`stream ended before ${JSON.stringify(text)}; got ${JSON.stringify(sofar)}`);
    sofar += decoder.decode(value, { stream: true });
  }
  return sofar;
}

export function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
