import type { Command } from 'commander';
import { type CommonOpts, common, connect, run } from '../client.ts';
import { printJson, printTable, shortTime } from '../format.ts';

interface UsageRow {
  hour: string;
  key_prefix: string;
  key_name: string | null;
  model_name: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

interface UsageOpts extends CommonOpts {
  since: string;
  until?: string;
  key?: string;
  model?: string;
}

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A time as typed: ISO 8601, or an age such as `90m`, `24h` or `7d` (that long ago).
 *
 * @example
 *   timeArg('24h', Date.parse('2026-11-22T12:00:00Z')); // '2026-11-21T12:00:00.000Z'
 */
export function timeArg(v: string, now = Date.now()): string {
  const age = /^(\d+)([mhd])$/.exec(v);
  if (age) return new Date(now - Number(age[1]) * UNITS[age[2]]).toISOString();
  if (Number.isNaN(Date.parse(v))) throw new Error(`"${v}" is neither an ISO 8601 time nor an age like 24h or 7d`);
  return v;
}

/** `girder usage`: `/v1` requests and tokens per hour, key and model (GET /api/v1/usage). */
export function registerUsage(program: Command): void {
  common(
    program
      .command('usage')
      .description('requests and tokens of the OpenAI-compatible API, per hour, key and model')
      .option('--since <time>', 'from this ISO time, or this long ago (90m, 24h, 7d)', '24h')
      .option('--until <time>', 'up to this ISO time, or this long ago')
      .option('--key <prefix>', 'only this key')
      .option('--model <name>', 'only this model (name or id)'),
  ).action(
    run(async (opts: UsageOpts, cmd: Command) => {
      const q = new URLSearchParams({ since: timeArg(opts.since) });
      if (opts.until) q.set('until', timeArg(opts.until));
      if (opts.key) q.set('key', opts.key);
      if (opts.model) q.set('model', opts.model);
      const answer = await connect(cmd).api<{
        usage: UsageRow[];
        totals: Omit<UsageRow, 'hour' | 'key_prefix' | 'key_name' | 'model_name'>;
      }>('GET', `/usage?${q}`);
      if (opts.json) return printJson(answer);
      const t = answer.totals;
      printTable([...answer.usage, { hour: 'total', key_prefix: '', key_name: null, model_name: '', ...t }], {
        HOUR: (r) => (r.hour === 'total' ? 'total' : shortTime(r.hour).slice(0, 16)),
        KEY: (r) => (r.key_name ? `${r.key_prefix} (${r.key_name})` : r.key_prefix),
        MODEL: (r) => r.model_name,
        REQUESTS: (r) => r.requests,
        PROMPT: (r) => r.prompt_tokens,
        COMPLETION: (r) => r.completion_tokens,
        TOTAL: (r) => r.total_tokens,
      });
    }),
  );
}
