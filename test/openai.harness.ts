import OpenAI from 'openai';
import { call, example, modelCopy, type PushAnswer, type Running, startGirder } from './helpers.ts';

/** The stand-in LLM server (examples/llm-stand-in), deployed into a Girder. */
export const STAND_IN = example('llm-stand-in');

/** An OpenAI client on a Girder: only the base URL and the key differ from OpenAI's. No retries: tests read each answer. */
export function client(girder: Running, apiKey = girder.key): OpenAI {
  return new OpenAI({ baseURL: `${girder.url}/v1`, apiKey, maxRetries: 0 });
}

export interface StandInStats {
  requests: number;
  aborted: number;
  open: number;
  last: { path: string; headers: Record<string, string>; body: string } | null;
}

/** What the stand-in replica of a model saw, read through Girder's sync passthrough. */
export async function standInStats(girder: Running, modelId: string): Promise<StandInStats> {
  const r = await call(`${girder.url}/model-${modelId}/production/sync/stand-in/stats`, {
    method: 'GET',
    headers: girder.auth,
  });
  return r.json as StandInStats;
}

/** Lets the stand-in's streams held at `name` go on. */
export async function release(girder: Running, modelId: string, name: string): Promise<void> {
  await call(`${girder.url}/model-${modelId}/production/sync/stand-in/release/${name}`, { headers: girder.auth });
}

/** A Girder with the stand-in deployed, closed after the file. */
export async function girderWithStandIn(
  t: { after: (fn: () => Promise<void> | void) => void },
  opts: Parameters<typeof startGirder>[1] = {},
): Promise<{ girder: Running; standIn: PushAnswer }> {
  const girder = await startGirder(t, opts);
  const standIn = await girder.deploy(STAND_IN);
  return { girder, standIn };
}

/** A copy of the stand-in under another name, with `patch` merged into its config.yaml. */
export function standInCopy(
  t: { after: (fn: () => void) => void },
  name: string,
  patch: Record<string, unknown> = {},
): string {
  return modelCopy(t, STAND_IN, { model_name: name, model_metadata: { openai: { aliases: [] } }, ...patch });
}

/** Collects a stream: the chunks, and the text of choice 0. */
export async function collect(
  stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>,
): Promise<{ chunks: OpenAI.Chat.Completions.ChatCompletionChunk[]; text: string }> {
  const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
  let text = '';
  for await (const c of stream) {
    chunks.push(c);
    text += c.choices[0]?.delta?.content ?? '';
  }
  return { chunks, text };
}
