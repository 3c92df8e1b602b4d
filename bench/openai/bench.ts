/**
 * bench/openai: chat-completion streams through Girder's OpenAI-compatible API against the same
 * stand-in LLM server (examples/llm-stand-in) called directly, in one run:
 *  1. one stream at a time: time to first token and time between tokens, p50 and p99;
 *  2. 64 concurrent streams: the same;
 *  3. Girder's memory (RSS) with 1,000 concurrent open streams.
 * Girder runs as users run it (`girder serve`, its own process); the stand-in it deploys is the same
 * server as the direct one. Prints a markdown table and writes it to bench/openai/last-result.md.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { newApiKey } from '../../src/ids.ts';
import { modelCopy, pushDir } from '../../test/helpers.ts';
import { waitFor } from '../../test/wait.ts';
import { cpuModel, loadAverage, onCleanup, ROOT, runBench, stopChild } from '../proxy/lib.ts';
import { agent, type LoadResult, load, pct, streamOnce, type Target } from './streams.ts';

const { values: args } = parseArgs({
  options: {
    streams: { type: 'string', default: '300' },
    duration: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '64' },
    words: { type: 'string', default: '20' },
    delay: { type: 'string', default: '5' },
    open: { type: 'string', default: '1000' },
    'no-write': { type: 'boolean', default: false },
  },
});
const STAND_IN = join(ROOT, 'examples', 'llm-stand-in');
const standIn = { words: Number(args.words), delay_ms: Number(args.delay) };

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function started(child: ChildProcess, re: RegExp, what: string): Promise<RegExpExecArray> {
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  return waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`${what}: the process exited:\n${out}`);
      return re.exec(out);
    },
    30_000,
    what,
  );
}

/** The stand-in alone, as the "direct" upstream. */
async function directStandIn(): Promise<Target> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(STAND_IN, 'server.mjs'), '--port', String(port)], { stdio: 'ignore' });
  onCleanup(() => stopChild(child));
  const url = new URL(`http://127.0.0.1:${port}/v1/chat/completions`);
  await waitFor(
    () =>
      fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.ok,
        () => false,
      ),
    10_000,
    'the stand-in',
  );
  return { name: 'direct', url, headers: {} };
}

/** `girder serve` in its own process, with the stand-in deployed (slots for every open stream). */
async function girderServe(
  tmp: string,
): Promise<{ target: Target; pid: number; release: (name: string) => Promise<void> }> {
  const key = newApiKey();
  const child = spawn(
    process.execPath,
    [join(ROOT, 'src/cli/main.ts'), 'serve', '--port', '0', '--data-dir', join(tmp, 'data')],
    {
      env: { ...process.env, GIRDER_API_KEY: key },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  onCleanup(() => stopChild(child, 10_000));
  const url = (await started(child, /listening on (http:\/\/\S+)/, 'girder serve to listen'))[1];
  const dir = modelCopy({ after: onCleanup }, STAND_IN, { runtime: { predict_concurrency: Number(args.open) + 64 } });
  const pushed = await pushDir(url, key, dir);
  const auth = { authorization: `Api-Key ${key}` };
  const deployment = `${url}/api/v1/models/${pushed.model.id}/deployments/${pushed.deployment.id}`;
  await waitFor(
    async () => ((await (await fetch(deployment, { headers: auth })).json()) as { status: string }).status === 'ACTIVE',
    30_000,
    'the stand-in deployment to be ACTIVE',
  );
  const release = async (name: string) => {
    await fetch(`${url}/model-${pushed.model.id}/production/sync/stand-in/release/${name}`, {
      method: 'POST',
      headers: auth,
    });
  };
  return {
    target: { name: 'girder', url: new URL(`${url}/v1/chat/completions`), headers: auth },
    pid: child.pid!,
    release,
  };
}

/** Resident memory of a process, in KiB. */
function rssKiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN);
}

/** `open` streams held open through Girder after their first chunk; Girder's RSS before and while. */
async function openStreams(
  target: Target,
  pid: number,
  open: number,
  release: (name: string) => Promise<void>,
): Promise<{ idle: number; peak: number }> {
  const idle = rssKiB(pid);
  let firsts = 0;
  const streams = Array.from({ length: open }, () => streamOnce(target, { hold: 'memory', words: 5 }, () => firsts++));
  await waitFor(() => firsts === open, 120_000, `${open} open streams`);
  await new Promise((r) => setTimeout(r, 1000));
  const peak = rssKiB(pid);
  await release('memory');
  await Promise.all(streams);
  return { idle, peak };
}

const ms = (x: number): string => `${x.toFixed(2)} ms`;
const plus = (a: number, b: number): string => `${b - a >= 0 ? '+' : ''}${(b - a).toFixed(2)} ms`;

function rows(label: string, direct: LoadResult, girder: LoadResult): string[] {
  const r: string[] = [];
  for (const [what, d, g] of [
    ['time to first token', direct.ttft, girder.ttft],
    ['time between tokens', direct.gaps, girder.gaps],
  ] as const) {
    for (const p of [50, 99]) {
      r.push(`| ${label}: ${what}, p${p} | ${ms(pct(d, p))} | ${ms(pct(g, p))} | ${plus(pct(d, p), pct(g, p))} |`);
    }
  }
  r.push(
    `| ${label}: tokens that came in one read with the one before | ${direct.joined} of ${direct.tokens} | ${girder.joined} of ${girder.tokens} | ${girder.joined - direct.joined} |`,
  );
  return r;
}

await runBench('bench/openai', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'girder-bench-openai-'));
  onCleanup(() => rmSync(tmp, { recursive: true, force: true }));
  const direct = await directStandIn();
  const girder = await girderServe(tmp);
  console.error(`warming up; then ${args.streams} single streams each way, ${args.duration} s at ${args.concurrency}…`);
  await load(direct, standIn, 8, 200);
  await load(girder.target, standIn, 8, 200);

  // Interleaved thirds, so that a slow spell of the machine hits both paths alike.
  const n = Math.ceil(Number(args.streams) / 3);
  const single: Record<string, LoadResult[]> = { direct: [], girder: [] };
  for (let i = 0; i < 3; i++) {
    single.direct.push(await load(direct, standIn, 1, n));
    single.girder.push(await load(girder.target, standIn, 1, n));
  }
  const merge = (xs: LoadResult[]): LoadResult => ({
    streams: xs.reduce((k, x) => k + x.streams, 0),
    ttft: xs.flatMap((x) => x.ttft),
    gaps: xs.flatMap((x) => x.gaps),
    joined: xs.reduce((k, x) => k + x.joined, 0),
    tokens: xs.reduce((k, x) => k + x.tokens, 0),
    overheads: xs.flatMap((x) => x.overheads),
  });
  const one = { direct: merge(single.direct), girder: merge(single.girder) };
  const c = Number(args.concurrency);
  const until = (s: number) => Date.now() + s * 1000;
  const many = {
    direct: await load(direct, standIn, c, Number.POSITIVE_INFINITY, until(Number(args.duration))),
    girder: await load(girder.target, standIn, c, Number.POSITIVE_INFINITY, until(Number(args.duration))),
  };
  console.error(`opening ${args.open} streams through Girder…`);
  const mem = await openStreams(girder.target, girder.pid, Number(args.open), girder.release);
  agent.destroy();

  const addedP50 = pct(one.girder.ttft, 50) - pct(one.direct.ttft, 50);
  const perStream = ((mem.peak - mem.idle) * 1024) / Number(args.open);
  const heldBack = one.girder.joined - one.direct.joined + (many.girder.joined - many.direct.joined);
  const table = [
    `bench/openai, ${new Date().toISOString().slice(0, 10)}: ${cpuModel()}, Node ${process.versions.node}, load average ${loadAverage()}.`,
    `Streams of ${args.words} tokens, ${args.delay} ms apart; ${one.direct.streams} single streams each way, then ${c} concurrent for ${args.duration} s (${many.direct.streams} direct, ${many.girder.streams} through Girder).`,
    '',
    '| measure | direct | through Girder | added |',
    '| --- | ---: | ---: | ---: |',
    ...rows('1 stream', one.direct, one.girder),
    ...rows(`${c} streams`, many.direct, many.girder),
    `| x-girder-overhead-ms (Girder's own count), 1 stream, p50 / p99 | | ${pct(one.girder.overheads, 50).toFixed(3)} / ${pct(one.girder.overheads, 99).toFixed(3)} ms | |`,
    `| Girder RSS, idle → ${args.open} open streams | | ${(mem.idle / 1024).toFixed(1)} → ${(mem.peak / 1024).toFixed(1)} MiB | ${(perStream / 1024).toFixed(1)} KiB per stream |`,
    '',
    'Targets (reported, not asserted):',
    `- time to first token added at p50, 1 stream ≤ 1 ms: ${addedP50.toFixed(2)} ms, ${addedP50 <= 1 ? 'met' : 'NOT met'}`,
    `- no chunk held back (tokens joined in a read beyond direct's): ${heldBack}, ${heldBack <= 0 ? 'met' : 'NOT met'}`,
    `- Girder memory per open stream < 20 KB: ${(perStream / 1000).toFixed(1)} KB, ${perStream < 20_000 ? 'met' : 'NOT met'}`,
  ].join('\n');
  console.log(table);
  if (!args['no-write']) writeFileSync(join(ROOT, 'bench', 'openai', 'last-result.md'), `${table}\n`);
});
