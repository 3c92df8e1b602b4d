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
}

interface CreateOpts extends CommonOpts {
  name?: string;
  type: string;
  model?: string[];
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('manage API keys');

  common(
    keys
      .command('create')
      .description('create an API key (printed once)')
      .option('--name <name>', 'a label for the key')
      .option('--type <type>', `one of ${API_KEY_TYPES.join(', ')}`, 'WORKSPACE_MANAGE_ALL')
      .option('--model <id...>', 'limit an invoke key to these models (ids or names)'),
  ).action(
    run(async (opts: CreateOpts, cmd: Command) => {
      const type = opts.type.toUpperCase();
      if (!(API_KEY_TYPES as readonly string[]).includes(type))
        throw new Error(`Unknown key type "${opts.type}": use one of ${API_KEY_TYPES.join(', ')}.`);
      const client = connect(cmd);
      const model_ids = opts.model ? await Promise.all(opts.model.map((m) => resolveModel(client, m))) : undefined;
      const answer = await client.api<{ api_key: string }>('POST', '/api_keys', { name: opts.name, type, model_ids });
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
        CREATED: (k) => shortTime(k.created_at),
      });
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
