/**
 * bench/build: in one run, rounds interleaved, with Girder in this process:
 *  1. a cold build: a push of a Truss model with two small requirements (six, attrs; each round a
 *     requirement line of its own, so that nothing is cached), from the push to BUILT and to ACTIVE;
 *  2. a cached build: the same requirements pushed again, beside the same model without any
 *     requirements (no build at all), from the push to its first answer: the difference is what a
 *     cached build adds to a push (target: under 1 s);
 *  3. the start of a replica from zero in a virtualenv, beside one without: from a request to a
 *     deployment at zero replicas to its answer.
 * pip uses this machine's configuration (a local index first when /opt/pypi has one, as the tests do).
 * Prints a markdown table and writes it to bench/build/last-result.md.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { builtStatus, modelDir, preferLocalIndex, trussModel } from '../../test/builds.harness.ts';
import { call, startGirder } from '../../test/helpers.ts';
import { waitFor } from '../../test/wait.ts';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Number(args.rounds);
preferLocalIndex();
const cleanups: (() => Promise<void> | void)[] = [];
const t = { after: (fn: () => Promise<void> | void) => cleanups.push(fn) };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x: number) => `${Math.round(x)} ms`;
const girder = await startGirder(t);
const predict = (modelId: string, target: string) =>
  call(`${girder.url}/model-${modelId}/${target}/predict`, { headers: girder.auth, body: '{}' });

const plain = 'model_name: bench\n';
const withReqs = (extra: string) => `model_name: bench\nrequirements:\n  - six\n  - attrs${extra}\n`;
const model = (config: string) => modelDir(t, trussModel(config, 'import six', '1'));
const noReqsModel = modelDir(t, trussModel(plain, '', '1'));
// Production first, so that later pushes stay at zero replicas until called.
await girder.deploy(noReqsModel);

/** From the push to the first answer of the new deployment (woken by that request if at zero). */
async function pushToAnswer(dir: string): Promise<{ push: number; built: number; answer: number }> {
  const t0 = performance.now();
  const r = await girder.push(dir);
  const push = performance.now() - t0;
  await builtStatus(girder.g, r.deployment.id);
  const built = performance.now() - t0;
  await waitFor(
    async () => (await predict(r.model.id, `deployment/${r.deployment.id}`)).status === 200,
    60_000,
    'an answer',
  );
  return { push, built, answer: performance.now() - t0 };
}

/** From a request to a deployment at zero replicas to its answer. */
async function coldStart(dir: string): Promise<number> {
  const r = await girder.push(dir);
  await builtStatus(girder.g, r.deployment.id);
  const t0 = performance.now();
  const a = await predict(r.model.id, `deployment/${r.deployment.id}`);
  if (a.status !== 200) throw new Error(`cold start answered ${a.status}: ${a.text}`);
  return performance.now() - t0;
}

const cold = { push: [] as number[], built: [] as number[], answer: [] as number[] };
const cached: number[] = [];
const none: number[] = [];
const startVenv: number[] = [];
const startPlain: number[] = [];
const cachedDir = model(withReqs(''));
await pushToAnswer(cachedDir); // its environment, built once
for (let i = 0; i < rounds; i++) {
  const c = await pushToAnswer(model(withReqs(`>=${i + 1}.0  # round ${i}`)));
  cold.push.push(c.push);
  cold.built.push(c.built);
  cold.answer.push(c.answer);
  cached.push((await pushToAnswer(cachedDir)).answer);
  none.push((await pushToAnswer(noReqsModel)).answer);
  startVenv.push(await coldStart(cachedDir));
  startPlain.push(await coldStart(noReqsModel));
}

const rows = [
  `| measure (median of ${rounds}) | time |`,
  '| --- | ---: |',
  `| cold build, two requirements: push answered | ${ms(median(cold.push))} |`,
  `| cold build, two requirements: push → BUILT | ${ms(median(cold.built))} |`,
  `| cold build, two requirements: push → first answer | ${ms(median(cold.answer))} |`,
  `| cached build: push → first answer | ${ms(median(cached))} |`,
  `| no build (no requirements): push → first answer | ${ms(median(none))} |`,
  `| **what a cached build adds to a push** (target < 1000 ms) | **${ms(median(cached) - median(none))}** |`,
  `| replica start from zero, in a virtualenv | ${ms(median(startVenv))} |`,
  `| replica start from zero, without | ${ms(median(startPlain))} |`,
  `| **extra start time in a virtualenv** | **${ms(median(startVenv) - median(startPlain))}** |`,
];
const table = [
  `bench/build, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), node ${process.version}`,
  `pip index: ${process.env.PIP_INDEX_URL ?? "this machine's pip configuration"}`,
  '',
  ...rows,
].join('\n');
console.log(table);
writeFileSync(new URL('./last-result.md', import.meta.url), `${table}\n`);
for (const fn of cleanups.reverse()) await fn();
