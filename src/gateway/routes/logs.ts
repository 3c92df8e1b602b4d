import type { ServerResponse } from 'node:http';
import type { LogEntry } from '../../runtime/logs.ts';
import type { App } from '../app-context.ts';

/**
 * Streams a deployment's logs as NDJSON: the last `limit` lines, then, with `follow`, every new line
 * until the client disconnects.
 */
export async function followLogs(
  app: App,
  res: ServerResponse,
  deploymentId: string,
  limit: number,
  follow: boolean,
): Promise<void> {
  const recent = await app.logs.recent(
    deploymentId,
    Number.isFinite(limit) && limit > 0 ? Math.min(limit, 10_000) : 200,
  );
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
  for (const entry of recent) res.write(`${JSON.stringify(entry)}\n`);
  if (!follow) {
    res.end();
    return;
  }
  const onLine = (entry: LogEntry) => {
    if (entry.deployment_id === deploymentId) res.write(`${JSON.stringify(entry)}\n`);
  };
  app.logs.on('line', onLine);
  await new Promise<void>((resolve) => res.once('close', resolve));
  app.logs.off('line', onLine);
}
