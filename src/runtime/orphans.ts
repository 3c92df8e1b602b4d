import { readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';

/**
 * A record of the process groups of running replicas, in `<dataDir>/run/replicas.json`, so that a
 * Girder that was killed without a chance to stop them (SIGKILL, a crash) reaps them on its next
 * start. Built-in runners also exit when Girder's end of their stdin closes; custom servers need this.
 */
export class ReplicaRecord {
  readonly #file: string;
  readonly #dataDir: string;
  #writing: Promise<void> = Promise.resolve();

  constructor(file: string, dataDir: string) {
    this.#file = file;
    this.#dataDir = dataDir;
  }

  /** Kills the groups a previous run left, if they still run replicas of this data dir. Returns how many. */
  reapLeftovers(): number {
    let pids: number[];
    try {
      pids = JSON.parse(readFileSync(this.#file, 'utf8'));
    } catch {
      return 0;
    }
    let reaped = 0;
    for (const pid of pids) {
      // The pid may have been reused since: only a process started with our model dir is ours.
      let environ = '';
      try {
        environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      } catch {
        continue;
      }
      if (!environ.includes(`GIRDER_MODEL_DIR=${this.#dataDir}`)) continue;
      try {
        process.kill(-pid, 'SIGKILL');
        reaped++;
      } catch {
        /* gone meanwhile */
      }
    }
    writeFileSync(this.#file, '[]');
    return reaped;
  }

  /** Saves the current set (asynchronously, in order; never on the request path). */
  save(pids: number[]): void {
    const text = JSON.stringify(pids);
    this.#writing = this.#writing.then(() => writeFile(this.#file, text)).catch(() => {});
  }

  /** Resolves once every save so far is on disk: a closed Girder writes nothing more to its data dir. */
  flushed(): Promise<void> {
    return this.#writing;
  }
}
