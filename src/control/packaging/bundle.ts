import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { badRequest } from '../../errors.ts';

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
    path.split('/').some((s) => s === '..' || s === '')
  ) {
    throw badRequest(`Invalid path in the uploaded bundle: ${JSON.stringify(path)}.`);
  }
  return path;
}

/**
 * Unpacks a bundle stream into `dest` (which must exist). Rejects paths that would leave `dest`.
 * Returns the number of files and bytes written.
 */
export async function unpackTo(
  input: Readable,
  dest: string,
  maxBytes: number,
): Promise<{ files: number; bytes: number }> {
  let pending = Buffer.alloc(0);
  let out: ReturnType<typeof createWriteStream> | null = null;
  let left = 0;
  let files = 0;
  let bytes = 0;
  const finish = (w: ReturnType<typeof createWriteStream>) =>
    new Promise<void>((resolve, reject) => {
      w.on('error', reject);
      w.end(resolve);
    });
  for await (const chunk of input) {
    bytes += chunk.length;
    if (bytes > maxBytes) throw badRequest(`The model directory is larger than ${maxBytes} bytes.`);
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length) {
      if (out) {
        const take = Math.min(left, pending.length);
        if (!out.write(pending.subarray(0, take))) await new Promise<void>((r) => out!.once('drain', () => r()));
        pending = pending.subarray(take);
        left -= take;
        if (left === 0) {
          await finish(out);
          out = null;
        }
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
      const target = join(dest, path);
      await mkdir(dirname(target), { recursive: true });
      const mode = typeof header.mode === 'number' ? (header.mode & 0o777) | 0o600 : 0o644;
      out = createWriteStream(target, { mode });
      files++;
      left = size;
      if (left === 0) {
        await finish(out);
        out = null;
      }
    }
  }
  if (out || pending.length) throw badRequest('Malformed bundle: the upload ended in the middle of a file.');
  return { files, bytes };
}
