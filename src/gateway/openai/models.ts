import { canInvoke } from '../../control/keys.ts';
import { type OpenAIName, OpenAINames, openAISettings } from '../../control/openai-names.ts';
import type { ApiKeyRecord } from '../../records/control.ts';
import type { App } from '../app-context.ts';
import { V1Error } from './errors.ts';

/** One entry of `GET /v1/models`: OpenAI's fields, and those of reference notes §9.4 Girder knows. */
export interface ModelEntry {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  /** The Girder model the name leads to (an alias's model). */
  name: string;
  description?: string;
  [field: string]: unknown;
}

/** The names a key may call: a model's own name and its aliases, once it has an active production deployment. */
function callable(app: App, key: ApiKeyRecord): { entry: OpenAIName; view: ModelEntry }[] {
  const names = OpenAINames.of(app.registry);
  const out: { entry: OpenAIName; view: ModelEntry }[] = [];
  for (const entry of names.names()) {
    if (!canInvoke(key, entry.model.id)) continue;
    const d = names.production(entry.model.id);
    if (!d?.active) continue;
    const { listing } = openAISettings(d.config);
    const view: ModelEntry = {
      id: entry.name,
      object: 'model',
      created: Math.floor(Date.parse(entry.model.createdAt) / 1000),
      owned_by: 'girder',
      ...listing,
      name: entry.model.name,
    };
    if (d.config.description) view.description = d.config.description;
    out.push({ entry, view });
  }
  return out;
}

/**
 * `GET /v1/models` in OpenAI's list shape.
 *
 * @example
 *   modelList(app, key) // { object: 'list', data: [{ id: 'llm-stand-in', object: 'model', created: 1767225600, owned_by: 'girder', … }] }
 */
export function modelList(app: App, key: ApiKeyRecord): { object: 'list'; data: ModelEntry[] } {
  return { object: 'list', data: callable(app, key).map((c) => c.view) };
}

/**
 * `GET /v1/models/{name}`: one entry, or 404 for a name the key may not call.
 *
 * @example
 *   modelView(app, key, 'stand-in').name // 'llm-stand-in'
 */
export function modelView(app: App, key: ApiKeyRecord, name: string): ModelEntry {
  const found = callable(app, key).find((c) => c.entry.name === name);
  if (!found) {
    throw new V1Error('model_does_not_exist', `The model \`${name}\` does not exist.`, {
      param: 'model',
      detail: '`GET /v1/models` lists the names this key may call.',
    });
  }
  return found.view;
}
