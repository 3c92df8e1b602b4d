import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_LOG_ROTATION, LogFile, type LogRotation, lastLines, logFileNames } from './log-files.ts';

export { DEFAULT_LOG_ROTATION, type LogRotation } from './log-files.ts';

/** One line a replica wrote. */
export interface LogEntry {
  /** ISO time Girder read the line. */
  ts: string;
  deployment_id: string;
  replica_id: string;
  stream: 'stdout' | 'stderr' | 'girder';
  level: string;
  msg: string;
  request_id?: string;
}

const TAIL = 2000;

/**
 * Turns one output line into an entry. Runners write JSON objects with `request_id`, `msg` and
 * `level` while they serve a request; other lines are kept as they are.
 */
export function parseLine(line: string): { msg: string; level?: string; request_id?: string } {
  if (line.charCodeAt(0) === 123 /* { */) {
    try {
      const o = JSON.parse(line);
      if (o && typeof o === 'object') {
        const msg = typeof o.msg === 'string' ? o.msg : typeof o.message === 'string' ? o.message : line;
        return {
          msg,
          level: typeof o.level === 'string' ? o.level : undefined,
          request_id: typeof o.request_id === 'string' ? o.request_id : undefined,
        };
      }
    } catch {
      /* not JSON after all: keep the raw line */
    }
  }
  return { msg: line };
}

/**
 * The logs of every deployment: appended as JSON lines to `<logDir>/<deployment_id>.jsonl`
 * (asynchronously, one `LogFile` per deployment, rotated by size into `.jsonl.1`, `.jsonl.2`, …),
 * the last lines kept in memory for `girder logs`, and followers told of each new line.
 *
 * @example
 *   const logs = new LogBook('/data/logs', { maxBytes: 64 << 20, maxFiles: 3 });
 *   logs.note('abc1234', 'r1', 'info', 'started');
 *   await logs.recent('abc1234', 50);
 */
export class LogBook extends EventEmitter<{ line: [LogEntry]; removed: [deploymentId: string] }> {
  readonly #dir: string;
  readonly #rotation: LogRotation;
  readonly #files = new Map<string, LogFile>();
  readonly #tails = new Map<string, LogEntry[]>();
  /** Deleted deployments: what their replicas still print while they stop is dropped. */
  readonly #removed = new Set<string>();

  constructor(dir: string, rotation: LogRotation = DEFAULT_LOG_ROTATION) {
    super();
    this.#dir = dir;
    this.#rotation = rotation;
    mkdirSync(dir, { recursive: true });
    this.setMaxListeners(0);
  }

  #base(deploymentId: string): string {
    return join(this.#dir, `${deploymentId}.jsonl`);
  }

  #file(deploymentId: string): LogFile {
    let f = this.#files.get(deploymentId);
    if (!f) this.#files.set(deploymentId, (f = new LogFile(this.#base(deploymentId), this.#rotation)));
    return f;
  }

  add(entry: LogEntry): void {
    if (this.#removed.has(entry.deployment_id)) return;
    let tail = this.#tails.get(entry.deployment_id);
    if (!tail) this.#tails.set(entry.deployment_id, (tail = []));
    tail.push(entry);
    if (tail.length > TAIL * 1.5) tail.splice(0, tail.length - TAIL);
    this.#file(entry.deployment_id).write(`${JSON.stringify(entry)}\n`);
    this.emit('line', entry);
  }

  /** Records a line a replica printed. */
  addLine(deploymentId: string, replicaId: string, stream: 'stdout' | 'stderr', line: string): void {
    const parsed = parseLine(line);
    const entry: LogEntry = {
      ts: new Date().toISOString(),
      deployment_id: deploymentId,
      replica_id: replicaId,
      stream,
      level: parsed.level ?? (stream === 'stderr' ? 'error' : 'info'),
      msg: parsed.msg,
    };
    if (parsed.request_id) entry.request_id = parsed.request_id;
    this.add(entry);
  }

  /** A line from Girder itself about a replica (started, exited, health check failed). */
  note(deploymentId: string, replicaId: string, level: string, msg: string): void {
    this.add({
      ts: new Date().toISOString(),
      deployment_id: deploymentId,
      replica_id: replicaId,
      stream: 'girder',
      level,
      msg,
    });
  }

  /**
   * What one replica printed last (stdout and stderr, from memory), at most `max` lines cut to 300
   * characters each: the reason a replica could not start, for an error's detail.
   *
   * @example
   *   logs.output(deployment.id, replica.id); // → ['Error: weights not found', '    at LoadFails.load (…)']
   */
  output(deploymentId: string, replicaId: string, max = 10): string[] {
    const printed = (this.#tails.get(deploymentId) ?? []).filter(
      (e) => e.replica_id === replicaId && e.stream !== 'girder',
    );
    return printed.slice(-max).map((e) => (e.msg.length > 300 ? `${e.msg.slice(0, 300)}…` : e.msg));
  }

  /**
   * The last `limit` lines of a deployment: from memory when it holds them, else from its file
   * (logs of a deployment that ran before a restart).
   */
  async recent(deploymentId: string, limit = 200): Promise<LogEntry[]> {
    const tail = this.#tails.get(deploymentId);
    if (tail && tail.length >= limit) return tail.slice(-limit);
    const fromFile = await this.#readFile(deploymentId, limit);
    if (!tail?.length) return fromFile;
    // The file holds everything the tail does (and maybe older lines): prefer it when it is longer.
    return fromFile.length > tail.length ? fromFile : tail.slice(-limit);
  }

  /** The newest lines on disk, across the rotated files, read between rotations. */
  async #readFile(deploymentId: string, limit: number): Promise<LogEntry[]> {
    const file = this.#files.get(deploymentId);
    const names = file?.names ?? logFileNames(this.#base(deploymentId), this.#rotation.maxFiles);
    const read = () => lastLines(names, limit);
    const out: LogEntry[] = [];
    for (const l of await (file ? file.exclusive(read) : read())) {
      try {
        out.push(JSON.parse(l));
      } catch {
        /* a partial line */
      }
    }
    return out;
  }

  /**
   * Forgets a deleted deployment: ends its followers, closes and deletes its files, and drops its
   * lines, those in memory and any logged from now on.
   *
   * @example
   *   await logs.remove(deployment.id);
   */
  async remove(deploymentId: string): Promise<void> {
    this.#removed.add(deploymentId);
    this.#tails.delete(deploymentId);
    const file = this.#files.get(deploymentId);
    this.#files.delete(deploymentId);
    this.emit('removed', deploymentId);
    await file?.remove();
    await this.#unlink((id) => id === deploymentId); // and any rotated file an earlier setting kept
  }

  /**
   * Deletes the files of deployments that no longer exist (deleted while an older Girder ran).
   *
   * @example
   *   await logs.removeLeftovers((id) => registry.deployments.has(id));
   */
  async removeLeftovers(exists: (deploymentId: string) => boolean): Promise<void> {
    await this.#unlink((id) => !exists(id) && !this.#files.has(id));
  }

  async #unlink(which: (deploymentId: string) => boolean): Promise<void> {
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    const ofLog = (n: string) => /^([^.]+)\.jsonl(\.\d+)?$/.exec(n)?.[1];
    await Promise.all(
      names.filter((n) => ofLog(n) && which(ofLog(n)!)).map((n) => unlink(join(this.#dir, n)).catch(() => {})),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.#files.values()].map((f) => f.close()));
    this.#files.clear();
  }
}
