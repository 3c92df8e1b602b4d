import type { Command } from 'commander';
import { type Client, type CommonOpts, common, connect, run } from '../client.ts';
import { printJson } from '../format.ts';
import { readLogLines } from '../ndjson.ts';

/** One line of a build log, as `GET …/build_logs` sends it. */
interface BuildLine {
  time: string;
  stream: 'girder' | 'stdout' | 'stderr';
  line: string;
}

/**
 * Prints a deployment's build log, following it until the build ends with `follow` (what `girder
 * push` shows while it builds). Girder's own steps are marked `==>`; tool output is as printed.
 */
export async function printBuildLog(
  client: Client,
  modelId: string,
  deployment: string,
  opts: { follow?: boolean; json?: boolean; out?: (line: string) => void } = {},
): Promise<void> {
  const out = opts.out ?? ((l: string) => console.log(l));
  const q = opts.follow ? '?follow=true' : '';
  const res = await client.request(
    `/api/v1/models/${modelId}/deployments/${encodeURIComponent(deployment)}/build_logs${q}`,
  );
  const print = (text: string) => {
    if (!text.trim()) return;
    if (opts.json) return out(text);
    try {
      const l = JSON.parse(text) as BuildLine;
      out(l.stream === 'girder' ? `==> ${l.line}` : l.line);
    } catch {
      out(text);
    }
  };
  await readLogLines(res, print);
}

export function registerGc(program: Command): void {
  common(
    program
      .command('gc')
      .description('remove the built environments (virtualenvs, node_modules, external data) no deployment uses'),
  ).action(
    run(async (opts: CommonOpts, cmd: Command) => {
      const r = await connect(cmd).api<{ removed: string[] }>('POST', '/gc');
      if (opts.json) return printJson(r);
      for (const dir of r.removed) console.log(`removed ${dir}`);
      console.log(`${r.removed.length} environment${r.removed.length === 1 ? '' : 's'} removed`);
    }),
  );
}
