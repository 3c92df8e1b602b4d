import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { badRequest, GirderError } from '../../errors.ts';

/**
 * A model directory on the wire, for `girder push`: for each file, one JSON header line
 * `{"path":"model/model.py","mode":420,"size":123}\n` then `size` raw bytes; the stream's end ends
 * the bundle. Both sides stream, so a directory with large data files never sits in memory.
 */
export const BUNDLE_CONTENT_TYPE = 'application/x-girder-bundle';

/** Never shipped: VCS data, caches, local Girder state. */
const SKIP = new Set(['.git', '__pycache__', '.girder', '.DS_Store', '.venv']);

async function* walk(root: string, dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(root, full);
    else if (entry.isFile()) yield full;
  }
}

/**
 * Packs a directory into a bundle stream.
 *
 * @example
 *   await fetch(url, { method: 'POST', body: Readable.toWeb(Readable.from(packDir('./my-model'))), duplex: 'half' })
 */
export async function* packDir(root: string): AsyncGenerator<Buffer> {
  for await (const file of walk(root, root)) {
    const { size, mode } = await stat(file);
    const path = relative(root, file).split(sep).join('/');
    yield Buffer.from(`${JSON.stringify({ path, mode: mode & 0o777, size })}\n`);
    for await (const chunk of createReadStream(file)) yield chunk as Buffer;
  }
}

function safePath(path: unknown): string {
  if (
    typeof path !== 'string' ||
    !path ||
    path.startsWith('/') ||
    path.includes('\0') ||
    path.split('/').some((s) => s === '..' || s === '.' || s === '')
  ) {
    throw badRequest(`Invalid path in the uploaded bundle: ${JSON.stringify(path)}.`);
  }
  return path;
}

/** Errors that say the entry itself is wrong (its name, or a clash with an entry before it), not the disk. */
const BAD_ENTRY: Record<string, string> = {
  EEXIST: 'it clashes with an entry before it (the same path, or a file where it needs a folder)',
  ENOTDIR: 'a folder on its path is a file of the bundle',
  EISDIR: 'a folder of the bundle has that path',
  ENAMETOOLONG: 'its name is too long for the file system',
  EINVAL: 'the file system does not accept its name',
  EILSEQ: 'the file system does not accept its name',
};

/**
 * What a push answers when the disk refuses part of it: 400 naming a bad `entry`, 507 when the disk
 * (or the quota) is full, else 500 with the system's message. Anything not from the file system
 * passes through unchanged.
 *
 * @example
 *   diskError(Object.assign(new Error('no space'), { code: 'ENOSPC' }), 'model/weights.bin').status; // → 507
 */
export function diskError(err: unknown, entry?: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string' || !code.startsWith('E')) return err;
  const where = entry === undefined ? 'the snapshot folder' : JSON.stringify(entry);
  if (entry !== undefined && BAD_ENTRY[code])
    return badRequest(
      `Bad entry ${where} in the uploaded bundle: ${BAD_ENTRY[code]}.`,
      `The file system said ${code}.`,
    );
  if (code === 'ENOSPC' || code === 'EDQUOT')
    return new GirderError(
      'insufficient_storage',
      `Not enough disk space for the pushed model (writing ${where}).`,
      'Free space in the data directory (or raise its quota), then push again.',
    );
  return new GirderError(
    'internal_baseten_error',
    `Could not write ${where} of the pushed model.`,
    (err as Error).message,
  );
}

/**
 * The one file of a bundle being written. It holds at most one open file, and `close()` releases it
 * whatever happened: an upload that fails midway (client gone, bad entry, size limit) leaves no
 * handle on the snapshot it removes. Writes go through a FileHandle, so a disk error is a rejection
 * of the step that caused it, never an `'error'` event that nobody listens to while the upload waits.
 */
class EntryWriter {
  readonly #dest: string;
  #fh: FileHandle | null = null;
  #path = '';
  #left = 0;

  constructor(dest: string) {
    this.#dest = dest;
  }

  get writing(): boolean {
    return this.#fh !== null;
  }

  /** Creates the entry's file (never over another entry's); a size 0 entry is done at once. */
  async begin(path: string, size: number, mode: number): Promise<void> {
    const target = join(this.#dest, path);
    try {
      await mkdir(dirname(target), { recursive: true });
      this.#fh = await open(target, 'wx', mode);
    } catch (err) {
      throw diskError(err, path);
    }
    this.#path = path;
    this.#left = size;
    if (size === 0) await this.#finish();
  }

  /** Writes what of `data` belongs to the current entry, and returns the rest. */
  async write(data: Buffer): Promise<Buffer> {
    const take = Math.min(this.#left, data.length);
    try {
      // A write may take less than it was given (a disk filling up): the next one reports why.
      for (let done = 0; done < take; ) done += (await this.#fh!.write(data, done, take - done)).bytesWritten;
    } catch (err) {
      await this.close(); // its space is freed with the snapshot only once no handle holds it
      throw diskError(err, this.#path);
    }
    this.#left -= take;
    if (this.#left === 0) await this.#finish();
    return data.subarray(take);
  }

  async #finish(): Promise<void> {
    const fh = this.#fh!;
    this.#fh = null;
    try {
      await fh.close();
    } catch (err) {
      throw diskError(err, this.#path);
    }
  }

  /** Releases the file being written, if any; never throws (the upload already failed, or ended). */
  async close(): Promise<void> {
    const fh = this.#fh;
    this.#fh = null;
    await fh?.close().catch(() => {});
  }
}

/**
 * Unpacks a bundle stream into `dest` (which must exist). Rejects paths that would leave `dest`.
 * Returns the number of files and bytes written. Every failure is a GirderError (400, 507, 500; see
 * `diskError`) or the input's own error, and leaves no file open.
 *
 * @example
 *   const { files } = await unpackTo(req, snapshotDir, 10 * 1024 ** 3);
 */
export async function unpackTo(
  input: Readable,
  dest: string,
  maxBytes: number,
): Promise<{ files: number; bytes: number }> {
  const out = new EntryWriter(dest);
  let pending: Buffer = Buffer.alloc(0);
  let files = 0;
  let bytes = 0;
  try {
    for await (const chunk of input) {
      bytes += chunk.length;
      if (bytes > maxBytes) throw badRequest(`The model directory is larger than ${maxBytes} bytes.`);
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length) {
        if (out.writing) {
          pending = await out.write(pending);
          continue;
        }
        const nl = pending.indexOf(10);
        if (nl < 0) {
          if (pending.length > 65_536) throw badRequest('Malformed bundle: header line too long.');
          break;
        }
        let header: { path?: unknown; mode?: unknown; size?: unknown };
        try {
          header = JSON.parse(pending.subarray(0, nl).toString('utf8'));
        } catch {
          throw badRequest('Malformed bundle: bad header line.');
        }
        pending = pending.subarray(nl + 1);
        const path = safePath(header.path);
        const size = Number(header.size);
        if (!Number.isSafeInteger(size) || size < 0) throw badRequest(`Malformed bundle: bad size for ${path}.`);
        const mode = typeof header.mode === 'number' ? (header.mode & 0o777) | 0o600 : 0o644;
        await out.begin(path, size, mode);
        files++;
      }
    }
    if (out.writing || pending.length) throw badRequest('Malformed bundle: the upload ended in the middle of a file.');
  } finally {
    await out.close();
  }
  return { files, bytes };
}

/**
 * A new, empty snapshot directory under `<dataDir>/snapshots` for a push to unpack into; a disk that
 * refuses it is the push's 507 or 500 (`diskError`).
 *
 * @example
 *   const dir = await newSnapshotDir(dataDir); // '/data/snapshots/4a88c0b020d1'
 */
export async function newSnapshotDir(dataDir: string): Promise<string> {
  const dir = join(dataDir, 'snapshots', randomBytes(6).toString('hex'));
  try {
    // Not recursive for the snapshot itself: a recursive mkdir reports a read-only disk as ENOENT.
    await mkdir(join(dataDir, 'snapshots'), { recursive: true });
    await mkdir(dir);
  } catch (err) {
    throw diskError(err);
  }
  return dir;
}
