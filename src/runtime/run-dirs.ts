import { randomBytes } from 'node:crypto';
import { chmod, chown, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Secrets } from '../control/secrets.ts';
import type { LogBook } from './logs.ts';

/**
 * `<dataDir>/run/<deployment id>/`: what a deployment's replicas get on disk, above all the copies of
 * its secrets (`secrets/<name>`, written by `replica-env.ts` at each start). Nothing here may outlive
 * what it copies: a deleted deployment takes its folder along, a deleted secret its copies, and an
 * updated secret leaves no old value behind, whether the deployment runs or not.
 */

const ignore = (): void => {};

/**
 * Removes a deployment's run folder and everything in it.
 *
 * @example
 *   await removeRunDir(dataDir, deployment.id);
 */
export async function removeRunDir(dataDir: string, deploymentId: string): Promise<void> {
  await rm(join(dataDir, 'run', deploymentId), { recursive: true, force: true });
}

/** The run folders there are: one per deployment that started a replica since it was created. */
async function runDirs(dataDir: string): Promise<string[]> {
  try {
    const entries = await readdir(join(dataDir, 'run'), { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

/**
 * Brings every copy of a secret in line with its value: deleted (`value` undefined) everywhere, or
 * replaced (atomically: a replica reading it sees the old or the new value, never half) wherever a
 * copy exists. A deployment without a copy gets the secret at its next start, if its config names it.
 *
 * @example
 *   await refreshSecretCopies(dataDir, 'hf_token', secrets.values(['hf_token']).get('hf_token'));
 */
export async function refreshSecretCopies(dataDir: string, name: string, value: string | undefined): Promise<void> {
  await Promise.all(
    (await runDirs(dataDir)).map(async (d) => {
      const copy = join(dataDir, 'run', d, 'secrets', name);
      if (value === undefined) return unlink(copy).catch(ignore);
      const before = await stat(copy).catch(() => undefined);
      if (!before) return;
      const temp = `${copy}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        await writeFile(temp, value, { mode: 0o600 });
        // The new copy keeps the old one's owner and mode: a sandboxed replica reads it through its group.
        await chown(temp, before.uid, before.gid);
        await chmod(temp, before.mode & 0o777);
        await rename(temp, copy);
      } catch {
        await unlink(temp).catch(ignore);
        // No copy rather than a stale one; but one a replica start wrote meanwhile holds the new value.
        if ((await readFile(copy, 'utf8').catch(() => value)) !== value) await unlink(copy).catch(ignore);
      }
    }),
  );
}

/**
 * Removes the run folders of deployments that no longer exist (deleted while an older Girder ran,
 * or before it could clean up).
 *
 * @example
 *   await removeLeftoverRunDirs(dataDir, (id) => registry.deployments.has(id));
 */
export async function removeLeftoverRunDirs(dataDir: string, exists: (deploymentId: string) => boolean): Promise<void> {
  await Promise.all((await runDirs(dataDir)).filter((d) => !exists(d)).map((d) => removeRunDir(dataDir, d)));
}

/**
 * What deployments keep on disk besides their snapshot, their logs and run folders, kept in step
 * with the records: a deleted deployment's are removed, and a secret's copies follow its value.
 *
 * @example
 *   const leftovers = new DeploymentLeftovers(dataDir, logs, secrets);
 *   leftovers.forget(deployment.id, stopping); // on deployment-removed, with its replicas' stop
 *   await leftovers.removed(deployment.id);
 *   await secrets.delete('hf_token');
 *   await leftovers.secretCopies(); // no copy of hf_token is left
 */
export class DeploymentLeftovers {
  readonly #dataDir: string;
  readonly #logs: LogBook;
  /** Deleted deployments whose logs and run folder are being removed. */
  readonly #removals = new Map<string, Promise<void>>();
  /** The secret changes being written to the copies, one after the other, so the last value wins. */
  #secretWrites: Promise<void> = Promise.resolve();

  constructor(dataDir: string, logs: LogBook, secrets: Secrets) {
    this.#dataDir = dataDir;
    this.#logs = logs;
    secrets.on('changed', (name) => {
      const write = () => refreshSecretCopies(dataDir, name, secrets.values([name]).get(name));
      this.#secretWrites = this.#secretWrites.then(write, write);
    });
  }

  /** Resolves once every secret change so far is in the copies (a secret's PUT or DELETE answers then). */
  secretCopies(): Promise<void> {
    return this.#secretWrites;
  }

  /** Removes what deployments that no longer exist left (deleted while an older Girder ran). */
  sweep(exists: (deploymentId: string) => boolean): void {
    void removeLeftoverRunDirs(this.#dataDir, exists);
    void this.#logs.removeLeftovers(exists);
  }

  /**
   * Removes a deleted deployment's logs (closed first, at once) and, once its replicas have `stopped`,
   * its run folder with the copies of its secrets: a replica still exiting may write there (Node
   * flushes its compile cache at exit), which would bring the folder back.
   */
  forget(deploymentId: string, stopped: Promise<void>): void {
    const settle = () => void this.#removals.delete(deploymentId);
    const runDir = stopped.catch(() => {}).then(() => removeRunDir(this.#dataDir, deploymentId));
    const done = Promise.all([this.#logs.remove(deploymentId), runDir]);
    this.#removals.set(deploymentId, done.then(settle, settle));
  }

  /** Resolves once a deleted deployment's logs and run folder are gone (at once for any other). */
  removed(deploymentId: string): Promise<void> {
    return this.#removals.get(deploymentId) ?? Promise.resolve();
  }
}
