/** `girder autoscaling CHAIN [--environment E] [--chainlet NAME --min N …] [--cleanup S]`. */
import type { Client } from '../client.ts';
import { printJson, printTable } from '../format.ts';
import { type AutoscalingOpts, FIELDS, patchOf, report } from './autoscaling.ts';

interface ChainletSettings {
  chainlet_name: string;
  autoscaling_settings: Record<string, number | null> | null;
}

/**
 * A chain environment's per-chainlet autoscaling settings: changes those the flags give for the
 * `--chainlet` named (and the environment's cleanup strategy), then prints one row per chainlet.
 * A chain deployment's chainlets follow their environment, so `--deployment` is refused.
 *
 * @example
 *   await chainAutoscaling(client, chainId, { chainlet: 'SayHello', max: 4 });
 */
export async function chainAutoscaling(client: Client, chainId: string, opts: AutoscalingOpts): Promise<void> {
  if (opts.deployment !== undefined)
    throw new Error("A chain's chainlets follow their environment's settings: pass --environment (and --chainlet).");
  const path = `/chains/${chainId}/environments/${encodeURIComponent(opts.environment ?? 'production')}`;
  const patch = patchOf(opts);
  const changes = Object.keys(patch).length > 0;
  if (changes && opts.chainlet === undefined) {
    const env = await client.api<{ chainlet_settings: ChainletSettings[] }>('GET', path);
    const names = env.chainlet_settings.map((c) => c.chainlet_name).join(', ');
    throw new Error(`Name the chainlet whose settings change with --chainlet (this chain's: ${names}).`);
  }
  if (changes) {
    const updates = [{ chainlet_name: opts.chainlet, autoscaling_settings: patch }];
    await report(client, 'PATCH', `${path}/chainlet_settings/autoscaling_settings`, { updates }, opts);
  }
  if (opts.cleanup !== undefined) {
    const answer = await client.api('PATCH', path, {
      promotion_settings: { promotion_cleanup_strategy: opts.cleanup },
    });
    if (opts.json) printJson(answer);
    else console.log(`Cleanup strategy set to ${opts.cleanup}.`);
  }
  if (opts.json && (changes || opts.cleanup !== undefined)) return; // the answers to the changes are the output
  const env = await client.api('GET', path);
  if (opts.json) return printJson(env);
  const current = env.current_deployment;
  console.log(
    `environment ${env.name}${current ? `, chain deployment ${current.id} (${current.name})` : ', no deployment'}, cleanup ${env.promotion_settings.promotion_cleanup_strategy}`,
  );
  const rows = (env.chainlet_settings as ChainletSettings[]).filter(
    (c) => opts.chainlet === undefined || c.chainlet_name === opts.chainlet,
  );
  const columns: Record<string, (c: ChainletSettings) => unknown> = { CHAINLET: (c) => c.chainlet_name };
  for (const field of Object.values(FIELDS)) columns[field] = (c) => c.autoscaling_settings?.[field];
  printTable(rows, columns);
}
