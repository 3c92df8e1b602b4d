/**
 * The strict head reader against llhttp (node:http's parser): every request the fast path accepts,
 * node:http must read the same way (method, target, headers, body) and must find the next request
 * exactly where the fast path would. If they ever disagreed about where a request ends, a request
 * could be smuggled past one of them. Requests are generated from a fixed seed, mixing valid parts
 * with the usual suspects (bare LF, obs-fold, odd whitespace, control and non-ASCII bytes, duplicate
 * or malformed framing headers).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { parseHead, type RequestHead } from './request-head.ts';

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () =>
    res.end(
      JSON.stringify({
        method: req.method,
        url: req.url,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks).toString('latin1'),
      }),
    ),
  );
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
after(() => {
  server.close();
  server.closeAllConnections();
});
const port = (server.address() as AddressInfo).port;

/** mulberry32: a small seeded generator, so that a failure reproduces. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(20261122);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
/** Mostly the first (valid) choice, sometimes one of the others. */
const usually = <T>(good: T, odd: readonly T[], p = 0.85): T => (random() < p ? good : pick(odd));
const text = (alphabet: string, max: number): string =>
  Array.from({ length: Math.floor(random() * max) }, () => pick([...alphabet])).join('');

const URL_CHARS = 'abcz09/-._~%?=&:@!$()*+,;';
const ODD_CHARS = [' ', '\t', '#', '"', '<', '\\', '\x7f', '\x00', '\x80', '\xe9', '\r', '\n'];
const VALUE_CHARS = 'abcXYZ019 ,;=-_/.:"';
const NAMES = ['x-a', 'X-Baseten-Trace', 'authorization', 'content-type', 'accept', 'traceparent'];
const ODD_NAMES = [
  'bad name',
  'x\x00y',
  'x\xe9',
  '',
  'x/y',
  'Transfer-Encoding',
  'Connection',
  'Expect',
  'Upgrade',
  'Host',
];
const CONTENT_LENGTHS = ['0', '3', '17', '03', '+3', ' 3', '3 ', '3,3', '-1', '1e1', '0x3', ''];

function odd(s: string): string {
  const at = Math.floor(random() * (s.length + 1));
  return s.slice(0, at) + pick(ODD_CHARS) + s.slice(at);
}

/** One generated request: its bytes, and where node should find the body's end. */
function generate(): string {
  const eol = (): string => usually('\r\n', ['\n', '\r', '\r\r\n'], 0.97);
  const method = usually('POST', ['GET', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'get', 'OPTIONS', 'CONNECT'], 0.6);
  let url = `/${text(URL_CHARS, 30)}`;
  if (random() < 0.1) url = odd(url);
  if (random() < 0.03) url = `http://x${url}`;
  const version = usually('HTTP/1.1', ['HTTP/1.0', 'HTTP/2.0', 'http/1.1', 'HTTP/1.1 ', 'HTTP/1.10']);
  let head = `${method}${usually(' ', ['  ', '\t'], 0.97)}${url} ${version}${eol()}`;
  const lines: string[] = [];
  if (random() < 0.95) lines.push(`${pick(['Host', 'host', 'HOST'])}: ${usually('x', ['', 'a b', 'x\xe9'], 0.9)}`);
  let length = 0;
  if (random() < 0.7) {
    const cl = usually(pick(CONTENT_LENGTHS.slice(0, 3)), CONTENT_LENGTHS, 0.8);
    length = /^\d+$/.test(cl) ? Number(cl) : 3;
    lines.push(`${pick(['Content-Length', 'content-length'])}:${usually(' ', ['', '\t', '  '], 0.8)}${cl}`);
    if (random() < 0.05) lines.push(`Content-Length: ${pick(CONTENT_LENGTHS)}`);
  }
  if (random() < 0.1) {
    lines.push(
      pick([
        'Transfer-Encoding: chunked',
        'Transfer-Encoding: identity',
        'transfer-encoding: gzip, chunked',
        'Expect: 100-continue',
        'Upgrade: websocket',
        'Connection: upgrade',
        'Connection: close',
        'Connection: keep-alive',
      ]),
    );
  }
  for (let n = Math.floor(random() * 5); n > 0; n--) {
    const name = usually(pick(NAMES), ODD_NAMES, 0.9);
    const colon = usually(': ', [':', ' :', ':\t', ':   ', ' : '], 0.85);
    let value = text(VALUE_CHARS, 20);
    if (random() < 0.1) value = odd(value);
    if (name === 'Transfer-Encoding') value = pick(['chunked', 'identity', 'gzip, chunked']);
    if (name === 'Connection') value = pick(['close', 'keep-alive', 'upgrade', 'Keep-Alive', 'close, keep-alive']);
    lines.push(`${name}${colon}${value}`);
    if (random() < 0.03) lines.push(` folded ${text(VALUE_CHARS, 5)}`);
  }
  for (const l of lines.sort(() => random() - 0.5)) head += l + eol();
  return (
    head +
    eol() +
    text('abcdef', length + 1)
      .padEnd(length, 'z')
      .slice(0, length)
  );
}

interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
  body: string;
}

/**
 * Sends `bytes`, then a sentinel request unless the first one closes the connection (llhttp refuses
 * data after `Connection: close`), on one connection; resolves with node's answers.
 */
async function nodeReads(
  bytes: string,
  sentinel: boolean,
): Promise<{ answers: Array<{ status: number; seen?: Seen }> }> {
  const s = connect(port, '127.0.0.1');
  s.setEncoding('latin1');
  let got = '';
  s.on('data', (d: string) => (got += d));
  s.on('error', () => {});
  await once(s, 'connect');
  s.end(Buffer.from(bytes + (sentinel ? 'GET /sentinel HTTP/1.1\r\nHost: s\r\n\r\n' : ''), 'latin1'));
  await once(s, 'close');
  const answers: Array<{ status: number; seen?: Seen }> = [];
  for (let at = 0; ; ) {
    const end = got.indexOf('\r\n\r\n', at);
    if (end < 0) return { answers };
    const head = got.slice(at, end);
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
    const body = got.slice(end + 4, end + 4 + length);
    const status = Number(head.split(' ')[1]);
    answers.push({ status, seen: status === 200 ? (JSON.parse(body) as Seen) : undefined });
    at = end + 4 + length;
  }
}

test('every request the strict reader accepts, node:http reads the same way and ends at the same byte', async () => {
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < 1500; i++) {
    const bytes = generate();
    const head = parseHead(Buffer.from(bytes, 'latin1'));
    if (typeof head !== 'object') {
      refused++;
      continue;
    }
    accepted++;
    const mine: RequestHead = head;
    const { answers } = await nodeReads(bytes, !mine.close);
    const why = `request ${i}: ${JSON.stringify(bytes)}`;
    assert.ok(
      answers.length >= 1 && answers[0].status === 200,
      `node:http refused what the fast path accepted; ${why}; node answered ${answers[0]?.status}`,
    );
    const seen = answers[0].seen!;
    assert.equal(seen.method, mine.method, why);
    assert.equal(seen.url, mine.url, why);
    assert.deepEqual(seen.rawHeaders, mine.rawHeaders, why);
    assert.equal(seen.body, bytes.slice(mine.headBytes, mine.headBytes + mine.contentLength), why);
    // The same end of request: the next one node reads is the sentinel.
    if (!mine.close) assert.equal(answers[1]?.seen?.url, '/sentinel', why);
  }
  // Both sides of the line must be exercised, or the comparison says nothing.
  assert.ok(accepted > 100 && refused > 100, `accepted ${accepted}, refused ${refused}`);
});
