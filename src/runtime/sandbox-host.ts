import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, lstatSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import type { HostEntry } from './sandbox-args.ts';

/**
 * The host's system directories a sandbox shows read-only, so that `/bin/sh`, `python3`, `node` and
 * their shared libraries work. `/sys` is there for CUDA and CPU topology probes; `/opt`, `/home`,
 * `/root`, `/srv`, `/var` and `/run` are not (they hold operators' data, not the system).
 */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/sys'];

/**
 * The system directories that exist here, as bound directories or as the symlinks they are.
 *
 * @example
 *   systemEntries(); // → [{ path: '/usr' }, { path: '/bin', symlink: 'usr/bin' }, …, { path: '/etc' }, { path: '/sys' }]
 */
export function systemEntries(): HostEntry[] {
  const out: HostEntry[] = [];
  for (const path of SYSTEM_DIRS) {
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) out.push({ path, symlink: readlinkSync(path) });
    else if (st.isDirectory()) out.push({ path });
  }
  return out;
}

/**
 * GPU device nodes, passed through when the host has them (a sandbox's own /dev has none).
 *
 * @example
 *   gpuDevices(); // → ['/dev/nvidia0', '/dev/nvidiactl', '/dev/nvidia-uvm'] on a CUDA host, [] elsewhere
 */
export function gpuDevices(): string[] {
  try {
    return readdirSync('/dev')
      .filter((n) => n.startsWith('nvidia') || n === 'dri' || n === 'kfd')
      .map((n) => `/dev/${n}`);
  } catch {
    return [];
  }
}

/**
 * The absolute path of `name` on `path` (a PATH value), or null.
 *
 * @example
 *   findExecutable('bwrap'); // → '/usr/bin/bwrap', or null without bubblewrap
 */
export function findExecutable(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      /* next */
    }
  }
  return null;
}

/**
 * Where the Node that runs Girder is installed (`<prefix>/bin/node`): runners and `node` commands use it.
 *
 * @example
 *   nodePrefix(); // → '/opt/girder/node_modules/node' (or '/usr' for a system Node)
 */
export function nodePrefix(): string {
  return dirname(dirname(realpathSync(process.execPath)));
}

/**
 * Host files a replica needs that may live outside the system directories: the CA bundles its
 * environment names, and the target of `/etc/resolv.conf` (a symlink into `/run` under
 * systemd-resolved), so that TLS and DNS work.
 *
 * @example
 *   supportFiles({ NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca.pem' }); // → ['/etc/ssl/certs/ca.pem', '/etc/resolv.conf']
 */
export function supportFiles(env: Record<string, string | undefined>): string[] {
  const out: string[] = [];
  for (const k of ['SSL_CERT_FILE', 'SSL_CERT_DIR', 'NODE_EXTRA_CA_CERTS', 'REQUESTS_CA_BUNDLE']) {
    const v = env[k];
    if (v && existsSync(v)) out.push(realpathSync(v));
  }
  try {
    out.push(realpathSync('/etc/resolv.conf'));
  } catch {
    /* no resolver configured */
  }
  return out;
}

/** The interpreter `python3` on a PATH really is (past pyenv or asdf shims) and the trees it needs. */
export interface PythonInstall {
  /** Directory of the real executable: put on the sandbox's PATH, before the shims that cannot work there. */
  binDir: string;
  /** `sys.base_prefix`, `sys.prefix` (a virtualenv) and the entries of PYTHONPATH: shown read-only. */
  trees: string[];
}

const pythons = new Map<string, Promise<PythonInstall | null>>();
const PROBE = 'import json,os,sys;print(json.dumps([sys.executable,sys.base_prefix,sys.prefix]))';

/**
 * Asks `python3` (as a replica would find it on `env.PATH`) where it is installed. Once per PATH and
 * process: shims like pyenv's take a tenth of a second. Null without a python3.
 *
 * @example
 *   await pythonInstall({ PATH: '/root/.pyenv/shims:/usr/bin' })
 *   // → { binDir: '/root/.pyenv/versions/3.11.7/bin', trees: ['/root/.pyenv/versions/3.11.7'] }
 */
export function pythonInstall(env: Record<string, string>): Promise<PythonInstall | null> {
  const key = `${env.PATH}\0${env.VIRTUAL_ENV ?? ''}\0${env.PYTHONPATH ?? ''}`;
  let found = pythons.get(key);
  if (!found) {
    found = new Promise((resolve) => {
      execFile('python3', ['-c', PROBE], { env, timeout: 10_000 }, (err, stdout) => {
        if (err) return resolve(null);
        try {
          const [exe, base, prefix] = JSON.parse(stdout) as string[];
          const extra = (env.PYTHONPATH ?? '').split(delimiter).filter((p) => p && existsSync(p));
          resolve({ binDir: dirname(exe), trees: [base, prefix, ...extra].map((p) => realpathSync(p)) });
        } catch {
          resolve(null);
        }
      });
    });
    pythons.set(key, found);
  }
  return found;
}
