/** `girder push path/to/chain.ts`: the chain file's folder uploaded as one chain deployment. */
import { basename, dirname } from 'node:path';
import { Readable } from 'node:stream';
import { BUNDLE_CONTENT_TYPE, packDir } from '../../control/packaging/bundle.ts';
import type { Client, CommonOpts } from '../client.ts';
import { printJson } from '../format.ts';
import { curlSnippet, exportLine, pythonSnippet } from '../snippets.ts';
import { watchAndRepeat } from './watch-loop.ts';

interface ChainPushOpts extends CommonOpts {
  name?: string;
  promote?: boolean;
  environment?: string;
  watch?: boolean;
}

interface ChainPushAnswer {
  chain: { id: string; name: string };
  deployment: {
    id: string;
    name: string;
    environment: string | null;
    chainlets: { name: string; id: string; status: string }[];
  };
}

/** Uploads the chain file's folder; resolves with the server's answer once every chainlet is ready. */
async function pushChainOnce(client: Client, file: string, query: URLSearchParams): Promise<ChainPushAnswer> {
  const res = await client.request(`/api/v1/chains/push?${query}`, {
    method: 'POST',
    body: Readable.toWeb(Readable.from(packDir(dirname(file)))) as ReadableStream,
    duplex: 'half',
    headers: { 'content-type': BUNDLE_CONTENT_TYPE },
  } as RequestInit);
  return (await res.json()) as ChainPushAnswer;
}

/** The inference path segment that reaches a chain deployment. */
function targetOf(d: ChainPushAnswer['deployment']): string {
  if (d.environment === 'production') return 'production';
  if (d.environment) return `environments/${d.environment}`;
  if (d.name === 'development') return 'development';
  return `deployment/${d.id}`;
}

/**
 * Uploads the folder of `file` with `?file=` naming it; the server answers once every chainlet is
 * ready (or the push failed, naming the chainlet). Prints the chain, its chainlets and how to call it.
 * `--watch` pushes the development chain deployment, then again on every change in the folder; a
 * re-push that fails leaves the last development chain deployment serving (the server swaps only
 * once every new chainlet is ready).
 */
export async function pushChainFile(client: Client, file: string, opts: ChainPushOpts): Promise<void> {
  if (opts.watch && (opts.promote || opts.environment))
    throw new Error('--watch pushes the development chain deployment: it cannot go with --promote or --environment.');
  const query = new URLSearchParams({ file: basename(file) });
  if (opts.name) query.set('name', opts.name);
  if (opts.promote) query.set('promote', 'true');
  if (opts.environment) query.set('environment', opts.environment);
  if (opts.watch) query.set('development', 'true');
  try {
    report(client, await pushChainOnce(client, file, query), opts);
  } catch (err) {
    if (!opts.watch) throw err;
    // a failed first push is what watching is for: fix the code and save
    console.log(`push failed: ${(err as Error).message.replace(/\n/g, ' — ')}`);
  }
  if (!opts.watch) return;
  watchAndRepeat(dirname(file), async () => {
    const r = await pushChainOnce(client, file, query);
    const chainlets = r.deployment.chainlets.map((c) => `${c.name} ${c.status}`).join(', ');
    return `updated ${r.chain.name} ${r.deployment.name}: ${chainlets}`;
  });
}

function report(client: Client, r: ChainPushAnswer, opts: ChainPushOpts): void {
  if (opts.json) {
    printJson(r);
    return;
  }
  const d = r.deployment;
  console.log(`chain       ${r.chain.id} (${r.chain.name})`);
  console.log(`deployment  ${d.id} (${d.name})${d.environment ? `, environment ${d.environment}` : ''}`);
  for (const c of d.chainlets) console.log(`  chainlet  ${c.name} (${c.id}): ${c.status}`);
  const url = `${client.url}/chain-${r.chain.id}/${targetOf(d)}/run_remote`;
  const set = exportLine(client.keySource);
  console.log(
    ['', ...(set ? [set] : []), curlSnippet(url, {}), '', '# Python', ...pythonSnippet(url, {}), ''].join('\n'),
  );
}
