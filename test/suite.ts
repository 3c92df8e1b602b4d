/**
 * `npm test`'s test step: runs the test files with `node --test`, then fails if any process the tests
 * started still runs once they are done (a replica a killed Girder left, a runner's child, …), naming
 * each one. Such a process outlives the run on a developer's machine and in CI, holds ports, and shows
 * a test that does not clean up after itself.
 *
 * How a process is known to be the suite's, without ever matching an unrelated one: every run gets a
 * fresh directory (mkdtemp, so no other process can know its name) that the tests inherit as TMPDIR,
 * so their temporary folders, Girder's data dirs and the snapshots replicas run in are inside it; and
 * an empty folder inside it is put first on PATH, which nearly every child inherits (Girder passes
 * PATH to replicas, the runner harnesses pass it on). A process belongs to the run if its working
 * directory, its command line or its environment names that directory. Leftovers are killed after
 * being reported, since they are certainly the run's.
 *
 * @example
 *   node test/suite.ts                          # every test file, as `npm test` runs them
 *   node test/suite.ts test/serve.test.ts       # some files (any `node --test` arguments)
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NODE_TEST_ARGS = ['--test-concurrency=2', '--test-timeout=180000'];
const ALL_FILES = ['src/**/*.test.ts', 'test/**/*.test.ts'];
/**
 * How long processes may take to go after the tests end: a python runner notices its stdin close
 * within 0.5 s, then may give in-flight work and its model's children 2 s each. Waited in full only
 * when something is left (test/suite.test.ts shortens it).
 */
const GRACE_MS = Number(process.env.GIRDER_SUITE_GRACE_MS) || 10_000;

interface Leftover {
  pid: number;
  ppid: number;
  command: string;
  cwd: string;
}

/** The live processes that name `root` in their working directory, command line or environment. */
function processesOf(root: string): Leftover[] {
  const found: Leftover[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue; // exited, waiting for a parent (or an init) to reap it
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (cwd.startsWith(root) || command.includes(root) || environ.includes(root)) {
        found.push({ pid, ppid: Number(fields[1]), command, cwd });
      }
    } catch {
      /* gone meanwhile, or another user's (then not the suite's) */
    }
  }
  return found;
}

async function leftoversAfterGrace(root: string): Promise<Leftover[]> {
  const deadline = Date.now() + GRACE_MS;
  let found = processesOf(root);
  while (found.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    found = processesOf(root);
  }
  return found;
}

function report(leftovers: Leftover[]): void {
  const lines = [`\n✖ ${leftovers.length} process(es) started by the tests still run after them:`];
  for (const p of leftovers) lines.push(`  pid ${p.pid} (parent ${p.ppid}): ${p.command}`, `      in ${p.cwd}`);
  lines.push(
    'They are killed now. Find the test that started them (the command, and the folder: a data dir',
    'girder-test-…, a runner harness folder girder-pyrunner-…) and make it stop what it started.',
  );
  console.error(lines.join('\n'));
}

async function main(): Promise<number> {
  const root = mkdtempSync(join(tmpdir(), 'girder-suite-'));
  // Replicas of a root Girder run as users of their own and reach their data dirs through this one.
  chmodSync(root, 0o711);
  const marker = join(root, 'path-marker');
  mkdirSync(marker);
  const args = process.argv.slice(2);
  const child = spawn(process.execPath, ['--test', ...NODE_TEST_ARGS, ...(args.length ? args : ALL_FILES)], {
    stdio: 'inherit',
    env: { ...process.env, TMPDIR: root, PATH: `${marker}:${process.env.PATH ?? ''}` },
  });
  // Ctrl-C reaches the test runner too; stay to check what it leaves.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));

  const leftovers = await leftoversAfterGrace(root);
  if (leftovers.length > 0) {
    report(leftovers);
    for (const p of leftovers) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
    }
  }
  rmSync(root, { recursive: true, force: true });
  return leftovers.length > 0 ? 1 : code;
}

process.exitCode = await main();
