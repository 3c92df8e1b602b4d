import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from '../src/cli/run-cli.ts';
import { example, ROOT } from './helpers.ts';
import { serve } from './process.ts';
import { tempDir } from './temp-dir.ts';
import { waitFor } from './wait.ts';

/**
 * What the README's quickstart prints must work as pasted: each snippet runs here in a fresh bash,
 * whose environment has no GIRDER_API_KEY, exactly as a user would paste it into another terminal.
 */

/** Runs a pasted snippet in a fresh login-less bash without Girder's variables; resolves with its output. */
function paste(script: string): Promise<{ code: number | null; out: string }> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
  const child = spawn('bash', ['-c', script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
}

/** The lines of a printed block from `first` (a line that starts with it) to the line that starts with `last`. */
function block(text: string, first: string, last: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(first));
  assert.ok(start >= 0, `no line starting with ${JSON.stringify(first)} in:\n${text}`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith(last));
  assert.ok(end >= 0, `no line starting with ${JSON.stringify(last)} after it in:\n${text}`);
  return lines.slice(start, end + 1);
}

/** The printed line that sets the key in a fresh shell. */
function exportOf(text: string): string {
  const line = text.split('\n').find((l) => l.startsWith('export GIRDER_API_KEY='));
  assert.ok(line, `no export line in:\n${text}`);
  return line;
}
const python = (text: string): string => block(text, 'import os, requests', 'print(resp.json())').join('\n');

test('the curl and Python snippets `girder serve --examples` prints run as pasted in a fresh shell', async () => {
  const dataDir = tempDir({ after });
  const served = await serve({ after }, dataDir, {}, ['--examples']);
  await waitFor(() => served.output().includes('print(resp.json())'), 120_000, 'the quickstart snippets');
  const out = served.output();
  const set = exportOf(out);
  const curl = block(out, '# hello-ts', 'curl ')[1];
  const viaCurl = await paste(`${set}\n${curl}`);
  assert.equal(viaCurl.code, 0, viaCurl.out);
  assert.deepEqual(JSON.parse(viaCurl.out), { greeting: 'Hello, Ada!' });
  const viaPython = await paste(`${set}\npython3 - <<'EOF'\n${python(out)}\nEOF`);
  assert.equal(viaPython.code, 0, viaPython.out);
  assert.match(viaPython.out, /\{'hello': 'world'\}/, 'the first example, custom-echo, echoes its input');
  const v1 = block(out, '# llm-stand-in through the OpenAI-compatible API', 'curl ')[1];
  const viaV1 = await paste(`${set}\n${v1}`);
  assert.equal(viaV1.code, 0, viaV1.out);
  assert.equal(JSON.parse(viaV1.out).choices[0].message.content, 'echo: Hello');
  const missing = await paste(curl);
  assert.match(missing.out, /No API key was sent/, 'without the export line, the answer says what is missing');
  served.child.kill('SIGTERM');
  await served.exited;
});

test('the curl and Python snippets `girder push` prints run as pasted, with the key from the data dir', async () => {
  const dataDir = tempDir({ after });
  const served = await serve({ after }, dataDir);
  // As a user runs the CLI beside `girder serve`: no key in the environment, the data dir's admin key.
  const r = await runCli(served.url, '', ['push', example('hello-ts'), '--timeout', '60'], '', {
    GIRDER_DATA_DIR: dataDir,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(exportOf(r.stdout), new RegExp(join(dataDir, 'admin-key').replace(/[/.]/g, '\\$&')));
  const curl = r.stdout.split('\n').find((l) => l.startsWith('curl '))!;
  const viaCurl = await paste(`${exportOf(r.stdout)}\n${curl}`);
  assert.equal(viaCurl.code, 0, viaCurl.out);
  assert.ok(JSON.parse(viaCurl.out).greeting, viaCurl.out);
  const viaPython = await paste(`${exportOf(r.stdout)}\npython3 - <<'EOF'\n${python(r.stdout)}\nEOF`);
  assert.equal(viaPython.code, 0, viaPython.out);
  assert.match(viaPython.out, /\{'greeting': 'Hello, Ada!'\}/);
  served.child.kill('SIGTERM');
  await served.exited;
});
