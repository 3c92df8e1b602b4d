/**
 * What a command's MODEL-or-CHAIN argument names. Models and chains have names of their own (a chain
 * may share a model's name) and ids of the same form, so the commands that take either (`promote`,
 * `activate`, `deactivate`, `logs`, `autoscaling`) look in both lists.
 */
import { ApiError, type Client, resolveModel } from '../client.ts';

export interface Named {
  id: string;
  name: string;
}

/** A model or a chain, by id. */
export type Target = { kind: 'model'; id: string } | { kind: 'chain'; id: string; name: string };

/** Names are matched as typed and trimmed (chain names have no spaces; model names are NFC). */
const matches = (x: Named, ref: string) => x.id === ref || x.name === ref || x.name === ref.trim().normalize('NFC');

/**
 * A chain given by id or name → its id and name; a clear error (listing how to see them) otherwise.
 *
 * @example
 *   const { id } = await resolveChain(client, 'hello'); // 'abcd1234'
 */
export async function resolveChain(client: Client, ref: string): Promise<Named> {
  const { chains } = await client.api<{ chains: Named[] }>('GET', '/chains');
  const found = chains.find((c) => c.id === ref) ?? chains.find((c) => matches(c, ref));
  if (!found) throw new Error(`No chain "${ref}". List them with \`girder chains\`.`);
  return found;
}

/**
 * A model or a chain by id or name. A ref that names both a model and a chain is an error naming
 * their ids (either id works). A key that may not list (invoke keys) gets the model as before.
 *
 * @example
 *   const t = await resolveTarget(client, 'hello'); // { kind: 'chain', id: 'abcd1234', name: 'hello' }
 */
export async function resolveTarget(client: Client, ref: string): Promise<Target> {
  let lists: [{ models: Named[] }, { chains: Named[] }];
  try {
    lists = await Promise.all([client.api('GET', '/models'), client.api('GET', '/chains')]);
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return { kind: 'model', id: await resolveModel(client, ref) };
    throw err;
  }
  const [{ models }, { chains }] = lists;
  const chain = chains.find((c) => c.id === ref) ?? chains.find((c) => matches(c, ref));
  const modelHit = models.some((m) => matches(m, ref));
  if (chain && modelHit && chain.id !== ref) {
    const ids = models.filter((m) => matches(m, ref)).map((m) => `model ${m.id}`);
    throw new Error(`"${ref}" names a chain (${chain.id}) and a model (${ids.join(', ')}): use the id.`);
  }
  if (chain) return { kind: 'chain', id: chain.id, name: chain.name };
  return { kind: 'model', id: await resolveModel(client, ref) };
}

/**
 * A chain deployment given by id or name (`deployment-2`) → its id; `production` and `development`
 * pass through, and anything else is left to the server to refuse.
 */
export async function resolveChainDeployment(client: Client, chainId: string, ref: string): Promise<string> {
  if (ref === 'production' || ref === 'development') return ref;
  const { deployments } = await client.api<{ deployments: Named[] }>('GET', `/chains/${chainId}/deployments`);
  return deployments.find((d) => d.id === ref || d.name === ref)?.id ?? ref;
}
