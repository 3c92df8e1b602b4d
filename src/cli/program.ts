// Every command of the `girder` CLI.
import { Command } from 'commander';
import { registerKeys } from './commands/keys.ts';
import { registerLogs } from './commands/logs.ts';
import { registerModels } from './commands/models.ts';
import { registerPredict } from './commands/predict.ts';
import { registerPush } from './commands/push.ts';
import { registerSecrets } from './commands/secrets.ts';
import { registerServe } from './commands/serve.ts';

const program = new Command('girder').description('Self-hosted model inference, wire-compatible with Baseten');
registerServe(program);
registerPush(program);
registerModels(program);
registerPredict(program);
registerLogs(program);
registerKeys(program);
registerSecrets(program);
await program.parseAsync();
