/**
 * A strict reader of HTTP/1.1 request heads for the fast path (see front-door.ts).
 *
 * It does not have to understand every request, only to know for sure which ones it understands:
 * anything outside a narrow, unambiguous subset is NOT_MINE and goes, bytes untouched, to node:http
 * (llhttp), which accepts it, answers 400/431, or whatever HTTP says. So there is no leniency here
 * to get wrong: no obs-fold, no bare LF, no whitespace before a colon, no duplicate header, no
 * Transfer-Encoding, no Expect, no Upgrade, no HTTP/1.0, ASCII only. The body is framed by a single
 * decimal Content-Length, or is empty.
 */

/** A request head the fast path can serve. */
export interface RequestHead {
  method: string;
  /** The origin-form request target, e.g. `/model-abcd1234/production/predict?x=1`. */
  url: string;
  /** Lower-case names; each name appears once (a duplicate makes the head NOT_MINE). */
  headers: Record<string, string>;
  /** [name, value, …] as sent. */
  rawHeaders: string[];
  contentLength: number;
  /** The client sent `Connection: close`. */
  close: boolean;
  /** Bytes of the head, the blank line included: the body starts there. */
  headBytes: number;
}

/** The head is not complete yet. */
export const NEED_MORE = 0;
/** Not in the subset this reader serves: node:http takes the connection from here. */
export const NOT_MINE = 1;

/** Node's own default limit (--max-http-header-size); past it node:http answers 431. */
export const MAX_HEAD_BYTES = 16 * 1024;

const END_OF_HEAD = Buffer.from('\r\n\r\n');

// Origin-form only, from RFC 3986's characters (no fragment, no space, no control, no non-ASCII).
const REQUEST_LINE = /(GET|POST|PUT|PATCH|DELETE) (\/[A-Za-z0-9\-._~:/?[\]@!$&'()*+,;=%]*) HTTP\/1\.1\r\n/y;
// token ":" OWS value OWS CRLF, where the value is visible ASCII with inner spaces or tabs.
const HEADER_LINE = /([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*((?:[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?)?)[ \t]*\r\n/y;
const DECIMAL = /^\d{1,15}$/;

/** Header names that change how a request is framed or handled: all left to node:http. */
const NOT_MINE_HEADERS = new Set(['transfer-encoding', 'expect', 'upgrade', 'http2-settings', 'set-cookie']);

/**
 * Reads the head of the request that starts at `buf[0]`.
 *
 * @example
 *   parseHead(Buffer.from('POST /predict HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}'))
 *   // → { method: 'POST', url: '/predict', headers: { host: 'x', 'content-length': '2' }, contentLength: 2, headBytes: 55, … }
 */
export function parseHead(buf: Buffer): RequestHead | typeof NEED_MORE | typeof NOT_MINE {
  const end = buf.indexOf(END_OF_HEAD);
  if (end < 0) return buf.length > MAX_HEAD_BYTES ? NOT_MINE : NEED_MORE;
  if (end + 4 > MAX_HEAD_BYTES) return NOT_MINE;
  // Up to and with the last header line's CRLF; latin1 maps each byte to one char, so a byte of
  // 0x80 or more shows up as a char the patterns refuse.
  const text = buf.toString('latin1', 0, end + 2);
  REQUEST_LINE.lastIndex = 0;
  const line = REQUEST_LINE.exec(text);
  if (!line) return NOT_MINE;
  const headers: Record<string, string> = Object.create(null);
  const rawHeaders: string[] = [];
  let contentLength = 0;
  let close = false;
  let at = REQUEST_LINE.lastIndex;
  while (at < text.length) {
    HEADER_LINE.lastIndex = at;
    const h = HEADER_LINE.exec(text);
    if (!h) return NOT_MINE;
    at = HEADER_LINE.lastIndex;
    const name = h[1].toLowerCase();
    const value = h[2];
    if (headers[name] !== undefined || NOT_MINE_HEADERS.has(name)) return NOT_MINE;
    if (name === 'content-length') {
      if (!DECIMAL.test(value)) return NOT_MINE;
      contentLength = Number(value);
    } else if (name === 'connection') {
      const v = value.toLowerCase();
      if (v === 'close') close = true;
      else if (v !== 'keep-alive') return NOT_MINE;
    }
    headers[name] = value;
    rawHeaders.push(h[1], value);
  }
  // node:http answers a request without Host with 400.
  if (headers.host === undefined) return NOT_MINE;
  return { method: line[1], url: line[2], headers, rawHeaders, contentLength, close, headBytes: end + 4 };
}
