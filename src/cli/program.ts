// Every command of the `girder` CLI.
import { Command } from 'commander';
import { registerAsync } from './commands/async.ts';
import { registerKeys } from './commands/keys.ts';
import { registerLogs } from './commands/logs.ts';
import { registerModels } from './commands/models.ts';
import { registerPredict } from './commands/predict.ts';
import { registerPush } from './commands/push.ts';
import { registerSecrets } from './commands/secrets.ts';
import { registerServe } from './commands/serve.ts';
import { registerWebhookSecrets } from './commands/webhook-secrets.ts';

const program = new Command('girder').description('Self-hosted model inference, wire-compatible with Baseten');
registerServe(program);
registerPush(program);
registerModels(program);
registerPredict(program);
registerAsync(program);
registerLogs(program);
registerKeys(program);
registerSecrets(program);
registerWebhookSecrets(program);
await program.parseAsync();
