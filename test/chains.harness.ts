/** Pushing a chain folder as `girder push chain.ts` does, for the chain tests. */
import { Readable } from 'node:stream';
import { BUNDLE_CONTENT_TYPE, packDir } from '../src/control/packaging/bundle.ts';

export interface ChainPushAnswer {
  chain: { id: string; name: string };
  deployment: {
    id: string;
    name: string;
    environment: string | null;
    chainlets: { id: string; name: string; model_id: string }[];
  };
}

/** Uploads `dir` to `POST /api/v1/chains/push?file=…`; returns status and parsed answer. */
export async function pushChain(
  url: string,
  key: string,
  dir: string,
  query: Record<string, string>,
): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}/api/v1/chains/push?${new URLSearchParams(query)}`, {
    method: 'POST',
    headers: { authorization: `Api-Key ${key}`, 'content-type': BUNDLE_CONTENT_TYPE },
    body: Readable.toWeb(Readable.from(packDir(dir))) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  return { status: res.status, json: await res.json() };
}
