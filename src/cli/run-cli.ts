import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** For the CLI's tests: runs `girder` as a real child process, as a user would. */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `girder ARGS…` against `url` with `key` (and `env`), feeding `stdin`; resolves when it exits. */
export function runCli(
  url: string,
  key: string,
  args: string[],
  stdin = '',
  env: Record<string, string> = {},
): Promise<Run> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, GIRDER_URL: url, GIRDER_API_KEY: key, ...env },
  });
  child.stdin.end(stdin);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** Asserts a zero exit, showing the output otherwise. */
export function ok(r: Run): Run {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}
