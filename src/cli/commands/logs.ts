import type { Command } from 'commander';
import { type Client, type CommonOpts, common, connect, resolveDeployment, resolveModel, run } from '../client.ts';
import { formatLogLine, type LogLine } from '../format.ts';
import { printBuildLog } from './builds.ts';

/**
 * Prints a deployment's logs as they arrive: the server sends NDJSON, one entry per line, and keeps
 * the answer open with `follow`. `json` prints the lines untouched.
 */
export async function printLogs(
  client: Client,
  modelId: string,
  deployment: string,
  opts: { limit?: number; follow?: boolean; json?: boolean },
): Promise<void> {
  const q = new URLSearchParams({ limit: String(opts.limit ?? 200) });
  if (opts.follow) q.set('follow', 'true');
  const res = await client.request(`/api/v1/models/${modelId}/deployments/${encodeURIComponent(deployment)}/logs?${q}`);
  const print = (line: string) => {
    if (!line.trim()) return;
    if (opts.json) return console.log(line);
    try {
      console.log(formatLogLine(JSON.parse(line) as LogLine));
    } catch {
      console.log(line); // not JSON: show it rather than drop it
    }
  };
  if (!res.body) return;
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of res.body) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split('\n');
    pending = lines.pop()!;
    lines.forEach(print);
  }
  print(pending + decoder.decode());
}

interface LogsOpts extends CommonOpts {
  deployment?: string;
  follow?: boolean;
  build?: boolean;
  limit: string;
}

export function registerLogs(program: Command): void {
  common(
    program
      .command('logs')
      .description("print a deployment's logs (the production deployment unless --deployment)")
      .argument('<model>', 'model id or name')
      .option('-d, --deployment <id>', 'deployment id or name (or production / development)')
      .option('-f, --follow', 'keep printing new lines until Ctrl-C (with --build: until the build ends)')
      .option('--build', "the deployment's build log (pip, npm, build commands) instead of its replicas' output")
      .option('-n, --limit <n>', 'how many recent lines', '200'),
  ).action(
    run(async (model: string, opts: LogsOpts, cmd: Command) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new Error(`--limit must be a positive integer, not "${opts.limit}".`);
      const client = connect(cmd);
      const modelId = await resolveModel(client, model);
      const dep = opts.deployment ? await resolveDeployment(client, modelId, opts.deployment) : 'production';
      // Ctrl-C while following is the normal way out, not an error.
      process.once('SIGINT', () => process.exit(0));
      if (opts.build) return printBuildLog(client, modelId, dep, { follow: opts.follow, json: opts.json });
      await printLogs(client, modelId, dep, { limit, follow: opts.follow, json: opts.json });
    }),
  );
}
