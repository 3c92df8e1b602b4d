import type { ServerResponse } from 'node:http';
import type { BuildLine } from '../../runtime/build/build-log.ts';
import type { App } from '../app-context.ts';
import type { Route } from './management.ts';

/**
 * Streams a deployment's build log as NDJSON: every line so far, then, with `follow` and while it
 * builds, each new line as the tool prints it, ending when the build does (so `girder push` can
 * stream a build and then go on).
 *
 * @example
 *   await followBuild(app, res, deployment.id, true); // returns once the build ended or the client left
 */
export async function followBuild(app: App, res: ServerResponse, deploymentId: string, follow: boolean) {
  const logs = app.builder.logs;
  let early: BuildLine[] | null = [];
  let ended = false;
  const onLine = (entry: BuildLine) => {
    if (entry.deployment_id !== deploymentId) return;
    if (early) early.push(entry);
    else res.write(`${JSON.stringify(entry)}\n`);
  };
  const onEnd = (id: string) => {
    if (id !== deploymentId) return;
    ended = true;
    if (!early) res.end();
  };
  // Listening before the file is read: a line written during the read is not lost.
  const live = follow && logs.building(deploymentId);
  if (live) logs.on('line', onLine).on('end', onEnd);
  try {
    const sent = new Set<string>();
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
    for (const entry of await logs.read(deploymentId)) {
      const line = `${JSON.stringify(entry)}\n`;
      sent.add(line);
      res.write(line);
    }
    if (!live) return void res.end();
    for (const entry of early) {
      const line = `${JSON.stringify(entry)}\n`;
      if (!sent.has(line)) res.write(line);
    }
    early = null;
    if (ended || !logs.building(deploymentId)) res.end();
    else if (!res.closed) await new Promise<void>((resolve) => res.once('close', resolve).once('finish', resolve));
  } finally {
    logs.off('line', onLine).off('end', onEnd);
  }
}

const flag = (q: URLSearchParams, name: string): boolean => q.get(name) === 'true' || q.get(name) === '1';

/** The build routes of the management API: a deployment's build log, and the environments' gc. */
export const BUILD_ROUTES: Route[] = [
  [
    'GET',
    /^\/models\/([^/]+)\/deployments\/([^/]+)\/build_logs$/,
    async ({ app, res, params, query }) => {
      const d = app.registry.deploymentOf(params[0], params[1]);
      await followBuild(app, res, d.id, flag(query, 'follow'));
      return undefined;
    },
  ],
  ['POST', /^\/gc$/, async ({ app }) => ({ removed: await app.builder.gc(0) })],
];
