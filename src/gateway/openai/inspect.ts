import { type Span, topLevelFields, parseSpan } from './body-scan.ts';

/** Tokens an answer reports, summed by the limits and the usage meter. */
export interface Tokens {
  prompt: number;
  completion: number;
}

const FIELDS = ['model', 'usage', 'choices', 'response'] as const;

const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

/**
 * The tokens of a `usage` object: OpenAI's chat, completions and embeddings names, or the Responses
 * and Anthropic Messages names. Undefined when there is no usage.
 *
 * @example
 *   tokensOf({ prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 }); // { prompt: 3, completion: 5 }
 */
export function tokensOf(usage: unknown): Tokens | undefined {
  if (!usage || typeof usage !== 'object') return undefined;
  const u = usage as Record<string, unknown>;
  return {
    prompt: count(u.prompt_tokens ?? u.input_tokens),
    completion: count(u.completion_tokens ?? u.output_tokens),
  };
}

/** What one JSON document of an answer (a whole answer, or one SSE event's data) says and needs. */
export interface Inspected {
  tokens: Tokens | undefined;
  /** The top-level `model` when it is not the name the client asked for; its span to rewrite. */
  modelSpan: Span | undefined;
  /** `choices: []` with a usage: the usage-only last chunk of a stream. */
  usageOnly: boolean;
}

/**
 * Reads the few top-level fields of an answer's JSON document, without parsing the rest: the usage
 * (also under `response`, as a Responses stream's last event has it), whether `model` differs from
 * `asked` (as JSON text), and whether it is a stream's usage-only chunk.
 *
 * @example
 *   inspect(Buffer.from('{"model":"up","usage":{"prompt_tokens":1}}'), '"asked"').modelSpan // { start: 9, end: 13 }
 */
export function inspect(doc: Buffer, askedJson: string): Inspected | undefined {
  const f = topLevelFields(doc, FIELDS);
  if (!f) return undefined;
  let tokens = f.usage && doc[f.usage.start] === 0x7b ? tokensOf(parseSpan(doc, f.usage)) : undefined;
  if (!tokens && f.response) tokens = tokensOf((parseSpan(doc, f.response) as { usage?: unknown } | null)?.usage);
  const m = f.model;
  const same =
    !m ||
    doc[m.start] !== 0x22 ||
    (m.end - m.start === askedJson.length && doc.toString('utf8', m.start, m.end) === askedJson);
  const usageOnly =
    tokens !== undefined &&
    f.choices !== undefined &&
    /^\[\s*\]$/.test(doc.toString('latin1', f.choices.start, f.choices.end));
  return { tokens, modelSpan: same ? undefined : m, usageOnly };
}
