import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { BUNDLE_CONTENT_TYPE, packDir } from '../../control/packaging/bundle.ts';
import { type Client, type CommonOpts, common, connect, run } from '../client.ts';
import { printJson } from '../format.ts';
import { curlSnippet, exportLine, pythonSnippet } from '../snippets.ts';
import { pushChainFile } from './push-chain.ts';
import { printBuildLog } from './builds.ts';
import { type DeploymentView, waitForDeployment } from './wait.ts';
import { watchAndRepeat } from './watch-loop.ts';

interface PushAnswer {
  model: { id: string; name: string };
  deployment: DeploymentView;
  warnings: string[];
}

interface PushOpts extends CommonOpts {
  name?: string;
  promote?: boolean;
  environment?: string;
  watch?: boolean;
  wait: boolean;
  timeout: string;
}

/** Streams the directory to the server: nothing is held in memory, whatever its size. */
async function pushOnce(client: Client, dir: string, query: URLSearchParams): Promise<PushAnswer> {
  const res = await client.request(`/api/v1/models/push?${query}`, {
    method: 'POST',
    body: Readable.toWeb(Readable.from(packDir(dir))) as ReadableStream,
    duplex: 'half',
    headers: { 'content-type': BUNDLE_CONTENT_TYPE },
  } as RequestInit);
  return (await res.json()) as PushAnswer;
}

/** The inference path segment that reaches this deployment. */
function targetOf(d: DeploymentView): string {
  if (d.environment === 'production') return 'production';
  if (d.environment) return `environments/${d.environment}`;
  if (d.is_development) return 'development';
  return `deployment/${d.id}`;
}

/** config.yaml's model_metadata.example_model_input, for the snippets; `{}` when absent or unreadable. */
function exampleInput(dir: string): unknown {
  try {
    const config = parseYaml(readFileSync(join(dir, 'config.yaml'), 'utf8')) as {
      model_metadata?: { example_model_input?: unknown };
    };
    const example = config?.model_metadata?.example_model_input;
    return example === undefined ? {} : example;
  } catch {
    return {};
  }
}

function report(client: Client, dir: string, r: PushAnswer): void {
  for (const w of r.warnings) console.error(`warning: ${w}`);
  const d = r.deployment;
  console.log(`model       ${r.model.id} (${r.model.name})`);
  console.log(
    `deployment  ${d.id} (${d.name})${d.environment ? `, environment ${d.environment}` : d.is_development ? ', development' : ''}`,
  );
  const url = `${client.url}/model-${r.model.id}/${targetOf(d)}/predict`;
  const input = exampleInput(dir);
  const set = exportLine(client.keySource);
  console.log(
    ['', ...(set ? [set] : []), curlSnippet(url, input), '', '# Python', ...pythonSnippet(url, input), ''].join('\n'),
  );
}

/** `--watch`: push the development deployment again on every change, one line per update. */
function watchAndPush(client: Client, dir: string, query: URLSearchParams, opts: PushOpts): void {
  watchAndRepeat(dir, async ({ stale, uploaded }) => {
    const r = await pushOnce(client, dir, query);
    uploaded();
    const warn = r.warnings.length
      ? ` (${r.warnings.length} warning${r.warnings.length > 1 ? 's' : ''}: ${r.warnings.join('; ')})`
      : '';
    const status = opts.wait
      ? await waitForDeployment(client, r.model.id, r.deployment.id, Number(opts.timeout) * 1000, {
          quiet: true,
          stale,
        })
      : 'pushed';
    const hint =
      status === 'DEPLOY_FAILED' || status === 'UNHEALTHY'
        ? ` (see \`girder logs ${r.model.id} --deployment development\`)`
        : '';
    return status === 'superseded' ? null : `updated ${r.model.name} ${r.deployment.name}: ${status}${hint}${warn}`;
  });
}

export function registerPush(program: Command): void {
  common(
    program
      .command('push')
      .description('upload a model directory, or a chain file and its folder, as a new deployment')
      .argument('<dir>', 'model directory (with config.yaml), or a chain file (chain.ts)')
      .option('--name <name>', "model name (default: config.yaml's model_name)")
      .option('--promote', 'promote the new deployment to production')
      .option('--environment <name>', 'promote the new deployment to this environment (created if needed)')
      .option('--watch', 'push to the development deployment, then again on every file change')
      .option('--no-wait', 'return once uploaded, without starting the deployment and waiting for it to be ACTIVE')
      .option('--timeout <seconds>', 'how long to wait for ACTIVE', '600'),
  ).action(
    run(async (dirArg: string, opts: PushOpts, cmd: Command) => {
      const dir = resolve(dirArg);
      if (/\.(ts|mts|js|mjs)$/.test(dir) && statSync(dir, { throwIfNoEntry: false })?.isFile()) {
        return pushChainFile(connect(cmd), dir, opts);
      }
      if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`${dirArg} is not a directory.`);
      if (!(Number(opts.timeout) > 0))
        throw new Error(`--timeout must be a positive number of seconds, not "${opts.timeout}".`);
      const client = connect(cmd);
      const query = new URLSearchParams();
      if (opts.name) query.set('name', opts.name);
      if (opts.promote) query.set('promote', 'true');
      if (opts.environment) query.set('environment', opts.environment);
      if (opts.watch) query.set('development', 'true');
      query.set('source', dir); // tracebacks then name the files as they are here
      const r = await pushOnce(client, dir, query);
      if (opts.json) printJson(r);
      else report(client, dir, r);
      if (opts.wait && r.deployment.status === 'BUILDING') {
        // The build's output as it happens, then its end: a failed build is the push's failure.
        if (!opts.json) console.log(`building    ${r.deployment.name}…`);
        await printBuildLog(client, r.model.id, r.deployment.id, {
          follow: true,
          out: opts.json ? () => {} : undefined,
        });
      }
      if (opts.wait) {
        const status = await waitForDeployment(client, r.model.id, r.deployment.id, Number(opts.timeout) * 1000, {
          quiet: opts.json,
          tryStart: true,
        });
        if (status !== 'ACTIVE' && status !== 'SCALED_TO_ZERO' && status !== 'INACTIVE') process.exitCode = 1;
      }
      if (opts.watch) {
        process.exitCode = 0; // a failed first load is what watching is for: fix the code and save
        watchAndPush(client, dir, query, opts);
      }
    }),
  );
}
