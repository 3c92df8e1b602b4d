// Every command of the `girder` CLI.
import { Command } from 'commander';
import { registerAsync } from './commands/async.ts';
import { registerAutoscaling } from './commands/autoscaling.ts';
import { registerGc } from './commands/builds.ts';
import { registerKeys } from './commands/keys.ts';
import { registerLogs } from './commands/logs.ts';
import { registerModels } from './commands/models.ts';
import { registerPredict } from './commands/predict.ts';
import { registerPush } from './commands/push.ts';
import { registerScaling } from './commands/scaling.ts';
import { registerSecrets } from './commands/secrets.ts';
import { registerServe } from './commands/serve.ts';
import { registerUsage } from './commands/usage.ts';
import { registerWebhookSecrets } from './commands/webhook-secrets.ts';

// --url and --api-key are the program's too, so that they work before the command (`girder --api-key K models`)
// as well as after it; every command reads them with optsWithGlobals().
const program = new Command('girder')
  .description('Self-hosted model inference, wire-compatible with Baseten')
  .option('--url <url>', 'Girder server URL (default $GIRDER_URL or http://127.0.0.1:8080)')
  .option('--api-key <key>', 'API key (default $GIRDER_API_KEY or .girder/admin-key)');
registerServe(program);
registerPush(program);
registerModels(program);
registerPredict(program);
registerAsync(program);
registerLogs(program);
registerAutoscaling(program);
registerScaling(program);
registerKeys(program);
registerUsage(program);
registerSecrets(program);
registerWebhookSecrets(program);
registerGc(program);
await program.parseAsync();
