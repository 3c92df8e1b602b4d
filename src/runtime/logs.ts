import { EventEmitter } from 'node:events';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

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
 * (asynchronously, through one write stream per deployment), the last lines kept in memory for
 * `girder logs`, and followers told of each new line.
 */
export class LogBook extends EventEmitter<{ line: [LogEntry] }> {
  readonly #dir: string;
  readonly #files = new Map<string, WriteStream>();
  readonly #tails = new Map<string, LogEntry[]>();

  constructor(dir: string) {
    super();
    this.#dir = dir;
    mkdirSync(dir, { recursive: true });
    this.setMaxListeners(0);
  }

  #file(deploymentId: string): WriteStream {
    let f = this.#files.get(deploymentId);
    if (!f) {
      f = createWriteStream(join(this.#dir, `${deploymentId}.jsonl`), { flags: 'a' });
      f.on('error', () => {
        /* a full disk must not take the server down; lines stay in memory */
      });
      this.#files.set(deploymentId, f);
    }
    return f;
  }

  add(entry: LogEntry): void {
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

  async #readFile(deploymentId: string, limit: number): Promise<LogEntry[]> {
    let text: string;
    let cut = false;
    try {
      const fh = await open(join(this.#dir, `${deploymentId}.jsonl`), 'r');
      try {
        const { size } = await fh.stat();
        const want = Math.min(size, limit * 1024);
        const buf = Buffer.alloc(want);
        await fh.read(buf, 0, want, size - want);
        cut = want < size;
        text = buf.toString('utf8');
      } finally {
        await fh.close();
      }
    } catch {
      return [];
    }
    const lines = text.split('\n').filter(Boolean);
    if (cut) lines.shift(); // read from mid-file: the first line is partial
    const out: LogEntry[] = [];
    for (const l of lines.slice(-limit)) {
      try {
        out.push(JSON.parse(l));
      } catch {
        /* a partial line */
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#files.values()].map((f) => new Promise<void>((r) => f.end(r))));
    this.#files.clear();
  }
}
