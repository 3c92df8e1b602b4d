/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`): where the process spent its CPU time, by
 * area (Girder's gateway and runtime, undici, Node's http/net/streams, GC, …), the top functions by
 * self time, and the inclusive time of the functions on Girder's request path.
 *
 * Usage:
 *   node --cpu-prof --cpu-prof-dir=/tmp/girder-prof bench/proxy/bench.ts --only girder --no-write
 *   node bench/proxy/summarize-profile.ts /tmp/girder-prof/*.cpuprofile [--top 30] [--requests N]
 *
 * With --requests (the number of requests served during the profile, e.g. wrk's count for warm-up
 * plus measurement), times are also shown in µs per request.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '30' }, requests: { type: 'string' } },
});
if (!positionals.length) {
  console.error('usage: node bench/proxy/summarize-profile.ts <file.cpuprofile>… [--top N] [--requests N]');
  process.exit(2);
}
const top = Number(values.top);
const requests = values.requests ? Number(values.requests) : 0;

/** The area of the code a frame belongs to. */
function area(f: CallFrame): string {
  const u = f.url;
  if (!u) {
    if (f.functionName === '(garbage collector)') return 'GC';
    if (f.functionName === '(idle)') return 'idle';
    if (f.functionName === '(program)') return 'program (native, outside JS)';
    return 'native / builtins';
  }
  const m = /\/src\/(gateway|runtime|control|store)\//.exec(u);
  if (m) return `girder src/${m[1]}`;
  if (/\/src\/[^/]+\.ts$/.test(u)) return 'girder src/*.ts';
  if (u.includes('/node_modules/undici/')) return 'undici';
  if (u.includes('/bench/')) return 'bench harness';
  if (u.startsWith('node:internal/http') || u === 'node:_http_server' || u.startsWith('node:_http')) return 'node http';
  if (u.startsWith('node:internal/streams') || u === 'node:stream') return 'node streams';
  if (u === 'node:net' || u.startsWith('node:internal/stream_base') || u.startsWith('node:internal/net'))
    return 'node net';
  if (u.startsWith('node:internal/crypto') || u === 'node:crypto') return 'node crypto';
  if (u.startsWith('node:internal/process/task_queues') || u.startsWith('node:internal/timers') || u === 'node:timers')
    return 'node timers / microtasks';
  if (
    u.startsWith('node:internal/event_target') ||
    u.startsWith('node:internal/abort_controller') ||
    u === 'node:events' ||
    u.startsWith('node:internal/events')
  )
    return 'node events / AbortSignal';
  if (u.startsWith('node:')) return 'node other';
  return 'other';
}

const short = (f: CallFrame): string => {
  const file = f.url.replace(/^file:\/\/.*?\/(src|bench|node_modules)\//, '$1/');
  return `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
};
const key = (f: CallFrame): string => `${f.functionName}|${f.url}|${f.lineNumber}`;

for (const file of positionals) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++)
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self]
    .filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)')
    .reduce((a, [, t]) => a + t, 0);
  const busy = total - idle;

  // Inclusive time per node, then per function (counting each function once per stack).
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, { frame: CallFrame; us: number }>();
  const selfByFn = new Map<string, { frame: CallFrame; us: number }>();
  const byArea = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    byArea.set(area(n.callFrame), (byArea.get(area(n.callFrame)) ?? 0) + us);
    const k = key(n.callFrame);
    const s = selfByFn.get(k) ?? { frame: n.callFrame, us: 0 };
    s.us += us;
    selfByFn.set(k, s);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      const fk = key(f);
      if (seen.has(fk)) continue;
      seen.add(fk);
      const e = inclusive.get(fk) ?? { frame: f, us: 0 };
      e.us += us;
      inclusive.set(fk, e);
    }
  }

  const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  const perReq = (us: number) => (requests ? `  ${(us / requests).toFixed(2).padStart(6)} µs/req` : '');
  console.log(`# ${file}`);
  console.log(
    `profiled ${(total / 1e6).toFixed(1)} s, busy (not idle) ${(busy / 1e6).toFixed(1)} s${requests ? `, ${requests} requests → ${(busy / requests).toFixed(1)} µs CPU per request` : ''}\n`,
  );
  console.log('## Self time by area (% of busy time)');
  for (const [a, us] of [...byArea].filter(([a]) => a !== 'idle').sort((x, y) => y[1] - x[1])) {
    console.log(`${pct(us)}${perReq(us)}  ${a}`);
  }
  console.log(`\n## Top ${top} functions by self time`);
  for (const e of [...selfByFn.values()]
    .filter((e) => e.frame.functionName !== '(idle)')
    .sort((a, b) => b.us - a.us)
    .slice(0, top)) {
    console.log(`${pct(e.us)}${perReq(e.us)}  ${short(e.frame)}  [${area(e.frame)}]`);
  }
  console.log('\n## Inclusive time of Girder functions (self + callees)');
  for (const e of [...inclusive.values()]
    .filter((e) => /\/src\/(gateway|runtime|ids|errors)/.test(e.frame.url))
    .sort((a, b) => b.us - a.us)
    .slice(0, top)) {
    console.log(`${pct(e.us)}${perReq(e.us)}  ${short(e.frame)}`);
  }
  console.log('');
}
