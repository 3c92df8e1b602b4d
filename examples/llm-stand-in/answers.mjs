// What the stand-in answers, as pure functions of the request: the same request always gets the same
// words, tool calls and usage, so tests can assert on them and benchmarks compare like with like.

/** The text of a message's content: a string, or the text parts of a list (image parts count as one word). */
export function contentText(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => (p?.type === 'text' ? p.text : p?.type ? `[${p.type}]` : '')).join(' ');
}

const words = (text) => text.split(/\s+/).filter(Boolean);

/** Whitespace-separated words stand in for tokens: every message, and the tool definitions. */
export function promptTokens(body) {
  let n = 0;
  for (const m of body.messages ?? []) n += words(contentText(m.content)).length + 1;
  if (body.prompt !== undefined)
    n += words(Array.isArray(body.prompt) ? body.prompt.join(' ') : String(body.prompt)).length;
  if (body.tools) n += words(JSON.stringify(body.tools)).length;
  return n;
}

/**
 * The words of the reply: "echo:" and the last user message, or `stand_in.words` numbered words
 * (for benchmarks), cut at max_tokens (then finish_reason is "length").
 */
export function replyWords(body) {
  const user = [...(body.messages ?? [])].reverse().find((m) => m.role === 'user' || m.role === 'tool');
  const asked = body.stand_in?.words;
  let out;
  if (Number.isInteger(asked)) out = Array.from({ length: asked }, (_, i) => `w${i + 1}`);
  else if (user?.role === 'tool') out = ['tool', 'said:', ...words(contentText(user.content))];
  else out = ['echo:', ...words(user ? contentText(user.content) : String(body.prompt ?? ''))];
  const max = body.max_completion_tokens ?? body.max_tokens;
  if (Number.isInteger(max) && max >= 0 && out.length > max) return { words: out.slice(0, max), finish: 'length' };
  return { words: out, finish: 'stop' };
}

/** A value that fits a JSON schema, built the same way every time (strings are `text`). */
export function sample(schema, text = 'stand-in') {
  if (!schema || typeof schema !== 'object') return text;
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (schema.anyOf || schema.oneOf) return sample((schema.anyOf ?? schema.oneOf)[0], text);
  switch (type) {
    case 'object': {
      const out = {};
      for (const [k, v] of Object.entries(schema.properties ?? {})) out[k] = sample(v, text);
      return out;
    }
    case 'array':
      return [sample(schema.items, text)];
    case 'integer':
    case 'number':
      return schema.minimum ?? 42;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return text;
  }
}

/**
 * The tool calls of the reply, or null: with `tools` given (and `tool_choice` not "none"), the
 * named tool, else the first one, once; or every tool when `parallel_tool_calls` is true. A
 * conversation whose last message is a tool result gets text instead, so a tool loop ends.
 */
export function toolCalls(body, seq) {
  const tools = (body.tools ?? []).filter((t) => t?.type === 'function' && t.function?.name);
  const last = body.messages?.at(-1);
  if (!tools.length || body.tool_choice === 'none' || last?.role === 'tool') return null;
  const named = body.tool_choice?.function?.name;
  let chosen = named ? tools.filter((t) => t.function.name === named) : tools.slice(0, 1);
  if (!named && body.parallel_tool_calls === true) chosen = tools;
  const text = words(contentText(last?.content ?? '')).join(' ') || 'stand-in';
  return chosen.map((t, i) => ({
    id: `call_stand_in_${seq}_${i}`,
    type: 'function',
    function: { name: t.function.name, arguments: JSON.stringify(sample(t.function.parameters, text)) },
  }));
}

/** The message content under response_format: a JSON object (json_object, json_schema) or plain words. */
export function content(body, replyText) {
  const format = body.response_format;
  if (format?.type === 'json_object') return JSON.stringify({ reply: replyText });
  if (format?.type === 'json_schema') return JSON.stringify(sample(format.json_schema?.schema, replyText));
  return replyText;
}

/** A deterministic unit-length vector for an embedding input. */
export function embedding(text, dimensions = 8) {
  const v = [];
  let h = 2166136261;
  for (let i = 0; i < dimensions; i++) {
    for (const c of `${text}#${i}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
    v.push((h / 2 ** 32) * 2 - 1);
  }
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}
