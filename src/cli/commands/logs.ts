import type { Command } from 'commander';
import { type Client, type CommonOpts, common, connect, resolveDeployment, run } from '../client.ts';
import { formatLogLine, type LogLine } from '../format.ts';
import { readLogLines } from '../ndjson.ts';
import { printBuildLog } from './builds.ts';
import { chainLogs } from './chains-logs.ts';
import { resolveTarget } from './chains-resolve.ts';

export interface LogOpts {
  limit?: number;
  follow?: boolean;
  json?: boolean;
}

/** One log line for the terminal (`prefix` before it, e.g. a chainlet's name), or untouched with `json`. */
export function showLogLine(line: string, json: boolean | undefined, prefix = ''): string {
  if (json) return line;
  try {
    return `${prefix}${formatLogLine(JSON.parse(line) as LogLine)}`;
  } catch {
    return `${prefix}${line}`; // not JSON: show it rather than drop it
  }
}

/** The query of a logs route: `limit`, and `follow` when asked. */
export function logQuery(opts: LogOpts): URLSearchParams {
  const q = new URLSearchParams({ limit: String(opts.limit ?? 200) });
  if (opts.follow) q.set('follow', 'true');
  return q;
}

/** Prints a model deployment's logs as they arrive; `json` prints the lines untouched. */
export async function printLogs(client: Client, modelId: string, deployment: string, opts: LogOpts): Promise<void> {
  const path = `/api/v1/models/${modelId}/deployments/${encodeURIComponent(deployment)}/logs`;
  const res = await client.request(`${path}?${logQuery(opts)}`);
  await readLogLines(res, (line) => console.log(showLogLine(line, opts.json)));
}

interface LogsOpts extends CommonOpts {
  deployment?: string;
  chainlet?: string;
  follow?: boolean;
  build?: boolean;
  limit: string;
}

export function registerLogs(program: Command): void {
  common(
    program
      .command('logs')
      .description("print a deployment's logs, or a chain's (the production deployment unless --deployment)")
      .argument('<model-or-chain>', 'model or chain, by id or name')
      .option('-d, --deployment <id>', 'deployment id or name (or production / development)')
      .option('-c, --chainlet <name>', "a chain's chainlet, by name or id (default: every chainlet, each line named)")
      .option('-f, --follow', 'keep printing new lines until Ctrl-C (with --build: until the build ends)')
      .option('--build', "a model deployment's build log (pip, npm, build commands) instead of its replicas' output")
      .option('-n, --limit <n>', 'how many recent lines (per chainlet for a chain)', '200'),
  ).action(
    run(async (ref: string, opts: LogsOpts, cmd: Command) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new Error(`--limit must be a positive integer, not "${opts.limit}".`);
      const client = connect(cmd);
      const target = await resolveTarget(client, ref);
      // Ctrl-C while following is the normal way out, not an error.
      process.once('SIGINT', () => process.exit(0));
      const logOpts = { limit, follow: opts.follow, json: opts.json };
      if (target.kind === 'chain') {
        if (opts.build) throw new Error(`--build is for models; a chain's build is in its push's answer.`);
        return chainLogs(client, target.id, opts.deployment, opts.chainlet, logOpts);
      }
      if (opts.chainlet) throw new Error(`--chainlet is for chains, and "${ref}" is a model.`);
      const dep = opts.deployment ? await resolveDeployment(client, target.id, opts.deployment) : 'production';
      if (opts.build) return printBuildLog(client, target.id, dep, { follow: opts.follow, json: opts.json });
      await printLogs(client, target.id, dep, logOpts);
    }),
  );
}
