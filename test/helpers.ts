import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import YAML from 'yaml';
import { BUNDLE_CONTENT_TYPE, packDir } from '../src/control/packaging/bundle.ts';
import { Girder, type StartOptions } from '../src/girder.ts';
import { tempDir } from './temp-dir.ts';
import { waitFor } from './wait.ts';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const example = (name: string): string => join(ROOT, 'examples', name);
export const fixture = (name: string): string => join(ROOT, 'test', 'fixtures', name);

/** Deep-merges plain objects; anything else in `patch` replaces. */
function merge(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const b = out[k];
    const bothObjects =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b);
    out[k] = bothObjects ? merge(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/** A copy of a model directory with `patch` merged into its config.yaml. */
export function modelCopy(t: { after: (fn: () => void) => void }, src: string, patch: Record<string, unknown>): string {
  const dir = join(tempDir(t), 'model');
  cpSync(src, dir, { recursive: true });
  const file = join(dir, 'config.yaml');
  writeFileSync(file, YAML.stringify(merge(YAML.parse(readFileSync(file, 'utf8')) ?? {}, patch)));
  return dir;
}

export interface Running {
  g: Girder;
  url: string;
  key: string;
  auth: Record<string, string>;
  /** Pushes a directory as `girder push` does (pushDir); returns the parsed answer. */
  push(dir: string, query?: Record<string, string>): Promise<PushAnswer>;
  /** Pushes and waits until the new deployment is ACTIVE. */
  deploy(dir: string, query?: Record<string, string>): Promise<PushAnswer>;
}

export interface PushAnswer {
  model: { id: string; name: string };
  deployment: { id: string; name: string; environment: string | null; status: string };
  warnings: string[];
}

/**
 * Uploads a model directory to `POST /api/v1/models/push` of the Girder at `url`, as `girder push`
 * does; returns the parsed answer, and throws (with the answer) unless it is a 200.
 */
export async function pushDir(
  url: string,
  key: string,
  dir: string,
  query: Record<string, string> = {},
): Promise<PushAnswer> {
  const qs = new URLSearchParams(query).toString();
  const res = await fetch(`${url}/api/v1/models/push${qs ? `?${qs}` : ''}`, {
    method: 'POST',
    headers: { authorization: `Api-Key ${key}`, 'content-type': BUNDLE_CONTENT_TYPE },
    body: Readable.toWeb(Readable.from(packDir(dir))) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`push failed: ${res.status} ${text}`);
  return JSON.parse(text) as PushAnswer;
}

/** Starts a Girder in this process on port 0, closed after the test (or suite). */
export async function startGirder(
  t: { after: (fn: () => Promise<void> | void) => void },
  opts: Partial<StartOptions> = {},
): Promise<Running> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'girder-data-'));
  const g = await Girder.start({ port: 0, probeIntervalMs: 200, ...opts, dataDir });
  t.after(async () => {
    await g.close();
    if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  const key = opts.apiKey ?? g.newAdminKey!;
  const auth = { authorization: `Api-Key ${key}` };
  const push = (dir: string, query?: Record<string, string>): Promise<PushAnswer> => pushDir(g.url, key, dir, query);
  const deploy = async (dir: string, query?: Record<string, string>): Promise<PushAnswer> => {
    const pushed = await push(dir, query);
    const d = g.registry.deployments.get(pushed.deployment.id)!;
    await waitFor(() => g.supervisor.status(d).status === 'ACTIVE', 30_000, `deployment ${d.id} to be ACTIVE`);
    return pushed;
  };
  return { g, url: g.url, key, auth, push, deploy };
}

/** An HTTP call that may set any header (fetch forbids Host). Returns status, headers and text. */
export async function call(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
) {
  const res = await request(url, { method: (opts.method ?? 'POST') as 'POST', headers: opts.headers, body: opts.body });
  const raw = Buffer.from(await res.body.arrayBuffer());
  const text = raw.toString('utf8');
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, raw, text, json };
}
