import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BuildLogWriter } from './build-log.ts';
import { BuildError } from './run-tool.ts';
import type { ExternalFile } from './spec.ts';

/**
 * The cache key of an external file: its URL (a file at a URL is taken to stay what it was, as
 * Truss's build does; push with another URL to change it).
 *
 * @example
 *   dataKey('https://example.com/w.bin'); // → 'a1b2…' (24 hex)
 */
export const dataKey = (url: string): string => createHash('sha256').update(url).digest('hex').slice(0, 24);

/**
 * Downloads one external file into `dir/file` (the cache builds `dir` aside: nothing half-written
 * counts). Follows redirects; any answer but 2xx fails the build with its status.
 *
 * @example
 *   await download(log, { url, localDataPath: 'weights.bin' }, '/data/envs/data/a1b2…');
 */
export async function download(log: BuildLogWriter, file: ExternalFile, dir: string): Promise<void> {
  log.write('girder', `downloading ${file.url}`);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  let res: Response;
  try {
    res = await fetch(file.url, { redirect: 'follow', signal: log.signal });
  } catch (err) {
    throw new BuildError(
      `external_data: could not fetch ${file.url}: ${(err as Error).cause ?? (err as Error).message}`,
    );
  }
  if (!res.ok || !res.body) throw new BuildError(`external_data: ${file.url} answered ${res.status} ${res.statusText}`);
  const out = join(dir, 'file');
  await pipeline(
    Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
    createWriteStream(out, { mode: 0o644 }),
  );
  log.write('girder', `downloaded ${file.url}`);
}

/**
 * Puts a cached external file at its `local_data_path` in the deployment's data dir. A copy (a
 * reflink where the file system has them), not a hard link: the snapshot's files are given to the
 * group of its replicas' user, which a shared inode would take from other snapshots.
 *
 * @example
 *   await place('/data/envs/data/a1b2…', '/data/snapshots/ab12/data', 'weights.bin');
 */
export async function place(cached: string, dataDir: string, localDataPath: string): Promise<void> {
  const target = join(dataDir, localDataPath);
  await mkdir(dirname(target), { recursive: true });
  const aside = `${target}.girder-tmp`;
  await copyFile(join(cached, 'file'), aside, 2 /* COPYFILE_FICLONE */);
  await rename(aside, target).catch(async (err) => {
    await rm(aside, { force: true });
    throw err;
  });
}
