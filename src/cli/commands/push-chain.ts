/** `girder push path/to/chain.ts`: the chain file's folder uploaded as one chain deployment. */
import { basename, dirname } from 'node:path';
import { Readable } from 'node:stream';
import { BUNDLE_CONTENT_TYPE, packDir } from '../../control/packaging/bundle.ts';
import type { Client, CommonOpts } from '../client.ts';
import { printJson } from '../format.ts';
import { curlSnippet, exportLine, pythonSnippet } from '../snippets.ts';

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

/**
 * Uploads the folder of `file` with `?file=` naming it; the server answers once every chainlet is
 * ready (or the push failed, naming the chainlet). Prints the chain, its chainlets and how to call it.
 */
export async function pushChainFile(client: Client, file: string, opts: ChainPushOpts): Promise<void> {
  if (opts.watch)
    throw new Error('--watch is not supported for chains yet: push with --name and call development later.');
  const query = new URLSearchParams({ file: basename(file) });
  if (opts.name) query.set('name', opts.name);
  if (opts.promote) query.set('promote', 'true');
  if (opts.environment) query.set('environment', opts.environment);
  const res = await client.request(`/api/v1/chains/push?${query}`, {
    method: 'POST',
    body: Readable.toWeb(Readable.from(packDir(dirname(file)))) as ReadableStream,
    duplex: 'half',
    headers: { 'content-type': BUNDLE_CONTENT_TYPE },
  } as RequestInit);
  const r = (await res.json()) as ChainPushAnswer;
  if (opts.json) return printJson(r);
  const d = r.deployment;
  console.log(`chain       ${r.chain.id} (${r.chain.name})`);
  console.log(`deployment  ${d.id} (${d.name})${d.environment ? `, environment ${d.environment}` : ''}`);
  for (const c of d.chainlets) console.log(`  chainlet  ${c.name} (${c.id}): ${c.status}`);
  const target =
    d.environment === 'production'
      ? 'production'
      : d.environment
        ? `environments/${d.environment}`
        : `deployment/${d.id}`;
  const url = `${client.url}/chain-${r.chain.id}/${target}/run_remote`;
  const set = exportLine(client.keySource);
  console.log(
    ['', ...(set ? [set] : []), curlSnippet(url, {}), '', '# Python', ...pythonSnippet(url, {}), ''].join('\n'),
  );
}
