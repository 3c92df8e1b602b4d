import type { Command } from 'commander';
import { type CommonOpts, common, connect, resolveDeployment, resolveModel, run } from '../client.ts';
import { printJson, printTable } from '../format.ts';

/** The scaling view of a deployment (GET …/scaling_events), the fields printed. */
interface ScalingView {
  deployment_id: string;
  status: string;
  desired_replicas: number;
  replicas: { active: number; starting: number; unready: number; draining: number };
  in_flight_requests: number;
  waiting_requests: number;
  async_backlog: number;
  load: {
    average_load: number;
    window_seconds: number;
    burst_load: number;
    burst_window_seconds: number;
    concurrency_target: number;
    target_utilization_percentage: number;
    in_burst: boolean;
  };
  events: { at: string; from: number; to: number; reason: string; message: string }[];
  cold_starts: {
    at: string;
    replica_id: string;
    from_zero: boolean;
    process_ms: number;
    load_ms: number;
    total_ms: number;
  }[];
}

/** To the millisecond: decisions can come in the same second. */
const time = (iso: string): string => iso.replace('T', ' ').slice(0, 23);

interface ScalingOpts extends CommonOpts {
  deployment?: string;
  limit: number;
}

/** What a person reads first: desired against actual, and the load the next decision rests on. */
function printSummary(v: ScalingView): void {
  const { replicas: r, load: l } = v;
  console.log(`deployment ${v.deployment_id}: ${v.status}`);
  const unready = r.unready ? `, ${r.unready} unready` : '';
  console.log(
    `replicas: desired ${v.desired_replicas}, active ${r.active}, starting ${r.starting}${unready}, draining ${r.draining}`,
  );
  console.log(
    `requests: ${v.in_flight_requests} in flight, ${v.waiting_requests} waiting, ${v.async_backlog} async queued`,
  );
  const burst = l.in_burst ? ' (burst mode)' : '';
  console.log(
    `load: ${l.average_load} average over ${l.window_seconds} s, ${l.burst_load} over the last ${l.burst_window_seconds} s${burst}; ` +
      `each replica is meant to carry ${l.concurrency_target} × ${l.target_utilization_percentage} %`,
  );
}

/**
 * `girder scaling MODEL [--deployment D]`: desired versus actual replicas now, then each change of the
 * desired count with its reason, and each cold start with its phases.
 *
 * @example
 *   registerScaling(program); // girder scaling my-model --deployment deployment-2
 */
export function registerScaling(program: Command): void {
  common(
    program
      .command('scaling')
      .description('why a deployment runs the replicas it runs: desired vs actual, scaling events, cold starts')
      .argument('<model>', 'model id or name')
      .option('-d, --deployment <id>', 'a deployment (id or name; default production)')
      .option('--limit <n>', 'most recent events and cold starts shown', (v) => Number(v), 20),
  ).action(
    run(async (model: string, opts: ScalingOpts, cmd: Command) => {
      const client = connect(cmd);
      const id = await resolveModel(client, model);
      const dep = await resolveDeployment(client, id, opts.deployment ?? 'production');
      const v = await client.api<ScalingView>(
        'GET',
        `/models/${id}/deployments/${encodeURIComponent(dep)}/scaling_events`,
      );
      if (opts.json) return printJson(v);
      printSummary(v);
      console.log('');
      printTable(
        v.events.slice(-opts.limit),
        {
          TIME: (e) => time(e.at),
          CHANGE: (e) => `${e.from} → ${e.to}`,
          REASON: (e) => e.reason,
          WHY: (e) => e.message,
        },
        'No scaling event yet.',
      );
      console.log('');
      printTable(
        v.cold_starts.slice(-opts.limit),
        {
          'COLD START': (c) => time(c.at),
          REPLICA: (c) => c.replica_id,
          'FROM ZERO': (c) => (c.from_zero ? 'yes' : 'no'),
          PROCESS: (c) => `${c.process_ms} ms`,
          LOAD: (c) => `${c.load_ms} ms`,
          TOTAL: (c) => `${c.total_ms} ms`,
        },
        'No cold start yet.',
      );
    }),
  );
}
