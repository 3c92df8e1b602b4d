/**
 * A chain as data: its entrypoint and every chainlet and model it depends on, transitively. `runLocal`
 * builds one chain of instances from it; `girder push` will make one deployment per chainlet from it.
 */
import {
  type AnyChainletClass,
  chainletName,
  type Dependency,
  isChainletClass,
  isModelRef,
  type ModelRef,
} from './chainlet.ts';

export interface ChainGraph {
  entrypoint: AnyChainletClass;
  /** Every chainlet by name, the entrypoint first, then in the order they were found. */
  chainlets: Map<string, AnyChainletClass>;
  /** Every model dependency by its key (name or id). */
  models: Map<string, ModelRef>;
}

/**
 * Walks the chain from `entrypoint`. Throws, naming the chainlets, on two chainlets with one name, on
 * a cycle, and on a dependency marked as an entrypoint (a chain has exactly one). The entrypoint itself
 * need not be marked, so a test can run part of a chain.
 *
 * @example
 *   const { chainlets } = chainGraph(HelloAll); // Map { 'HelloAll' => HelloAll, 'SayHello' => SayHello }
 */
export function chainGraph(entrypoint: AnyChainletClass): ChainGraph {
  if (!isChainletClass(entrypoint)) throw new TypeError('not a chainlet class: extend chainlet({...})');
  const graph: ChainGraph = { entrypoint, chainlets: new Map(), models: new Map() };
  const visit = (c: AnyChainletClass, path: string[]): void => {
    const name = chainletName(c);
    if (path.includes(name)) throw new TypeError(`chain has a cycle: ${[...path, name].join(' → ')}`);
    const known = graph.chainlets.get(name);
    if (known && known !== c) throw new TypeError(`two chainlets are named \`${name}\`: give one a \`name\``);
    if (c !== entrypoint && c.chainletSpec.entrypoint) {
      throw new TypeError(
        `\`${name}\` is marked as an entrypoint but \`${path.at(-1)}\` depends on it: a chain has exactly one`,
      );
    }
    if (known) return;
    graph.chainlets.set(name, c);
    for (const dep of Object.values(c.chainletSpec.deps) as Dependency[]) {
      if (isModelRef(dep.target)) graph.models.set(dep.target.key, dep.target);
      else visit(dep.target, [...path, name]);
    }
  };
  visit(entrypoint, []);
  return graph;
}

/**
 * The one chainlet a module marks as its entrypoint, as `girder push chain.ts` finds it. Throws when
 * the module exports none or several.
 *
 * @example
 *   const Entrypoint = findEntrypoint(await import('./chain.ts')); // HelloAll
 */
export function findEntrypoint(moduleExports: Record<string, unknown>): AnyChainletClass {
  const marked = [...new Set(Object.values(moduleExports))].filter(
    (v): v is AnyChainletClass => isChainletClass(v) && v.chainletSpec.entrypoint,
  );
  if (marked.length === 1) return marked[0];
  if (marked.length === 0) {
    throw new TypeError('the module exports no entrypoint: mark one chainlet with `entrypoint: true`');
  }
  throw new TypeError(`the module exports ${marked.length} entrypoints (${marked.map(chainletName).join(', ')})`);
}
