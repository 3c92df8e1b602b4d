import { type Command, InvalidArgumentError } from 'commander';
import { type Client, type CommonOpts, common, connect, resolveDeployment, run } from '../client.ts';
import { printJson, printTable } from '../format.ts';
import { chainAutoscaling } from './chains-autoscaling.ts';
import { resolveTarget } from './chains-resolve.ts';

export interface AutoscalingOpts extends CommonOpts {
  deployment?: string;
  chainlet?: string;
  environment?: string;
  min?: number;
  max?: number;
  window?: number;
  scaleDownDelay?: number;
  maxScaleDownRate?: number;
  concurrencyTarget?: number;
  utilization?: number;
  cleanup?: string;
}

/** Only the shape is checked here: ranges are the server's to enforce, naming the field. */
const integer = (v: string): number => {
  if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError('Not an integer.');
  return Number(v);
};

/** Flag → Baseten's field in UpdateAutoscalingSettingsV1. */
export const FIELDS = {
  min: 'min_replica',
  max: 'max_replica',
  window: 'autoscaling_window',
  scaleDownDelay: 'scale_down_delay',
  maxScaleDownRate: 'max_scale_down_rate',
  concurrencyTarget: 'concurrency_target',
  utilization: 'target_utilization_percentage',
} as const;

/** The settings to send: the flags given, by Baseten's names. */
export function patchOf(opts: AutoscalingOpts): Record<string, number> {
  const patch: Record<string, number> = {};
  for (const [flag, field] of Object.entries(FIELDS)) {
    const v = opts[flag as keyof typeof FIELDS];
    if (v !== undefined) patch[field] = v;
  }
  return patch;
}

/** Prints settings as two aligned columns, setting and value. */
function printSettings(settings: Record<string, unknown>): void {
  printTable(Object.entries(settings), { SETTING: ([k]) => k, VALUE: ([, v]) => (v === null ? 'null' : v) });
}

/** An environment's settings (or a deployment's): read them, change the ones the flags give, print them. */
async function autoscaling(client: Client, modelId: string, opts: AutoscalingOpts): Promise<void> {
  if (opts.deployment !== undefined && opts.environment !== undefined)
    throw new Error('Pass --deployment or --environment, not both.');
  const patch = patchOf(opts);
  let path: string;
  let body: Record<string, unknown> | undefined;
  if (opts.deployment !== undefined) {
    if (opts.cleanup !== undefined)
      throw new Error('--cleanup is a setting of an environment: pass --environment instead of --deployment.');
    path = `/models/${modelId}/deployments/${encodeURIComponent(await resolveDeployment(client, modelId, opts.deployment))}`;
    if (Object.keys(patch).length) body = patch;
    if (body) await report(client, 'PATCH', `${path}/autoscaling_settings`, body, opts);
  } else {
    path = `/models/${modelId}/environments/${encodeURIComponent(opts.environment ?? 'production')}`;
    const promotion = opts.cleanup === undefined ? undefined : { promotion_cleanup_strategy: opts.cleanup };
    if (Object.keys(patch).length || promotion)
      body = { autoscaling_settings: Object.keys(patch).length ? patch : undefined, promotion_settings: promotion };
    if (body) await report(client, 'PATCH', path, body, opts);
  }
  if (body && opts.json) return; // the answer to the change is the output
  const now = await client.api('GET', path);
  if (opts.json) return printJson(now);
  if (opts.deployment !== undefined) {
    console.log(`deployment ${now.id} (${now.name}), ${now.status}, ${now.active_replica_count} active`);
    return printSettings(now.autoscaling_settings);
  }
  const current = now.current_deployment;
  console.log(`environment ${now.name}${current ? `, deployment ${current.id} (${current.name})` : ', no deployment'}`);
  printSettings({ ...now.autoscaling_settings, ...now.promotion_settings });
}

/** Sends a change and prints the server's answer (or, with --json, only that). */
export async function report(
  client: Client,
  method: string,
  path: string,
  body: unknown,
  opts: CommonOpts,
): Promise<void> {
  const answer = await client.api<{ status: string; message: string }>(method, path, body);
  if (opts.json) printJson(answer);
  else console.log(`${answer.status}: ${answer.message}`);
}

/**
 * `girder autoscaling MODEL [--deployment D | --environment E] [--min N --max N …]`: shows an
 * environment's (default production) or a deployment's autoscaling settings, changing first those given.
 * For a chain, `--chainlet NAME` says whose settings in the environment change (chains-autoscaling.ts).
 *
 * @example
 *   registerAutoscaling(program); // girder autoscaling my-model --min 0 --max 4 --scale-down-delay 60
 */
export function registerAutoscaling(program: Command): void {
  common(
    program
      .command('autoscaling')
      .description("show or change an environment's (default production) or a deployment's autoscaling settings")
      .argument('<model-or-chain>', 'model or chain, by id or name')
      .option('-d, --deployment <id>', 'a deployment (id or name) instead of an environment')
      .option('-c, --chainlet <name>', 'for a chain: the chainlet whose settings in the environment change')
      .option('-e, --environment <name>', 'the environment (default production); its deployment follows it')
      .option('--min <n>', 'min_replica (0 scales to zero when idle)', integer)
      .option('--max <n>', 'max_replica', integer)
      .option('--window <seconds>', 'autoscaling_window: the load is averaged over it (10–3600)', integer)
      .option(
        '--scale-down-delay <seconds>',
        'scale_down_delay: low load this long before a step down (0–3600)',
        integer,
      )
      .option('--max-scale-down-rate <percent>', 'max_scale_down_rate: most replicas removed per step (1–50)', integer)
      .option('--concurrency-target <n>', 'concurrency_target: requests per replica', integer)
      .option('--utilization <percent>', 'target_utilization_percentage (1–100)', integer)
      .option('--cleanup <strategy>', 'promotion_cleanup_strategy: KEEP, SCALE_TO_ZERO or DEACTIVATE'),
  ).action(
    run(async (model: string, opts: AutoscalingOpts, cmd: Command) => {
      const client = connect(cmd);
      const target = await resolveTarget(client, model);
      if (target.kind === 'chain') return chainAutoscaling(client, target.id, opts);
      if (opts.chainlet !== undefined) throw new Error(`--chainlet is for chains, and "${model}" is a model.`);
      await autoscaling(client, target.id, opts);
    }),
  );
}
