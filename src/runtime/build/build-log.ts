import { EventEmitter } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** One line of a build's output: `girder` for Girder's own steps, else the tool's stream. */
export interface BuildLine {
  time: string;
  deployment_id: string;
  stream: 'girder' | 'stdout' | 'stderr';
  line: string;
}

/** A build's lines go to its file and to whoever follows it (`line` and `end` events, by deployment id). */
export interface BuildLogEvents {
  line: [BuildLine];
  end: [string];
}

/**
 * The build logs of every deployment: `<dataDir>/builds/<deployment id>.ndjson`, one JSON line per
 * output line, written as the tools print; followers hear each line as it is written and an `end`
 * when the build is over. A log stays after its build, until the deployment is deleted.
 *
 * @example
 *   const log = new BuildLogs(dataDir);
 *   const w = await log.open(d.id);
 *   w.write('girder', 'pip install six');
 *   await w.close();
 */
export class BuildLogs extends EventEmitter<BuildLogEvents> {
  readonly #dir: string;
  readonly #open = new Set<string>();

  constructor(dataDir: string) {
    super();
    this.setMaxListeners(0);
    this.#dir = join(dataDir, 'builds');
  }

  #file(id: string): string {
    return join(this.#dir, `${id}.ndjson`);
  }

  /** Whether the deployment's build is writing now (its followers will hear an `end`). */
  building(id: string): boolean {
    return this.#open.has(id);
  }

  /** Starts (or restarts) a deployment's build log, empty. */
  async open(id: string): Promise<BuildLogWriter> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const out = createWriteStream(this.#file(id), { flags: 'w', mode: 0o600 });
    this.#open.add(id);
    return new BuildLogWriter(id, out, this, () => this.#open.delete(id));
  }

  /** The lines written so far (none when it never built). */
  async read(id: string): Promise<BuildLine[]> {
    const text = await readFile(this.#file(id), 'utf8').catch(() => '');
    const lines: BuildLine[] = [];
    for (const l of text.split('\n')) {
      try {
        if (l) lines.push(JSON.parse(l) as BuildLine);
      } catch {
        /* a line cut by a crash */
      }
    }
    return lines;
  }

  /** Deletes a deleted deployment's log. */
  async remove(id: string): Promise<void> {
    await rm(this.#file(id), { force: true });
  }
}

/** Writes one build's lines; `close()` ends it for its followers. */
export class BuildLogWriter {
  readonly #id: string;
  readonly #out: WriteStream;
  readonly #logs: BuildLogs;
  readonly #done: () => void;
  /** The tool output's last lines, for the error of a failed step. */
  tail: string[] = [];
  /** Aborts the build's tools (Girder is closing). */
  signal: AbortSignal | undefined;

  constructor(id: string, out: WriteStream, logs: BuildLogs, done: () => void) {
    this.#id = id;
    this.#out = out;
    this.#logs = logs;
    this.#done = done;
  }

  write(stream: BuildLine['stream'], line: string): void {
    const entry: BuildLine = { time: new Date().toISOString(), deployment_id: this.#id, stream, line };
    this.#out.write(`${JSON.stringify(entry)}\n`);
    if (stream !== 'girder') this.tail = [...this.tail.slice(-39), line];
    this.#logs.emit('line', entry);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#out.end(resolve));
    this.#done();
    this.#logs.emit('end', this.#id);
  }
}
