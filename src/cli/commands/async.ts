import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { TERMINAL, type AsyncError, type AsyncStatus } from '../../records/async.ts';
import { type Client, type CommonOpts, common, connect, resolveDeployment, resolveModel, run } from '../client.ts';
import { printJson, printTable, shortTime } from '../format.ts';

interface TargetOpts extends CommonOpts {
  environment?: string;
  deployment?: string;
  development?: boolean;
}

interface SubmitOpts extends TargetOpts {
  data?: string;
  file?: string;
  webhook?: string;
  priority?: number;
  maxTimeInQueue?: number;
  maxAttempts?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  keepOutput?: boolean;
}

interface StatusView {
  request_id: string;
  deployment_id: string;
  status: AsyncStatus;
  webhook_status: string;
  created_at: string;
  status_at: string;
  errors: AsyncError[];
  output?: unknown;
}

/** Only the shape is checked here: ranges are the server's to enforce, with its own messages. */
const integer = (v: string): number => {
  if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError('Not an integer.');
  return Number(v);
};

/** -e / -d / --development, as `girder predict` takes them. */
function targetOptions(cmd: Command): Command {
  return cmd
    .option('-e, --environment <name>', 'use this environment (default production)')
    .option('-d, --deployment <id>', 'use this deployment (id or name)')
    .option('--development', 'use the development deployment');
}

/** The inference path segment the target flags name. */
async function targetOf(client: Client, modelId: string, opts: TargetOpts): Promise<string> {
  if ([opts.environment, opts.deployment, opts.development].filter((x) => x !== undefined).length > 1) {
    throw new Error('Pass at most one of --environment, --deployment and --development.');
  }
  if (opts.environment) return `environments/${encodeURIComponent(opts.environment)}`;
  if (opts.deployment) return `deployment/${await resolveDeployment(client, modelId, opts.deployment)}`;
  return opts.development ? 'development' : 'production';
}

/** model_input from --data or --file (- for stdin); it must be JSON, as the wrapper is. */
async function inputOf(opts: SubmitOpts): Promise<unknown> {
  if (opts.data !== undefined && opts.file !== undefined) throw new Error('Pass --data or --file, not both.');
  let text = opts.data ?? '{}';
  if (opts.file === '-') text = Buffer.concat(await process.stdin.toArray()).toString('utf8');
  else if (opts.file !== undefined) text = await readFile(opts.file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(
      `The model input is not valid JSON: ${(err as Error).message}\nQuote it for the shell, e.g. --data '{"text": "hi"}', or use --file.`,
    );
  }
}

/** The async wrapper; fields left out take the server's defaults. */
function wrapperOf(input: unknown, o: SubmitOpts): Record<string, unknown> {
  const retry = { max_attempts: o.maxAttempts, initial_delay_ms: o.initialDelayMs, max_delay_ms: o.maxDelayMs };
  const anyRetry = Object.values(retry).some((v) => v !== undefined);
  return {
    model_input: input,
    webhook_endpoint: o.webhook,
    priority: o.priority,
    max_time_in_queue_seconds: o.maxTimeInQueue,
    inference_retry_config: anyRetry ? retry : undefined,
    keep_output: o.keepOutput,
  };
}

function printStatus(s: StatusView): void {
  printTable([s], {
    'REQUEST ID': (r) => r.request_id,
    STATUS: (r) => r.status,
    WEBHOOK: (r) => r.webhook_status,
    DEPLOYMENT: (r) => r.deployment_id,
    CREATED: (r) => shortTime(r.created_at),
    UPDATED: (r) => shortTime(r.status_at),
  });
  for (const e of s.errors) console.log(`error: ${e.code}: ${e.message}`);
  if ('output' in s) console.log(`output: ${JSON.stringify(s.output)}`);
}

export function registerAsync(program: Command): void {
  const async = program.command('async').description('submit async requests and follow them');

  common(
    targetOptions(
      async
        .command('submit')
        .description('queue a request for a model (production unless told) and print its request id')
        .argument('<model>', 'model id or name'),
    )
      .option('--data <json>', 'model input as JSON (default {})')
      .option('--file <path>', 'read the model input (JSON) from this file (- for stdin)')
      .option('--webhook <url>', 'POST the result to this URL when done')
      .option('--priority <n>', '0 (first) to 2; default 0', integer)
      .option('--max-time-in-queue <seconds>', 'expire the request if it waits longer (default 600)', integer)
      .option('--max-attempts <n>', 'model calls before giving up (default 3)', integer)
      .option('--initial-delay-ms <n>', 'wait before the first retry (default 1000)', integer)
      .option('--max-delay-ms <n>', 'longest wait between retries (default 5000)', integer)
      .option('--keep-output', 'keep the output for `girder async status` (the server default otherwise)'),
  ).action(
    run(async (model: string, opts: SubmitOpts, cmd: Command) => {
      const input = await inputOf(opts);
      const client = connect(cmd);
      const id = await resolveModel(client, model);
      const res = await client.request(`/model-${id}/${await targetOf(client, id, opts)}/async_predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(wrapperOf(input, opts)),
      });
      const answer = (await res.json()) as { request_id: string };
      if (opts.json) return printJson(answer);
      console.log(answer.request_id); // alone, so `id=$(girder async submit …)` works
    }),
  );

  common(
    async
      .command('status')
      .description("show an async request's status")
      .argument('<model>', 'model id or name')
      .argument('<request_id>', 'as `girder async submit` printed it')
      .option('--wait', 'poll until it has finished and its webhook is done; exit 1 unless it succeeded'),
  ).action(
    run(async (model: string, requestId: string, opts: CommonOpts & { wait?: boolean }, cmd: Command) => {
      const client = connect(cmd);
      const path = `/model-${await resolveModel(client, model)}/async_request/${encodeURIComponent(requestId)}`;
      const read = async () => (await (await client.request(path)).json()) as StatusView;
      let s = await read();
      while (opts.wait && (!TERMINAL.has(s.status) || s.webhook_status === 'PENDING')) {
        await sleep(500);
        s = await read();
      }
      if (opts.json) printJson(s);
      else printStatus(s);
      // A script waiting on a request needs its outcome; CANCELED was asked for, so it is no failure.
      if (opts.wait && ['FAILED', 'EXPIRED', 'WEBHOOK_FAILED'].includes(s.status)) process.exitCode = 1;
    }),
  );

  common(
    async
      .command('cancel')
      .description('cancel a request that is still queued')
      .argument('<model>', 'model id or name')
      .argument('<request_id>', 'as `girder async submit` printed it'),
  ).action(
    run(async (model: string, requestId: string, opts: CommonOpts, cmd: Command) => {
      const client = connect(cmd);
      const path = `/model-${await resolveModel(client, model)}/async_request/${encodeURIComponent(requestId)}`;
      const answer = (await (await client.request(path, { method: 'DELETE' })).json()) as {
        canceled: boolean;
        message: string;
      };
      if (opts.json) printJson(answer);
      else console.log(answer.message);
      if (!answer.canceled) process.exitCode = 1;
    }),
  );

  common(
    targetOptions(
      async
        .command('queue')
        .description("count a deployment's queued and running async requests (production unless told)")
        .argument('<model>', 'model id or name'),
    ),
  ).action(
    run(async (model: string, opts: TargetOpts, cmd: Command) => {
      const client = connect(cmd);
      const id = await resolveModel(client, model);
      const res = await client.request(`/model-${id}/${await targetOf(client, id, opts)}/async_queue_status`);
      const q = (await res.json()) as {
        deployment_id: string;
        num_queued_requests: number;
        num_in_progress_requests: number;
      };
      if (opts.json) return printJson(q);
      printTable([q], {
        DEPLOYMENT: (r) => r.deployment_id,
        QUEUED: (r) => r.num_queued_requests,
        'IN PROGRESS': (r) => r.num_in_progress_requests,
      });
    }),
  );
}
