/** `girder logs CHAIN`: a chain deployment's chainlets' logs, one chainlet or all of them. */
import type { Client } from '../client.ts';
import { resolveChainDeployment } from './chains-resolve.ts';
import { readLogLines } from '../ndjson.ts';
import { type LogOpts, logQuery, showLogLine } from './logs.ts';

interface ChainletRef {
  id: string;
  name: string;
}

/**
 * Prints the logs of `chainlet` (a name or id) of a chain deployment, or of every chainlet, each
 * line led by its chainlet's name. Without `follow` the chainlets' recent lines are merged in time
 * order; with it, lines print as they arrive from each.
 *
 * @example
 *   await chainLogs(client, chainId, undefined, 'SayHello', { follow: true });
 */
export async function chainLogs(
  client: Client,
  chainId: string,
  deployment: string | undefined,
  chainlet: string | undefined,
  opts: LogOpts,
): Promise<void> {
  const dep = await resolveChainDeployment(client, chainId, deployment ?? 'production');
  const base = `/chains/${chainId}/deployments/${encodeURIComponent(dep)}`;
  const { chainlets } = await client.api<{ chainlets: ChainletRef[] }>('GET', base);
  const chosen = chainlet ? chainlets.filter((c) => c.name === chainlet || c.id === chainlet) : chainlets;
  if (!chosen.length)
    throw new Error(
      `No chainlet "${chainlet}" in this deployment. Its chainlets: ${chainlets.map((c) => c.name).join(', ')}.`,
    );
  const width = Math.max(...chosen.map((c) => c.name.length));
  const prefix = (c: ChainletRef) => (chosen.length > 1 ? `${c.name.padEnd(width)} ` : '');
  const open = (c: ChainletRef) =>
    client.request(`/api/v1${base}/chainlets/${encodeURIComponent(c.id)}/logs?${logQuery(opts)}`);
  if (opts.follow) {
    await Promise.all(
      chosen.map(async (c) =>
        readLogLines(await open(c), (line) => console.log(showLogLine(line, opts.json, prefix(c)))),
      ),
    );
    return;
  }
  const all: { ts: string; text: string }[] = [];
  await Promise.all(
    chosen.map(async (c) =>
      readLogLines(await open(c), (line) => {
        let ts = '';
        try {
          ts = String((JSON.parse(line) as { ts?: unknown }).ts ?? '');
        } catch {
          /* not JSON: sorts first */
        }
        all.push({ ts, text: showLogLine(line, opts.json, prefix(c)) });
      }),
    ),
  );
  // a stable sort: each chainlet's lines keep their order within the same instant
  for (const l of all.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0))) console.log(l.text);
}
