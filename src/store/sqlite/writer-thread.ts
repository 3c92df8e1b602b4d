import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';
import { writeAsyncBatch } from './async-batch.ts';
import { PRAGMAS } from './pragmas.ts';
import { addUsageBatch } from './usage-batch.ts';

/**
 * The writer thread: its own connection to the database file, so that the commits (fsync) and WAL
 * checkpoints of async request batches and usage flushes never block the event loop that serves requests.
 */
const db = new DatabaseSync(workerData.path as string);
db.exec(PRAGMAS);
const cache = new Map<string, StatementSync>();

parentPort!.on('message', (msg: { id: number; inserts: []; patches: []; usage?: [] } | 'close') => {
  if (msg === 'close') {
    db.close();
    parentPort!.close();
    return;
  }
  try {
    if (msg.usage) addUsageBatch(db, cache, msg.usage);
    else writeAsyncBatch(db, cache, msg.inserts, msg.patches);
    parentPort!.postMessage({ id: msg.id });
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: (err as Error).message });
  }
});
