import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { Girder } from '../../girder.ts';
import type { SandboxMode } from '../../runtime/sandbox.ts';
import { deployHelloChain } from './serve-chain-example.ts';
import { deployExamples, printQuickstart, waitActive } from './serve-examples.ts';

const intOption =
  (name: string) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} takes a whole number, got "${v}"`);
    return n;
  };

const positiveOption =
  (name: string) =>
  (v: string): number => {
    const n = intOption(name)(v);
    if (n === 0) throw new Error(`--${name} must be at least 1, got "${v}"`);
    return n;
  };

interface ServeFlags {
  port: number;
  host: string;
  dataDir: string;
  domain: string;
  maxBodyBytes?: number;
  predictTimeout?: number;
  headersTimeout?: number;
  bodyTimeout?: number;
  maxWaitingRequests?: number;
  examples?: boolean;
  asyncMaxBodyBytes?: number;
  asyncMaxOutstanding?: number;
  asyncPredictTimeout?: number;
  asyncRetention?: number;
  asyncKeepOutputs?: boolean;
  webhookAttempts?: number;
  webhookRetryDelayMs?: number;
  allowPrivateWebhooks?: boolean;
  logMaxBytes?: number;
  logMaxFiles?: number;
  maxFailedStarts?: number;
  sandbox: SandboxMode;
  replicaUser: string;
  replicaUidBase?: number;
  sandboxRoBind: string[];
}

/**
 * `girder serve`: one process with the embedded store, the runtime and the gateway.
 *
 * @example
 *   girder serve --port 8080 --data-dir ./.girder --examples
 */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('start Girder: the API, the replicas of every deployment, and the embedded store')
    .option('--port <port>', 'port to listen on', intOption('port'), Number(process.env.GIRDER_PORT ?? 8080))
    .option('--host <host>', 'address to listen on', process.env.GIRDER_HOST ?? '127.0.0.1')
    .option('--data-dir <dir>', 'where the store, snapshots and logs live', process.env.GIRDER_DATA_DIR ?? './.girder')
    .option('--domain <domain>', 'base domain of model-{id}.{domain} hosts', process.env.GIRDER_DOMAIN ?? 'localhost')
    .option('--max-body-bytes <n>', 'largest request body (413 above)', intOption('max-body-bytes'))
    .option('--predict-timeout <seconds>', 'sync predict timeout (504 after)', intOption('predict-timeout'))
    .option(
      '--headers-timeout <seconds>',
      'a request head (with its body, when at most 64 KiB) must arrive within this (408 after; default 60)',
      positiveOption('headers-timeout'),
    )
    .option(
      '--body-timeout <seconds>',
      'longest pause in a request body being read (408 after; default 60); a flowing upload is never cut',
      positiveOption('body-timeout'),
    )
    .option(
      '--max-waiting-requests <n>',
      'requests that may wait for a replica per deployment (429 above; default 1000)',
      intOption('max-waiting-requests'),
    )
    .option(
      '--async-max-body-bytes <n>',
      'largest async submit body (413 above; default 262144)',
      intOption('async-max-body-bytes'),
    )
    .option(
      '--async-max-outstanding <n>',
      'QUEUED + IN_PROGRESS per deployment before 429 (default 100000)',
      intOption('async-max-outstanding'),
    )
    .option(
      '--async-predict-timeout <seconds>',
      'timeout of one async model call (default 3600)',
      intOption('async-predict-timeout'),
    )
    .option(
      '--async-retention <seconds>',
      'how long finished async requests stay readable (default 3600)',
      intOption('async-retention'),
    )
    .option('--async-keep-outputs', 'keep async outputs for polling with GET /async_request/{id}')
    .option('--webhook-attempts <n>', 'attempts per webhook delivery (default 2)', intOption('webhook-attempts'))
    .option(
      '--webhook-retry-delay-ms <ms>',
      'pause between webhook attempts (default 2000)',
      intOption('webhook-retry-delay-ms'),
    )
    .option('--allow-private-webhooks', 'let webhooks reach loopback and private addresses (development only)')
    .option(
      '--log-max-bytes <n>',
      "rotate a deployment's log file at this size (default 67108864)",
      intOption('log-max-bytes'),
    )
    .option(
      '--log-max-files <n>',
      'log files kept per deployment, the current one included (default 3)',
      intOption('log-max-files'),
    )
    .option(
      '--max-failed-starts <n>',
      'failed starts in a row after which a deployment stops trying, until a push, activate or wake (default 5; 0: never)',
      intOption('max-failed-starts'),
    )
    .option(
      '--sandbox <mode>',
      'isolate replicas with bubblewrap: auto (when it works), bwrap (or refuse to start), none',
      process.env.GIRDER_SANDBOX ?? 'auto',
    )
    .option(
      '--replica-user <user>',
      'who replicas run as: auto (as root, a user per snapshot), self, or a user name or uid',
      process.env.GIRDER_REPLICA_USER ?? 'auto',
    )
    .option(
      '--replica-uid-base <uid>',
      'first uid of the per-snapshot replica users (default 1879048192; 65536 from there)',
      intOption('replica-uid-base'),
    )
    .option(
      '--sandbox-ro-bind <path>',
      'also show this host path read-only in every sandbox (repeatable)',
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option('--examples', 'deploy the example models and print curl commands to call them')
    .action(async (o: ServeFlags) => {
      const g = await startOrExplain({
        dataDir: resolve(o.dataDir),
        port: o.port,
        host: o.host,
        domain: o.domain,
        apiKey: process.env.GIRDER_API_KEY || undefined,
        ...(o.maxBodyBytes !== undefined && { maxBodyBytes: o.maxBodyBytes }),
        ...(o.predictTimeout !== undefined && { predictTimeoutSeconds: o.predictTimeout }),
        ...(o.headersTimeout !== undefined && { headersTimeoutMs: o.headersTimeout * 1000 }),
        ...(o.bodyTimeout !== undefined && { bodyTimeoutMs: o.bodyTimeout * 1000 }),
        ...(o.maxWaitingRequests !== undefined && { maxWaitingRequests: o.maxWaitingRequests }),
        ...(o.asyncMaxBodyBytes !== undefined && { asyncMaxBodyBytes: o.asyncMaxBodyBytes }),
        ...(o.asyncMaxOutstanding !== undefined && { asyncMaxOutstanding: o.asyncMaxOutstanding }),
        ...(o.asyncPredictTimeout !== undefined && { asyncPredictTimeoutSeconds: o.asyncPredictTimeout }),
        ...(o.asyncRetention !== undefined && { asyncRetentionSeconds: o.asyncRetention }),
        ...(o.webhookAttempts !== undefined && { webhookAttempts: Math.max(1, o.webhookAttempts) }),
        ...(o.webhookRetryDelayMs !== undefined && { webhookRetryDelayMs: o.webhookRetryDelayMs }),
        ...(o.logMaxBytes !== undefined && { logMaxBytes: Math.max(1, o.logMaxBytes) }),
        ...(o.logMaxFiles !== undefined && { logMaxFiles: Math.max(1, o.logMaxFiles) }),
        ...(o.maxFailedStarts !== undefined && { maxFailedStarts: o.maxFailedStarts }),
        asyncKeepOutputs: Boolean(o.asyncKeepOutputs),
        allowPrivateWebhooks: Boolean(o.allowPrivateWebhooks),
        sandbox: o.sandbox, // Girder.start refuses an unknown mode
        replicaUser: o.replicaUser,
        ...(o.replicaUidBase !== undefined && { replicaUidBase: o.replicaUidBase }),
        sandboxReadOnly: o.sandboxRoBind,
      });
      installShutdown(g);
      // One write, so that whoever reads the banner gets the key with it.
      const banner = [`Girder listening on ${g.url} (data in ${g.options.dataDir})`, g.sandbox.summary];
      if (g.newAdminKey)
        banner.push(
          `Admin API key (shown once; saved to ${join(g.options.dataDir, 'admin-key')}):`,
          `  ${g.newAdminKey}`,
        );
      console.log(banner.join('\n'));
      if (o.examples) {
        console.log('Deploying the example models…');
        const ids = await deployExamples(g);
        await waitActive(g, ids, 120_000);
        printQuickstart(g, ids);
        await deployHelloChain(g);
      }
      console.log(
        g.url === 'http://127.0.0.1:8080' && g.options.dataDir === resolve('.girder')
          ? 'Push your own model from this directory: npx girder push DIR'
          : `Push your own model: npx girder --url ${g.url} push DIR`,
      );
    });
}

/** Starts Girder; a port in use or a data dir it cannot write ends the command with what to do. */
async function startOrExplain(opts: Parameters<typeof Girder.start>[0]): Promise<Girder> {
  try {
    return await Girder.start(opts);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE')
      console.error(
        `girder: ${opts.host}:${opts.port} is already in use. Stop what listens there, or pick another port with --port.`,
      );
    else if (e.code === 'EACCES')
      console.error(
        `girder: permission denied (${e.message}). Use --data-dir for a writable directory, or a port above 1023.`,
      );
    else if (e.message.startsWith('--'))
      console.error(`girder: ${e.message}`); // a sandbox or replica user that cannot be had here
    else throw err;
    process.exit(1);
  }
}

/** SIGINT/SIGTERM stop every replica before exiting; a second signal kills them at once. */
function installShutdown(g: Girder): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      g.supervisor.killAll();
      process.exit(1);
    }
    stopping = true;
    console.log(`\n${signal}: stopping replicas…`);
    g.close().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        g.supervisor.killAll();
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Whatever else ends the process (an uncaught error) takes the replicas with it.
  process.on('exit', () => g.supervisor.killAll());
}
