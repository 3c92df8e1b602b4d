import { EventEmitter } from 'node:events';
import { badRequest, notFound } from '../errors.ts';
import type { Store } from '../store/store.ts';
import type { SecretRecord } from '../records/control.ts';

const NAME_RE = /^[A-Za-z0-9_.-]{1,128}$/;

/**
 * Workspace secrets. Values go to replicas (as files in their secrets directory, like Truss's
 * `/secrets/{name}`) and never back out through the API. `changed` (the name) follows every put and
 * delete, once stored, so that the runtime can update or remove the copies it wrote.
 *
 * @example
 *   await secrets.put('hf_token', 'hf_…');
 *   secrets.values(['hf_token', 'missing']); // Map { 'hf_token' => 'hf_…' }
 *   secrets.on('changed', (name) => secrets.values([name])); // empty once deleted
 */
export class Secrets extends EventEmitter<{ changed: [name: string] }> {
  readonly #store: Store;
  readonly #byName = new Map<string, SecretRecord>();

  constructor(store: Store) {
    super();
    this.#store = store;
  }

  async load(): Promise<void> {
    for (const s of await this.#store.listSecrets()) this.#byName.set(s.name, s);
  }

  /** Metadata only, as Baseten's GET /v1/secrets. */
  list(): { name: string; created_at: string; updated_at: string }[] {
    return [...this.#byName.values()].map((s) => ({ name: s.name, created_at: s.createdAt, updated_at: s.updatedAt }));
  }

  /** Values of the named secrets that exist; missing names are left out. */
  values(names: Iterable<string>): Map<string, string> {
    const out = new Map<string, string>();
    for (const name of names) {
      const s = this.#byName.get(name);
      if (s) out.set(name, s.value);
    }
    return out;
  }

  async put(name: string, value: string): Promise<SecretRecord> {
    if (!NAME_RE.test(name))
      throw badRequest(`Invalid secret name "${name}".`, 'Use letters, digits, "_", "-" and "." (at most 128).');
    const record = await this.#store.putSecret(name, value, new Date().toISOString());
    this.#byName.set(name, record);
    this.emit('changed', name);
    return record;
  }

  async delete(name: string): Promise<void> {
    if (!(await this.#store.deleteSecret(name)))
      throw notFound(`No secret named "${name}".`, 'List secrets with `girder secrets list`.');
    this.#byName.delete(name);
    this.emit('changed', name);
  }
}
