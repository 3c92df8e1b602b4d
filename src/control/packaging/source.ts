import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { badRequest } from '../../errors.ts';

/**
 * Where a snapshot came from on the pusher's machine (`girder push` sends its directory), kept beside
 * the snapshot as `<snapshot>.source` (outside it: the model never sees it). Replica output names
 * files by their snapshot path; a user knows them by this one, so tracebacks are shown with it.
 */
const sidecar = (snapshot: string): string => `${snapshot}.source`;

/**
 * Checks and records the source directory of a new snapshot.
 *
 * @example
 *   await writeSource('/data/snapshots/ab12cd', '/home/ada/my-model');
 */
export async function writeSource(snapshot: string, source: string): Promise<void> {
  if (!isAbsolute(source) || source.length > 4096 || /[\0\r\n]/.test(source)) {
    throw badRequest('Invalid source: it must be the absolute path of the pushed directory.', 'girder push sends it.');
  }
  await writeFile(sidecar(snapshot), source.replace(/\/+$/, ''), { mode: 0o600 });
}

/**
 * The source directory of a snapshot, or null when it was pushed without one. Read when a replica
 * starts, never on the request path.
 *
 * @example
 *   readSource('/data/snapshots/ab12cd'); // '/home/ada/my-model'
 */
export function readSource(snapshot: string): string | null {
  try {
    return readFileSync(sidecar(snapshot), 'utf8') || null;
  } catch {
    return null;
  }
}

/** Forgets a snapshot's source, with the snapshot. */
export async function removeSource(snapshot: string): Promise<void> {
  await rm(sidecar(snapshot), { force: true });
}

/**
 * A line of replica output with the snapshot's paths shown as the pusher's: what a traceback names.
 *
 * @example
 *   asPushed('/data/snapshots/ab12cd', '/home/ada/my-model')('File "/data/snapshots/ab12cd/model/model.py"')
 *   // 'File "/home/ada/my-model/model/model.py"'
 */
export function asPushed(snapshot: string, source: string | null | undefined): (line: string) => string {
  if (!source) return (line) => line;
  return (line) => (line.includes(snapshot) ? line.replaceAll(snapshot, source) : line);
}
