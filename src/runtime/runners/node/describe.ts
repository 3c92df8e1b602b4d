/**
 * The node runner's describe mode: imports a chain file (user code, so Girder runs this in the
 * replicas' sandbox, with a timeout) and prints the chain's graph, found from the one entrypoint it
 * exports, as one line `GIRDER_CHAIN_GRAPH {json}` on stdout. A chain that cannot be described
 * exits 1 with the reason on stderr.
 *
 * @example
 *   GIRDER_CHAIN_FILE=/snapshots/abc/chain.ts node src/runtime/runners/node/describe.ts
 */
import { pathToFileURL } from 'node:url';
import type { Dependency } from '../../../sdk/chains/chainlet.ts';
import { chainletName, isModelRef } from '../../../sdk/chains/chainlet.ts';
import { chainGraph, findEntrypoint } from '../../../sdk/chains/graph.ts';
import { resolveGirderImports } from './load-model.ts';

const file = process.env.GIRDER_CHAIN_FILE;
try {
  if (!file) throw new Error('GIRDER_CHAIN_FILE is not set.');
  resolveGirderImports(process.env.GIRDER_NODE_MODULES);
  const graph = chainGraph(findEntrypoint((await import(pathToFileURL(file).href)) as Record<string, unknown>));
  const chainlets = [...graph.chainlets.values()].map((c) => ({
    name: chainletName(c),
    entrypoint: c === graph.entrypoint,
    deps: (Object.entries(c.chainletSpec.deps) as [string, Dependency][]).map(([key, dep]) => {
      const t = dep.target;
      if (!isModelRef(t)) return { key, kind: 'chainlet', chainlet: chainletName(t), options: dep.options };
      const model = { key: t.key, name: t.name, id: t.id, environment: t.environment, deploymentId: t.deploymentId };
      return { key, kind: 'model', model, options: dep.options };
    }),
    settings: c.chainletSpec.settings,
  }));
  process.stdout.write(
    `\nGIRDER_CHAIN_GRAPH ${JSON.stringify({ entrypoint: chainletName(graph.entrypoint), chainlets })}\n`,
  );
  process.exit(0);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
