import type { Command } from 'commander';
import { type CommonOpts, common, connect, run } from '../client.ts';
import { printJson, printTable, shortTime } from '../format.ts';

interface SecretView {
  id: string;
  created_at: string;
  expires_at: string | null;
  active: boolean;
}

interface NewSecret {
  id: string;
  secret: string;
  created_at: string;
  rotated?: { id: string; expires_at: string };
}

export function registerWebhookSecrets(program: Command): void {
  const secrets = program.command('webhook-secrets').description('manage the secrets that sign async webhooks');

  common(secrets.command('create').description('create a webhook signing secret (printed once)')).action(
    run(async (opts: CommonOpts, cmd: Command) => {
      const answer = await connect(cmd).api<NewSecret>('POST', '/webhook_secrets');
      if (opts.json) return printJson(answer);
      // The secret on stdout alone, so `girder webhook-secrets create > secret.txt` captures just it.
      console.log(answer.secret);
      console.error(`Webhook secret ${answer.id} is shown only once: store it where your receiver checks signatures.`);
    }),
  );

  common(secrets.command('list').description('list webhook secrets (ids, never the values)')).action(
    run(async (opts: CommonOpts, cmd: Command) => {
      const answer = await connect(cmd).api<{ webhook_secrets: SecretView[] }>('GET', '/webhook_secrets');
      if (opts.json) return printJson(answer);
      printTable(
        answer.webhook_secrets,
        {
          ID: (s) => s.id,
          ACTIVE: (s) => (s.active ? 'yes' : 'no'),
          CREATED: (s) => shortTime(s.created_at),
          EXPIRES: (s) => shortTime(s.expires_at),
        },
        'No webhook secrets: webhooks go unsigned until you `girder webhook-secrets create`.',
      );
    }),
  );

  common(
    secrets
      .command('rotate')
      .description('replace a webhook secret; the old one keeps signing for a while so receivers can switch')
      .argument('<id>', 'the secret id, as `girder webhook-secrets list` shows it'),
  ).action(
    run(async (id: string, opts: CommonOpts, cmd: Command) => {
      const answer = await connect(cmd).api<Required<NewSecret>>(
        'POST',
        `/webhook_secrets/${encodeURIComponent(id)}/rotate`,
      );
      if (opts.json) return printJson(answer);
      console.log(answer.secret);
      console.error(`New webhook secret ${answer.id} is shown only once: store it now.`);
      console.error(
        `The old secret ${answer.rotated.id} stays valid (and keeps signing) until ${answer.rotated.expires_at}.`,
      );
    }),
  );

  common(
    secrets
      .command('rm')
      .description('delete a webhook secret; it stops signing at once')
      .argument('<id>', 'the secret id'),
  ).action(
    run(async (id: string, opts: CommonOpts, cmd: Command) => {
      const answer = await connect(cmd).api<{ id: string }>('DELETE', `/webhook_secrets/${encodeURIComponent(id)}`);
      if (opts.json) return printJson(answer);
      console.log(`Webhook secret ${answer.id} deleted.`);
    }),
  );
}
