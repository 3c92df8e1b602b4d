import { createWriteStream, type WriteStream } from 'node:fs';
import { type FileHandle, open, rename, stat, unlink } from 'node:fs/promises';
import { finished } from 'node:stream/promises';

/** How big one deployment's logs may grow: `maxFiles` files of about `maxBytes` each. */
export interface LogRotation {
  /** A file is rotated before a line would take it past this size (a longer line gets a file of its own). */
  maxBytes: number;
  /** Files kept per deployment, the one being written included; the oldest is dropped at a rotation. */
  maxFiles: number;
}

export const DEFAULT_LOG_ROTATION: LogRotation = { maxBytes: 64 * 1024 * 1024, maxFiles: 3 };

/**
 * The files of one log, newest first: `<base>`, then `<base>.1` … `<base>.{maxFiles - 1}`.
 *
 * @example
 *   logFileNames('/data/logs/abc1234.jsonl', 3); // → ['….jsonl', '….jsonl.1', '….jsonl.2']
 */
export function logFileNames(base: string, maxFiles: number): string[] {
  return Array.from({ length: Math.max(1, maxFiles) }, (_, i) => (i === 0 ? base : `${base}.${i}`));
}

const ignore = (): void => {};

/**
 * One deployment's log file, appended to asynchronously and rotated by size: nothing here blocks the
 * event loop, so a replica's output costs a request no disk wait. Lines that arrive while the file
 * opens or rotates wait in memory, in order. Rotations and reads (`exclusive`) take turns, so that a
 * read across the files never sees them renamed under it.
 *
 * @example
 *   const f = new LogFile('/data/logs/abc1234.jsonl', { maxBytes: 1 << 20, maxFiles: 3 });
 *   f.write('{"msg":"hello"}\n');
 *   await f.close();
 */
export class LogFile {
  readonly #names: string[];
  readonly #maxBytes: number;
  #stream: WriteStream | null = null;
  /** Bytes in the file being written (what it held when opened, plus what was written since). */
  #size = 0;
  /** Opening or rotating: new lines wait in `#queue`. */
  #busy = true;
  #queue: string[] = [];
  #turns: Promise<unknown>;
  #closed = false;

  constructor(base: string, rotation: LogRotation) {
    this.#names = logFileNames(base, rotation.maxFiles);
    this.#maxBytes = Math.max(1, rotation.maxBytes);
    this.#turns = this.#open();
  }

  write(line: string): void {
    if (this.#closed) return;
    if (this.#busy) {
      this.#queue.push(line);
      return;
    }
    const bytes = Buffer.byteLength(line);
    if (this.#size > 0 && this.#size + bytes > this.#maxBytes) {
      this.#busy = true;
      this.#queue.push(line);
      this.#turn(() => this.#rotate());
      return;
    }
    this.#size += bytes;
    this.#stream!.write(line);
  }

  /** Runs `fn` when no rotation is under way, and holds rotations back until it is done. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#turn(fn);
  }

  #turn<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#turns.then(fn);
    this.#turns = run.catch(ignore);
    return run;
  }

  async #open(): Promise<void> {
    this.#size = await stat(this.#names[0]).then(
      (s) => s.size,
      () => 0,
    );
    this.#stream = this.#create();
    this.#resume();
  }

  #create(): WriteStream {
    const stream = createWriteStream(this.#names[0], { flags: 'a' });
    // A full disk must not take the server down: the lines stay in memory (LogBook's tail).
    stream.on('error', ignore);
    return stream;
  }

  /** Shifts every file one place older (dropping the oldest) and starts a new one. */
  async #rotate(): Promise<void> {
    await this.#end();
    const names = this.#names;
    if (names.length === 1) await unlink(names[0]).catch(ignore);
    for (let i = names.length - 1; i > 0; i--) await rename(names[i - 1], names[i]).catch(ignore);
    if (this.#closed) return;
    this.#size = 0;
    this.#stream = this.#create();
    this.#resume();
  }

  /** Writes the lines that waited; one of them may start the next rotation, and the rest wait again. */
  #resume(): void {
    this.#busy = false;
    const waiting = this.#queue;
    this.#queue = [];
    for (const line of waiting) this.write(line);
  }

  async #end(): Promise<void> {
    const stream = this.#stream;
    this.#stream = null;
    if (!stream) return;
    stream.end();
    await finished(stream).catch(ignore);
  }

  /** Writes what waits, then closes the file. */
  async close(): Promise<void> {
    await this.#settled();
    this.#closed = true;
    await this.#end();
  }

  /** Closes the file, dropping what waits, and deletes every file of the log. */
  async remove(): Promise<void> {
    this.#closed = true;
    this.#queue = [];
    await this.#settled();
    await this.#end();
    await Promise.all(this.#names.map((n) => unlink(n).catch(ignore)));
  }

  /** Until no rotation or read is under way, including any that one of them queued. */
  async #settled(): Promise<void> {
    for (let t = this.#turns; ; t = this.#turns) {
      await t;
      if (t === this.#turns) return;
    }
  }

  /** The files of this log, newest first. */
  get names(): readonly string[] {
    return this.#names;
  }
}

const BLOCK = 64 * 1024;

/**
 * The last `want` lines across a log's files (`logFileNames`, newest first), oldest line first,
 * reading each file backwards block by block and stopping once it has enough. Missing files count as
 * empty; a line still being written may come back cut short (callers parse and skip it).
 *
 * @example
 *   await lastLines(logFileNames(base, 3), 200); // → ['{"ts":…}', …] at most 200
 */
export async function lastLines(names: readonly string[], want: number): Promise<string[]> {
  let lines: string[] = [];
  for (const name of names) {
    if (lines.length >= want) break;
    lines = [...(await lastLinesOf(name, want - lines.length)), ...lines];
  }
  return lines.slice(-want);
}

async function lastLinesOf(name: string, want: number): Promise<string[]> {
  let fh: FileHandle;
  try {
    fh = await open(name, 'r');
  } catch {
    return [];
  }
  try {
    let pos = (await fh.stat()).size;
    let lines: string[] = [];
    /** Bytes after `pos` that start in the middle of a line not read whole yet. */
    let partial = Buffer.alloc(0);
    while (pos > 0 && lines.length < want) {
      const n = Math.min(BLOCK, pos);
      pos -= n;
      const block = Buffer.alloc(n);
      await fh.read(block, 0, n, pos);
      const buf = Buffer.concat([block, partial]);
      // Above the file's start, what precedes the first newline belongs to a line not read whole yet.
      const cut = pos > 0 ? buf.indexOf(10) + 1 : 0;
      if (pos > 0 && cut === 0) {
        partial = buf;
        continue;
      }
      partial = buf.subarray(0, cut);
      lines = [...buf.subarray(cut).toString('utf8').split('\n').filter(Boolean), ...lines];
    }
    return lines.slice(-want);
  } finally {
    await fh.close();
  }
}
