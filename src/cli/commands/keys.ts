import type { Command } from 'commander';
import { API_KEY_TYPES } from '../../records/control.ts';
import { type CommonOpts, common, connect, resolveModel, run } from '../client.ts';
import { printJson, printTable, shortTime } from '../format.ts';

interface KeyView {
  prefix: string;
  name: string | null;
  type: string;
  model_ids: string[] | null;
  created_at: string;
  rpm: number | null;
  tpm: number | null;
}

interface LimitOpts extends CommonOpts {
  rpm?: number | 'none';
  tpm?: number | 'none';
}

/** The limits to send: a number sets one, `none` (null) removes it, an option not given keeps it. */
const limitsOf = (o: LimitOpts) => ({
  rpm: o.rpm === 'none' ? null : o.rpm,
  tpm: o.tpm === 'none' ? null : o.tpm,
});

interface CreateOpts extends LimitOpts {
  name?: string;
  type: string;
  model?: string[];
}

/** A limit as typed: a whole number of at least 1, or `none` to remove it (commander turns a null into ''). */
function limitArg(name: string) {
  return (v: string): number | 'none' => {
    if (v === 'none') return v;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} takes a whole number of at least 1, or "none"`);
    return n;
  };
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('manage API keys');

  common(
    keys
      .command('create')
      .description('create an API key (printed once)')
      .option('--name <name>', 'a label for the key')
      .option('--type <type>', `one of ${API_KEY_TYPES.join(', ')}`, 'WORKSPACE_MANAGE_ALL')
      .option('--model <id...>', 'limit an invoke key to these models (ids or names)')
      .option('--rpm <n>', 'requests per minute this key may send to /v1', limitArg('rpm'))
      .option('--tpm <n>', 'tokens per minute this key may spend on /v1', limitArg('tpm')),
  ).action(
    run(async (opts: CreateOpts, cmd: Command) => {
      const type = opts.type.toUpperCase();
      if (!(API_KEY_TYPES as readonly string[]).includes(type))
        throw new Error(`Unknown key type "${opts.type}": use one of ${API_KEY_TYPES.join(', ')}.`);
      const client = connect(cmd);
      const model_ids = opts.model ? await Promise.all(opts.model.map((m) => resolveModel(client, m))) : undefined;
      const body = { name: opts.name, type, model_ids, ...limitsOf(opts) };
      const answer = await client.api<{ api_key: string }>('POST', '/api_keys', body);
      if (opts.json) return printJson(answer);
      // The key on stdout alone, so `girder keys create > key.txt` captures just the key.
      console.log(answer.api_key);
      console.error('This key is shown only once: store it now. Girder keeps only its hash.');
    }),
  );

  common(keys.command('list').description('list API keys (prefixes, never the keys)')).action(
    run(async (opts: CommonOpts, cmd: Command) => {
      const answer = await connect(cmd).api<{ keys: KeyView[] }>('GET', '/api_keys');
      if (opts.json) return printJson(answer);
      printTable(answer.keys, {
        PREFIX: (k) => k.prefix,
        NAME: (k) => k.name,
        TYPE: (k) => k.type,
        MODELS: (k) => k.model_ids?.join(','),
        RPM: (k) => k.rpm,
        TPM: (k) => k.tpm,
        CREATED: (k) => shortTime(k.created_at),
      });
    }),
  );

  common(
    keys
      .command('limits')
      .description("set or remove a key's /v1 limits (requests and tokens per minute)")
      .argument('<prefix>', 'the key prefix, as `girder keys list` shows it')
      .option('--rpm <n>', 'requests per minute, or "none"', limitArg('rpm'))
      .option('--tpm <n>', 'tokens per minute, or "none"', limitArg('tpm')),
  ).action(
    run(async (prefix: string, opts: LimitOpts, cmd: Command) => {
      const k = await connect(cmd).api<KeyView>('PATCH', `/api_keys/${encodeURIComponent(prefix)}`, limitsOf(opts));
      if (opts.json) return printJson(k);
      console.log(`Key ${k.prefix}: ${k.rpm ?? 'no'} requests/min limit, ${k.tpm ?? 'no'} tokens/min limit.`);
    }),
  );

  common(
    keys
      .command('revoke')
      .description('revoke an API key')
      .argument('<prefix>', 'the key prefix, as `girder keys list` shows it'),
  ).action(
    run(async (prefix: string, opts: CommonOpts, cmd: Command) => {
      const answer = await connect(cmd).api<{ prefix: string }>('DELETE', `/api_keys/${encodeURIComponent(prefix)}`);
      if (opts.json) return printJson(answer);
      console.log(`Revoked key ${answer.prefix}.`);
    }),
  );
}
