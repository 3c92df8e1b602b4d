import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Agent } from 'undici';
import { MODEL_ID_RE } from '../ids.ts';
import type { KeySource } from './snippets.ts';

/** Flags every client command takes (see `common`). */
export interface CommonOpts {
  url?: string;
  apiKey?: string;
  json?: boolean;
}

export interface Server {
  url: string;
  key: string;
  /** Where the key came from, so that printed commands can say how to set it in a fresh shell. */
  keySource: KeySource;
}

/** An ErrorResponse from Girder (or any non-2xx answer), as one readable message. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  constructor(status: number, message: string, code?: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * Where the server is and which key to use: flags, then GIRDER_URL / GIRDER_API_KEY, then the
 * defaults of a local `girder serve` (port 8080, the admin key it saved in its data dir).
 */
export function resolveServer(opts: { url?: string; apiKey?: string }): Server {
  const url = (opts.url ?? process.env.GIRDER_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  if (opts.apiKey) return { url, key: opts.apiKey, keySource: { kind: 'flag' } };
  if (process.env.GIRDER_API_KEY) return { url, key: process.env.GIRDER_API_KEY, keySource: { kind: 'env' } };
  const file = resolve(process.env.GIRDER_DATA_DIR ?? '.girder', 'admin-key');
  try {
    return { url, key: readFileSync(file, 'utf8').trim(), keySource: { kind: 'file', path: file } };
  } catch {
    throw new Error(
      `No API key: pass --api-key, set GIRDER_API_KEY, or run where \`girder serve\` keeps its data (${file} is missing).`,
    );
  }
}

/** Turns a non-2xx answer into `error (error_code)` + detail on a second line. */
export async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: unknown; error_code?: unknown; detail?: unknown };
    if (typeof body.error === 'string' && typeof body.error_code === 'string') {
      const detail = typeof body.detail === 'string' && body.detail ? `\n${body.detail}` : '';
      return new ApiError(res.status, `${body.error} (${body.error_code})${detail}`, body.error_code);
    }
  } catch {
    /* not an ErrorResponse: show the raw answer below */
  }
  return new ApiError(res.status, `HTTP ${res.status} ${res.statusText}${text ? `\n${text.slice(0, 2000)}` : ''}`);
}

/**
 * fetch gives up after 300 s without response headers or body bytes: too short for a slow predict
 * and for `logs --follow` on a quiet deployment. The server's own timeouts apply instead.
 */
const patient = new Agent({ headersTimeout: 0, bodyTimeout: 0 });

export class Client {
  readonly url: string;
  readonly key: string;
  readonly keySource: KeySource;
  constructor(server: Server) {
    this.url = server.url;
    this.key = server.key;
    this.keySource = server.keySource;
  }

  /** fetch with the key, a clear message when nothing listens, and ApiError on non-2xx. */
  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = { authorization: `Api-Key ${this.key}`, ...(init.headers as Record<string, string> | undefined) };
    let res: Response;
    try {
      res = await fetch(this.url + path, { ...init, headers, dispatcher: patient } as RequestInit);
    } catch (err) {
      const code = (err as { cause?: { code?: string } }).cause?.code;
      if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH') {
        throw new Error(`No Girder server at ${this.url}: start one with \`girder serve\``);
      }
      throw err;
    }
    if (!res.ok) throw await errorOf(res);
    return res;
  }

  /** A management API call (`path` under /api/v1), answered with parsed JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: commands read the API's JSON answers by field, as documented shapes
  async api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(`/api/v1${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await res.json()) as T;
  }
}

/** The client for a command, from its own flags and any global ones. */
export function connect(cmd: Command): Client {
  return new Client(resolveServer(cmd.optsWithGlobals<CommonOpts>()));
}

/** Adds --url, --api-key and (unless the output is raw anyway) --json to a command. */
export function common(cmd: Command, { json = true } = {}): Command {
  cmd
    .option('--url <url>', 'Girder server URL (default $GIRDER_URL or http://127.0.0.1:8080)')
    .option('--api-key <key>', 'API key (default $GIRDER_API_KEY or .girder/admin-key)');
  return json ? cmd.option('--json', 'print the raw JSON answer') : cmd;
}

/** Wraps an action so a failure prints one clear message and exits 1, not a stack trace. */
export function run<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await fn(...args);
    } catch (err) {
      console.error(err instanceof Error ? err.message : String(err));
      process.exitCode = 1;
    }
  };
}

/** A model given by id or name → its id. Keys that may not list models can still pass an id. */
export async function resolveModel(client: Client, ref: string): Promise<string> {
  let models: { id: string; name: string }[];
  try {
    ({ models } = await client.api<{ models: { id: string; name: string }[] }>('GET', '/models'));
  } catch (err) {
    if (err instanceof ApiError && err.status === 403 && MODEL_ID_RE.test(ref)) return ref;
    throw err;
  }
  const byId = models.find((m) => m.id === ref);
  if (byId) return byId.id;
  // Names are stored trimmed and in NFC (control/model-name.ts): match what the user typed the same way.
  const name = ref.trim().normalize('NFC');
  const byName = models.filter((m) => m.name === ref || m.name === name);
  if (byName.length === 1) return byName[0].id;
  if (byName.length > 1)
    throw new Error(`Several models are named "${ref}": use the id (${byName.map((m) => m.id).join(', ')}).`);
  throw new Error(`No model "${ref}". List them with \`girder models\`.`);
}

/** A deployment given by id or name (e.g. deployment-2) → its id; aliases pass through. */
export async function resolveDeployment(client: Client, modelId: string, ref: string): Promise<string> {
  if (ref === 'production' || ref === 'development') return ref;
  try {
    const { deployments } = await client.api<{ deployments: { id: string; name: string }[] }>(
      'GET',
      `/models/${modelId}/deployments`,
    );
    return deployments.find((d) => d.id === ref || d.name === ref)?.id ?? ref;
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return ref; // an invoke key: take it as an id
    throw err;
  }
}
