import type { Command } from 'commander';
import { type CommonOpts, common, connect, run } from '../client.ts';
import { printJson, printTable, shortTime } from '../format.ts';

interface SecretView {
  id: string;
  name: string;
  created_at: string;
  updated_at: string;
}

/** Reads the whole of stdin; one trailing newline (from `echo` or Enter) is not part of the value. */
async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) console.error('Type the value, then press Ctrl-D.');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export function registerSecrets(program: Command): void {
  const secrets = program.command('secrets').description('manage secrets that models read at run time');

  common(
    secrets
      .command('set')
      .description('create or replace a secret')
      .argument('<name>', 'secret name')
      .argument('[value]', 'the value; omit it (or pass -) to read it from stdin and keep it out of shell history'),
  ).action(
    run(async (name: string, value: string | undefined, opts: CommonOpts, cmd: Command) => {
      const client = connect(cmd); // before reading stdin: a missing key should not wait for input
      const v = value === undefined || value === '-' ? await readStdin() : value;
      const answer = await client.api<SecretView>('POST', '/secrets', { name, value: v });
      if (opts.json) return printJson(answer);
      console.log(`Secret ${answer.name} set.`);
    }),
  );

  common(secrets.command('list').description('list secret names (never the values)')).action(
    run(async (opts: CommonOpts, cmd: Command) => {
      const answer = await connect(cmd).api<{ secrets: SecretView[] }>('GET', '/secrets');
      if (opts.json) return printJson(answer);
      printTable(answer.secrets, {
        NAME: (s) => s.name,
        ID: (s) => s.id,
        CREATED: (s) => shortTime(s.created_at),
        UPDATED: (s) => shortTime(s.updated_at),
      });
    }),
  );

  common(secrets.command('rm').description('delete a secret').argument('<name>', 'secret name')).action(
    run(async (name: string, opts: CommonOpts, cmd: Command) => {
      const answer = await connect(cmd).api<{ name: string }>('DELETE', `/secrets/${encodeURIComponent(name)}`);
      if (opts.json) return printJson(answer);
      console.log(`Secret ${answer.name} deleted.`);
    }),
  );
}
