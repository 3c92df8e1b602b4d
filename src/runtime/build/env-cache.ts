import { access, mkdir, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The kinds of cached environments, each a folder of `<dataDir>/envs/`. */
export type EnvKind = 'python' | 'node' | 'data';

/** The file a finished environment holds; without it, a directory is a build that never finished. */
export const READY = '.girder-ready';

/**
 * Environments cached by content hash under `<dataDir>/envs/<kind>/<hash>`. One counts as built
 * only once its `READY` marker exists, written last and atomically (written aside, then renamed),
 * so a crash mid-build leaves nothing that counts as cached: the next build of that hash starts it
 * again from scratch. Two builds of one hash in this process share one run.
 *
 * Virtualenvs are built where they stay (their scripts name their own path, so a venv cannot be
 * moved once built); node environments are built aside and renamed into place by their builder.
 *
 * @example
 *   const envs = new EnvCache(dataDir);
 *   const dir = await envs.ensure('python', hash, async (dir) => { ... build into dir ... });
 */
export class EnvCache {
  readonly root: string;
  readonly #building = new Map<string, Promise<string>>();

  constructor(dataDir: string) {
    this.root = join(dataDir, 'envs');
  }

  dir(kind: EnvKind, hash: string): string {
    return join(this.root, kind, hash);
  }

  /** Whether that environment is built; a hit refreshes its last use (what gc's grace period counts from). */
  async ready(kind: EnvKind, hash: string): Promise<boolean> {
    const marker = join(this.dir(kind, hash), READY);
    try {
      await access(marker);
    } catch {
      return false;
    }
    const now = new Date();
    await utimes(marker, now, now).catch(() => {});
    return true;
  }

  /** Whether a build of it runs now in this process. */
  building(kind: EnvKind, hash: string): boolean {
    return this.#building.has(`${kind}/${hash}`);
  }

  /**
   * The environment's directory, built first by `build` unless it is ready. `build` gets the
   * directory, emptied of any half build; concurrent calls for one hash wait for the same build.
   * Returns whether this call built it.
   */
  async ensure(kind: EnvKind, hash: string, build: (dir: string) => Promise<void>): Promise<boolean> {
    const key = `${kind}/${hash}`;
    const running = this.#building.get(key);
    if (running) return running.then(() => false);
    if (await this.ready(kind, hash)) return false;
    const dir = this.dir(kind, hash);
    const run = (async () => {
      await mkdir(join(this.root, kind), { recursive: true, mode: 0o755 });
      await rm(dir, { recursive: true, force: true });
      await build(dir);
      const aside = join(dir, `${READY}.tmp`);
      await writeFile(aside, `${new Date().toISOString()}\n`, { mode: 0o644 });
      await rename(aside, join(dir, READY));
      return dir;
    })();
    this.#building.set(key, run);
    try {
      await run;
      return true;
    } catch (err) {
      await rm(dir, { recursive: true, force: true }).catch(() => {});
      throw err;
    } finally {
      this.#building.delete(key);
    }
  }

  /**
   * Removes the environments `inUse` does not name (absolute directories), that no build is making
   * now and that were last used more than `graceMs` ago. Returns what it removed.
   */
  async collect(inUse: Set<string>, graceMs: number): Promise<string[]> {
    const removed: string[] = [];
    for (const kind of ['python', 'node', 'data'] as EnvKind[]) {
      const names = await readdir(join(this.root, kind)).catch(() => [] as string[]);
      for (const name of names) {
        const dir = join(this.root, kind, name);
        const hash = name.replace(/\.tmp-.*$/, '');
        if (inUse.has(dir) || this.#building.has(`${kind}/${hash}`)) continue;
        const used = await stat(join(dir, READY)).then(
          (s) => s.mtimeMs,
          () =>
            stat(dir).then(
              (s) => s.mtimeMs,
              () => 0,
            ),
        );
        if (Date.now() - used < graceMs) continue;
        await rm(dir, { recursive: true, force: true });
        removed.push(dir);
      }
    }
    return removed;
  }
}
