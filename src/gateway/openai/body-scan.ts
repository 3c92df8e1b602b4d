/**
 * The least a gateway must read of an OpenAI request body: where the top-level fields it needs
 * (`model`, `stream`, `stream_options`) are, as byte spans, without building the rest of the
 * document. A chat body is mostly long strings (messages, base64 images), which are skipped with
 * `indexOf` to the next quote; the fields are then rewritten in place, so every other byte reaches
 * the upstream exactly as the client sent it.
 */

/** A value's bytes in the body: [start, end). */
export interface Span {
  start: number;
  end: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(buf: Buffer, i: number): number {
  while (i < buf.length && isSpace(buf[i])) i++;
  return i;
}

/** From an opening quote to just past its closing quote; -1 when it never closes. */
function skipString(buf: Buffer, i: number): number {
  let from = i + 1;
  for (;;) {
    const q = buf.indexOf(QUOTE, from);
    if (q < 0) return -1;
    let slashes = 0;
    while (buf[q - 1 - slashes] === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return q + 1;
    from = q + 1;
  }
}

/** Just past the value that starts at `i` (an object, array, string or scalar); -1 when malformed. */
function skipValue(buf: Buffer, i: number): number {
  const c = buf[i];
  if (c === QUOTE) return skipString(buf, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    while (i < buf.length) {
      const b = buf[i];
      if (b === QUOTE) {
        i = skipString(buf, i);
        if (i < 0) return -1;
        continue;
      }
      if (b === 0x7b || b === 0x5b) depth++;
      else if (b === 0x7d || b === 0x5d) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return -1;
  }
  const start = i;
  while (i < buf.length) {
    const b = buf[i];
    if (b === 0x2c || b === 0x7d || b === 0x5d || isSpace(b)) break;
    i++;
  }
  return i > start ? i : -1;
}

/**
 * The spans of the wanted top-level fields of a JSON object, or null when the body is not one
 * (the caller answers 400). A key given twice counts by its last value, as JSON.parse does.
 * Values are not validated: the upstream parses the body for real.
 *
 * @example
 *   const body = Buffer.from('{"model":"m","messages":[]}');
 *   const f = topLevelFields(body, ['model']);
 *   body.toString('utf8', f!.model!.start, f!.model!.end); // '"m"'
 */
export function topLevelFields<K extends string>(buf: Buffer, wanted: readonly K[]): Partial<Record<K, Span>> | null {
  const out: Partial<Record<K, Span>> = {};
  let i = skipSpace(buf, 0);
  if (buf[i] !== 0x7b) return null;
  i = skipSpace(buf, i + 1);
  if (buf[i] === 0x7d) return skipSpace(buf, i + 1) === buf.length ? out : null;
  for (;;) {
    if (buf[i] !== QUOTE) return null;
    const keyEnd = skipString(buf, i);
    if (keyEnd < 0) return null;
    const raw = buf.toString('utf8', i + 1, keyEnd - 1);
    let key = raw;
    if (raw.includes('\\')) {
      try {
        key = JSON.parse(`"${raw}"`) as string;
      } catch {
        return null;
      }
    }
    i = skipSpace(buf, keyEnd);
    if (buf[i] !== 0x3a) return null;
    const start = skipSpace(buf, i + 1);
    const end = skipValue(buf, start);
    if (end < 0) return null;
    if ((wanted as readonly string[]).includes(key)) out[key as K] = { start, end };
    i = skipSpace(buf, end);
    if (buf[i] === 0x2c) {
      i = skipSpace(buf, i + 1);
      continue;
    }
    if (buf[i] === 0x7d) return skipSpace(buf, i + 1) === buf.length ? out : null;
    return null;
  }
}

/** The parsed value of a span (a small one: a name, a boolean, `stream_options`); undefined when invalid. */
export function parseSpan(buf: Buffer, span: Span | undefined): unknown {
  if (!span) return undefined;
  try {
    return JSON.parse(buf.toString('utf8', span.start, span.end));
  } catch {
    return undefined;
  }
}

/** A replacement of the bytes [start, end) by `text`; start === end inserts. */
export interface Edit extends Span {
  text: string;
}

/**
 * The body with the edits applied; the same Buffer when there are none.
 *
 * @example
 *   splice(Buffer.from('{"model":"a"}'), [{ start: 9, end: 12, text: '"b"' }]).toString(); // '{"model":"b"}'
 */
export function splice(buf: Buffer, edits: Edit[]): Buffer {
  if (edits.length === 0) return buf;
  const sorted = [...edits].sort((a, b) => a.start - b.start);
  const parts: Buffer[] = [];
  let at = 0;
  for (const e of sorted) {
    parts.push(buf.subarray(at, e.start), Buffer.from(e.text));
    at = e.end;
  }
  parts.push(buf.subarray(at));
  return Buffer.concat(parts);
}

/** Where a new first field goes: just past the object's `{`. */
export function openingBrace(buf: Buffer): number {
  return buf.indexOf(0x7b) + 1;
}
