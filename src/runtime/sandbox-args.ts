import { isAbsolute, relative } from 'node:path';

/** A directory of the host as the sandbox shows it: bound read-only, or a symlink (`/bin` → `usr/bin`). */
export type HostEntry = { path: string; symlink: string } | { path: string; symlink?: undefined };

/** What one replica's sandbox shows: everything else of the host's file system is absent. */
export interface SandboxView {
  /** `/usr`, `/etc`, `/sys`, `/bin`…: the host's system directories (read-only or symlinks). */
  system: HostEntry[];
  /** Other host paths shown read-only at the same path: Girder's own directory, the interpreters, `--sandbox-ro-bind`. */
  readOnly: string[];
  /** Device nodes passed through (GPUs), when present. */
  devices: string[];
  /** Girder's data directory: hidden (an empty tmpfs) but for the two below. */
  dataDir: string;
  /** The deployment's snapshot, read-only; also the working directory. */
  snapshot: string;
  /** `<dataDir>/run/<deployment>`: the deployment's own, writable. */
  runDir: string;
  /** `<runDir>/secrets`, read-only. */
  secretsDir: string;
  /** Its built environments under the data dir (`envs/python/<hash>`, …), read-only. */
  envDirs?: string[];
  /** A user namespace of its own (bwrap run unprivileged, when Girder is not root). */
  unshareUser: boolean;
}

/**
 * Whether `child` is `parent` or inside it.
 *
 * @example
 *   within('/srv/data/run', '/srv/data'); // → true
 *   within('/srv/database', '/srv/data'); // → false
 */
export function within(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * bwrap's arguments for one replica, up to (not including) the `--`. Later mounts cover earlier
 * ones, so the order is: the system, a private /proc, /dev and /tmp, the read-only extras, an empty
 * tmpfs over the data dir (it may lie inside one of them, as the default `./.girder` lies inside
 * Girder's directory), and last the deployment's own directories inside that tmpfs.
 *
 * @example
 *   bwrapArgs({ system: [{ path: '/usr' }, { path: '/bin', symlink: 'usr/bin' }], readOnly: ['/opt/girder'],
 *     devices: [], dataDir: '/d', snapshot: '/d/snapshots/ab', runDir: '/d/run/x', secretsDir: '/d/run/x/secrets',
 *     unshareUser: false })
 *   // → ['--unshare-ipc', '--ro-bind', '/usr', '/usr', '--symlink', 'usr/bin', '/bin', '--proc', '/proc', …,
 *   //    '--tmpfs', '/d', '--ro-bind', '/d/snapshots/ab', '/d/snapshots/ab', …, '--chdir', '/d/snapshots/ab']
 */
export function bwrapArgs(view: SandboxView): string[] {
  const args = ['--unshare-ipc'];
  if (view.unshareUser) args.push('--unshare-user');
  const m = new Mounts(args);
  for (const e of view.system) {
    if (e.symlink !== undefined) args.push('--symlink', e.symlink, e.path);
    else m.bind('--ro-bind', e.path);
  }
  args.push('--proc', '/proc', '--dev', '/dev', '--perms', '1777', '--tmpfs', '/tmp');
  m.tmpfs('/tmp');
  for (const d of view.devices) m.bind('--dev-bind-try', d);
  for (const p of extraPaths(view)) m.bind('--ro-bind', p);
  m.tmpfs(view.dataDir, ['--tmpfs', view.dataDir]);
  m.bind('--ro-bind', view.snapshot);
  m.bind('--bind', view.runDir);
  m.bind('--ro-bind', view.secretsDir);
  for (const e of view.envDirs ?? []) if (within(e, view.dataDir)) m.bind('--ro-bind', e);
  args.push('--chdir', view.snapshot);
  return args;
}

/**
 * Mounts at the paths they have on the host. bwrap makes a missing mount point's parents 0700,
 * which a replica running as another user could not cross, so parents that are not part of a
 * bound host directory are made first, 0755 (they show names, nothing else).
 */
class Mounts {
  readonly #args: string[];
  /** What is mounted where, in order: inside a bind, directories exist as on the host. */
  readonly #mounts: { path: string; bind: boolean }[] = [{ path: '/', bind: false }];
  readonly #made = new Set<string>(['/']);

  constructor(args: string[]) {
    this.#args = args;
  }

  bind(flag: string, path: string): void {
    this.#parents(path);
    this.#args.push(flag, path, path);
    this.#mounted(path, true);
  }

  /** A tmpfs at `path` (pushing `args` for it, if any): what is made inside it must be made by us. */
  tmpfs(path: string, args: string[] = []): void {
    this.#parents(path);
    this.#args.push(...args);
    this.#mounted(path, false);
  }

  #mounted(path: string, bind: boolean): void {
    for (const made of [...this.#made]) if (within(made, path)) this.#made.delete(made);
    this.#made.add(path);
    this.#mounts.push({ path, bind });
  }

  #parents(path: string): void {
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const dir = `/${parts.slice(0, i).join('/')}`;
      if (this.#made.has(dir)) continue;
      // The mount that shows `dir` is the deepest one holding it, the latest of equals.
      const shown = this.#mounts.reduce((a, b) => (within(dir, b.path) && b.path.length >= a.path.length ? b : a));
      if (shown.bind) continue;
      this.#args.push('--perms', '0755', '--dir', dir);
      this.#made.add(dir);
    }
  }
}

/**
 * The read-only extras worth a mount of their own: not already visible through a system directory
 * or another extra, and never anything inside the data dir (that stays hidden whatever is asked).
 * Parents come first, so that a child mount is not covered by its parent's.
 */
function extraPaths(view: SandboxView): string[] {
  const systemDirs = view.system.filter((e) => e.symlink === undefined).map((e) => e.path);
  const kept: string[] = [];
  const sorted = [...new Set(view.readOnly)].sort((a, b) => a.length - b.length);
  for (const p of sorted) {
    if (!isAbsolute(p) || p === '/' || within(p, view.dataDir)) continue;
    if (systemDirs.some((s) => within(p, s)) || kept.some((k) => within(p, k))) continue;
    kept.push(p);
  }
  return kept;
}
