/**
 * bench/coldstart: in one run,
 *  1. cold starts: the time from a request to a deployment at zero replicas to its response, for a
 *     TypeScript model (examples/hello-ts), a Python model (examples/hello-python) and a custom server
 *     (examples/custom-echo), rounds interleaved, beside the time to start an empty `node` and an empty
 *     `python3` on the same machine, and a bare `node:http` server's time to its first answer; with
 *     each cold start's phases from the scaling events;
 *  2. a step from 1 to 20 concurrent clients on a model with concurrency_target 1 and max_replica 4
 *     (the behaviours fixture, predict_concurrency 1, 50 ms per request): the time until 4 replicas
 *     serve, and the latency of the requests sent during the step.
 * Girder runs in this process with its production settings (1 s ticks, real durations). Prints a
 * markdown table and writes it to bench/coldstart/last-result.md.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { freePort } from '../../src/runtime/ports.ts';
import type { DeploymentRecord } from '../../src/records/control.ts';
import { call, example, fixture, modelCopy, startGirder } from '../../test/helpers.ts';
import { waitFor } from '../../test/wait.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    'step-seconds': { type: 'string', default: '10' },
  },
});
const rounds = Number(args.rounds);
const cleanups: (() => Promise<void> | void)[] = [];
const t = { after: (fn: () => Promise<void> | void) => cleanups.push(fn) };
const tmp = mkdtempSync(join(tmpdir(), 'girder-bench-coldstart-'));
cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const median = (xs: number[]) => pct(xs, 50);
const ms = (x: number) => `${Math.round(x)} ms`;

/** Wall time from spawning a bare `node:http` server to its first answer, polled every 2 ms. */
async function timeBareServer(port: number): Promise<number> {
  const t0 = performance.now();
  const server = `require('node:http').createServer((q, s) => s.end()).listen(${port}, '127.0.0.1')`;
  const child = spawn(process.execPath, ['-e', server], { stdio: 'ignore' });
  try {
    for (;;) {
      const ok = await request(`http://127.0.0.1:${port}/`).then(
        (r) => r.body.dump().then(() => true),
        () => false,
      );
      if (ok) return performance.now() - t0;
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    child.kill();
  }
}

/** Wall time from spawning `cmd args` to its exit. */
function timeStart(cmd: string, cmdArgs: string[]): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, cmdArgs, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolve(performance.now() - t0));
  });
}

try {
  const g = await startGirder(t, { dataDir: join(tmp, 'data') });
  const api = (path: string, method = 'GET', body?: unknown) =>
    call(`${g.url}/api/v1${path}`, {
      method,
      headers: g.auth,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const kinds = [
    { name: 'TypeScript model (hello-ts)', dir: example('hello-ts'), input: { name: 'Ada' } },
    { name: 'Python model (hello-python)', dir: example('hello-python'), input: { text: 'a cold start' } },
    { name: 'custom server (custom-echo)', dir: example('custom-echo'), input: { hello: 'world' } },
  ];
  const models: ((typeof kinds)[number] & { id: string; deployment: DeploymentRecord })[] = [];
  for (const k of kinds) {
    const pushed = await g.deploy(k.dir);
    // Zero as soon as a request is done: scale_down_delay 0, a valid Baseten setting.
    await api(`/models/${pushed.model.id}/environments/production`, 'PATCH', {
      autoscaling_settings: { min_replica: 0, scale_down_delay: 0 },
    });
    models.push({ ...k, id: pushed.model.id, deployment: g.g.registry.deployments.get(pushed.deployment.id)! });
  }
  const atZero = (d: DeploymentRecord) =>
    waitFor(() => g.g.supervisor.replicas(d.id).length === 0, 30_000, `${d.id} at zero, its process gone`).catch(
      (err) => {
        const states = g.g.supervisor.replicas(d.id).map((r) => r.state);
        throw new Error(
          `${err.message}: ${JSON.stringify(states)} ${JSON.stringify(g.g.autoscaler.report(d).events.slice(-3))}`,
        );
      },
    );

  const results = new Map<string, { total: number[]; process: number[]; load: number[] }>();
  const empty = { node: [] as number[], python: [] as number[], server: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    empty.node.push(await timeStart(process.execPath, ['-e', '']));
    empty.python.push(await timeStart('python3', ['-c', '']));
    empty.server.push(await timeBareServer(await freePort()));
    for (const m of models) {
      await atZero(m.deployment);
      const t0 = performance.now();
      const r = await call(`${g.url}/model-${m.id}/production/predict`, {
        headers: g.auth,
        body: JSON.stringify(m.input),
      });
      const took = performance.now() - t0;
      if (r.status !== 200) throw new Error(`${m.name}: ${r.status} ${r.text}`);
      const start = g.g.autoscaler.report(m.deployment).cold_starts.at(-1)!;
      const row = results.get(m.name) ?? { total: [], process: [], load: [] };
      row.total.push(took);
      row.process.push(start.process_ms);
      row.load.push(start.load_ms);
      results.set(m.name, row);
    }
  }

  // The step: 1 client on one warm replica, then 20 at once.
  const stepped = await g.deploy(modelCopy(t, fixture('behaviours'), { model_name: 'bench-step' }));
  await api(`/models/${stepped.model.id}/environments/production`, 'PATCH', {
    autoscaling_settings: { min_replica: 1, max_replica: 4, concurrency_target: 1 },
  });
  const stepDeployment = g.g.registry.deployments.get(stepped.deployment.id)!;
  const url = `${g.url}/model-${stepped.model.id}/production/predict`;
  const body = JSON.stringify({ sleep_ms: 50 });
  let clients = 1;
  let stepAt = Number.POSITIVE_INFINITY;
  const stepLatencies: number[] = [];
  let errors = 0;
  const loop = async (i: number) => {
    while (i < clients) {
      const t0 = performance.now();
      const r = await call(url, { headers: g.auth, body });
      if (r.status !== 200) errors++;
      if (t0 >= stepAt) stepLatencies.push(performance.now() - t0);
    }
  };
  const loops = [loop(0)];
  await new Promise((r) => setTimeout(r, 3000));
  stepAt = performance.now();
  clients = 20;
  for (let i = 1; i < 20; i++) loops.push(loop(i));
  await waitFor(() => g.g.supervisor.status(stepDeployment).active_replica_count >= 4, 60_000, '4 replicas');
  const toFour = performance.now() - stepAt;
  await new Promise((r) => setTimeout(r, Number(args['step-seconds']) * 1000 - toFour));
  clients = 0;
  await Promise.all(loops);

  const node = median(empty.node);
  const python = median(empty.python);
  const ratio = (x: number, base: number) => `${(x / base).toFixed(1)}×`;
  const lines = [
    `## Cold-start benchmark — ${new Date().toISOString()}`,
    '',
    `Girder in one process, production settings (1 s ticks); ${rounds} rounds interleaved, medians; ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}); Node ${process.version}; load average before the step ${loadavg()[0].toFixed(2)}.`,
    '',
    '| request at zero replicas → response | median | min – max | process up | model load | vs empty start | target |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [name, r] of results) {
    const base = name.startsWith('Python') ? python : node;
    const target = name.startsWith('TypeScript') ? '≤ 3×' : name.startsWith('Python') ? '≤ 4×' : '';
    lines.push(
      `| ${name} | ${ms(median(r.total))} | ${ms(Math.min(...r.total))} – ${ms(Math.max(...r.total))} | ${ms(median(r.process))} | ${ms(median(r.load))} | ${ratio(median(r.total), base)} | ${target} |`,
    );
  }
  lines.push(
    `| empty \`node -e ''\` | ${ms(node)} | ${ms(Math.min(...empty.node))} – ${ms(Math.max(...empty.node))} | | | | |`,
    `| empty \`python3 -c ''\` | ${ms(python)} | ${ms(Math.min(...empty.python))} – ${ms(Math.max(...empty.python))} | | | | |`,
    `| bare \`node:http\` server, spawn → first answer | ${ms(median(empty.server))} | ${ms(Math.min(...empty.server))} – ${ms(Math.max(...empty.server))} | | | | |`,
    '',
    '| step from 1 to 20 clients (concurrency_target 1, max_replica 4, 50 ms requests) | value |',
    '|---|---:|',
    `| time until 4 replicas serve | ${ms(toFour)} |`,
    `| requests during the step (${args['step-seconds']} s) | ${stepLatencies.length} |`,
    `| latency p50 / p99 during the step | ${ms(pct(stepLatencies, 50))} / ${ms(pct(stepLatencies, 99))} |`,
    `| errors | ${errors} |`,
  );
  const table = lines.join('\n');
  console.log(table);
  writeFileSync(join(import.meta.dirname, 'last-result.md'), `${table}\n`);
} finally {
  for (const fn of cleanups.reverse()) await fn();
}
