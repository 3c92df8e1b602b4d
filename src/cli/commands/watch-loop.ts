/** `girder push --watch`: a folder watched, and one push per burst of changes, for models and chains. */
import { watch } from 'node:fs';

const clock = (): string => new Date().toTimeString().slice(0, 8);

/** Files whose changes never trigger a push: VCS, caches, Girder's own. */
const ignored = (file: string | null): boolean =>
  !!file &&
  file.split(/[\\/]/).some((s) => s === '.git' || s === '__pycache__' || s === '.girder' || s === 'node_modules');

/** What a cycle is told: whether a newer change came, and a way to let the next cycle start. */
export interface Cycle {
  /** True once a newer cycle has started (a wait may stop early). */
  stale(): boolean;
  /** The upload is done: a change from now on starts the next cycle while this one waits. */
  uploaded(): void;
}

/**
 * Watches `dir` and runs `cycle` after each burst of changes (editors write in bursts: 300 ms of
 * quiet first). Never two uploads at once: a change during one runs one more cycle after it (or after
 * `uploaded()`, so that a cycle waiting for its deployment can be superseded). `cycle` resolves with the
 * line to print (null for none); a rejection prints `push failed: …`. Ctrl-C stops watching and exits.
 *
 * @example
 *   watchAndRepeat(dir, async () => `updated ${name}: ${await pushAgain()}`);
 */
export function watchAndRepeat(dir: string, cycle: (c: Cycle) => Promise<string | null>): void {
  let timer: NodeJS.Timeout | undefined;
  let generation = 0;
  let running = false;
  let again = false;
  const release = (): void => {
    if (!running) return;
    running = false;
    if (again) {
      again = false;
      void run();
    }
  };
  const run = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    const mine = ++generation;
    try {
      const line = await cycle({ stale: () => generation !== mine, uploaded: release });
      if (line !== null) console.log(`${clock()} ${line}`);
    } catch (err) {
      console.log(`${clock()} push failed: ${(err as Error).message.replace(/\n/g, ' — ')}`);
    }
    if (generation === mine) release();
  };
  const watcher = watch(dir, { recursive: true }, (_event, file) => {
    if (ignored(file)) return;
    clearTimeout(timer);
    timer = setTimeout(() => void run(), 300);
  });
  console.log(`Watching ${dir} for changes (Ctrl-C to stop).`);
  const stop = () => {
    watcher.close();
    clearTimeout(timer);
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
