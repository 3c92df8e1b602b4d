import type { ServerResponse } from 'node:http';
import type { LogEntry } from '../../runtime/logs.ts';
import type { App } from '../app-context.ts';

/**
 * Streams a deployment's logs as NDJSON: the last `limit` lines, then, with `follow`, every new line
 * until the client disconnects. Followers hear of lines as they are logged, not from the files, so a
 * rotation of the files changes nothing for them.
 *
 * @example
 *   await followLogs(app, res, deployment.id, 200, true); // returns once the client left
 */
export async function followLogs(
  app: App,
  res: ServerResponse,
  deploymentId: string,
  limit: number,
  follow: boolean,
): Promise<void> {
  // Listening before the recent lines are read: a line logged during the read is not lost.
  let early: LogEntry[] | null = [];
  const onLine = (entry: LogEntry) => {
    if (entry.deployment_id !== deploymentId) return;
    if (early) early.push(entry);
    else res.write(`${JSON.stringify(entry)}\n`);
  };
  // A deleted deployment logs nothing more: its followers are done (once the recent lines are sent).
  let removed = false;
  const onRemoved = (id: string) => {
    if (id !== deploymentId) return;
    removed = true;
    if (!early) res.end();
  };
  if (follow) app.logs.on('line', onLine).on('removed', onRemoved);
  try {
    const recent = await app.logs.recent(
      deploymentId,
      Number.isFinite(limit) && limit > 0 ? Math.min(limit, 10_000) : 200,
    );
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
    const sent = new Set<string>();
    for (const entry of recent) {
      const line = `${JSON.stringify(entry)}\n`;
      sent.add(line);
      res.write(line);
    }
    if (!follow) {
      res.end();
      return;
    }
    // What was logged during the read, unless the read already returned it.
    for (const entry of early) {
      const line = `${JSON.stringify(entry)}\n`;
      if (!sent.has(line)) res.write(line);
    }
    early = null;
    if (removed) res.end();
    else if (!res.closed) await new Promise<void>((resolve) => res.once('close', resolve).once('finish', resolve));
  } finally {
    app.logs.off('line', onLine).off('removed', onRemoved);
  }
}
