import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_HEAD_BYTES, NEED_MORE, NOT_MINE, parseHead, type RequestHead } from './request-head.ts';

/** A head of `lines` (request line first) with CRLF endings and the blank line. */
const head = (...lines: string[]): Buffer => Buffer.from(`${lines.map((l) => `${l}\r\n`).join('')}\r\n`, 'latin1');
const GET = 'GET /x HTTP/1.1';
const parsed = (buf: Buffer): RequestHead => {
  const h = parseHead(buf);
  assert.equal(typeof h, 'object', `expected a head, got ${String(h)}`);
  return h as RequestHead;
};
const refused = (buf: Buffer, why: string): void => assert.equal(parseHead(buf), NOT_MINE, why);

test('a valid head gives method, url, headers, rawHeaders, contentLength, close and headBytes', () => {
  const bytes = head(
    'POST /model-abcd1234/production/predict?x=1&y=%20 HTTP/1.1',
    'Host: example.test',
    'Content-Type: application/json',
    'Content-Length: 2',
    'X-Trace: a b',
  );
  // The body and the start of a pipelined request follow the head.
  const h = parsed(Buffer.concat([bytes, Buffer.from('{}GET / HTTP/1.1\r\n')]));
  assert.equal(h.method, 'POST');
  assert.equal(h.url, '/model-abcd1234/production/predict?x=1&y=%20');
  assert.deepEqual(
    { ...h.headers },
    { host: 'example.test', 'content-type': 'application/json', 'content-length': '2', 'x-trace': 'a b' },
  );
  assert.deepEqual(h.rawHeaders, [
    'Host',
    'example.test',
    'Content-Type',
    'application/json',
    'Content-Length',
    '2',
    'X-Trace',
    'a b',
  ]);
  assert.equal(h.contentLength, 2);
  assert.equal(h.close, false);
  assert.equal(h.headBytes, bytes.length);
});

test('every method of the subset is read, and no Content-Length means an empty body', () => {
  for (const m of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
    const h = parsed(head(`${m} / HTTP/1.1`, 'host: x'));
    assert.equal(h.method, m);
    assert.equal(h.contentLength, 0);
  }
});

test('an incomplete head is NEED_MORE', () => {
  const full = head(GET, 'host: x', 'content-length: 0');
  for (let n = 0; n < full.length; n++) assert.equal(parseHead(full.subarray(0, n)), NEED_MORE, `first ${n} bytes`);
  parsed(full);
});

test('OWS around a value is trimmed, inner spaces and tabs are kept', () => {
  const h = parsed(head(GET, 'host: \t x \t', 'x-a:\tone\ttwo  three \t', 'x-empty:', 'x-blank:   '));
  assert.equal(h.headers.host, 'x');
  assert.equal(h.headers['x-a'], 'one\ttwo  three');
  assert.equal(h.headers['x-empty'], '');
  assert.equal(h.headers['x-blank'], '');
  assert.deepEqual(h.rawHeaders.slice(0, 4), ['host', 'x', 'x-a', 'one\ttwo  three']);
});

test('Connection: close sets close; Connection: keep-alive does not', () => {
  assert.equal(parsed(head(GET, 'host: x', 'Connection: Close')).close, true);
  assert.equal(parsed(head(GET, 'host: x', 'connection: close')).close, true);
  assert.equal(parsed(head(GET, 'host: x', 'Connection: keep-alive')).close, false);
});

test('HTTP/1.0 (and any other version) is NOT_MINE', () => {
  refused(head('GET /x HTTP/1.0', 'host: x'), 'HTTP/1.0');
  refused(head('GET /x HTTP/2.0', 'host: x'), 'HTTP/2.0');
  refused(head('GET /x http/1.1', 'host: x'), 'lower-case version');
});

test('HEAD, CONNECT and other methods are NOT_MINE', () => {
  refused(head('HEAD /x HTTP/1.1', 'host: x'), 'HEAD');
  refused(head('CONNECT x:443 HTTP/1.1', 'host: x'), 'CONNECT');
  refused(head('OPTIONS * HTTP/1.1', 'host: x'), 'OPTIONS');
  refused(head('get /x HTTP/1.1', 'host: x'), 'lower-case method');
});

test('a target that is not origin-form is NOT_MINE', () => {
  refused(head('GET http://x/y HTTP/1.1', 'host: x'), 'absolute-form');
  refused(head('GET /a b HTTP/1.1', 'host: x'), 'space in the target');
  refused(head('GET /a#frag HTTP/1.1', 'host: x'), 'fragment');
  refused(head('GET  /x HTTP/1.1', 'host: x'), 'two spaces');
});

test('a non-ASCII byte anywhere is NOT_MINE', () => {
  refused(head(GET, 'host: x', 'x-name: caf\u00e9'), 'latin1 é in a value');
  refused(
    Buffer.concat([Buffer.from(`${GET}\r\nhost: x\r\nx-a: `), Buffer.from('日本', 'utf8'), Buffer.from('\r\n\r\n')]),
    'UTF-8 in a value',
  );
  refused(head('GET /caf\u00e9 HTTP/1.1', 'host: x'), 'in the target');
  refused(head(GET, 'host: x', 'x-n\u00e9: 1'), 'in a name');
  refused(head(GET, 'host: x', 'x-a: a\u007fb'), 'DEL in a value');
  refused(head(GET, 'host: x', 'x-a: a\u0000b'), 'NUL in a value');
});

test('obs-fold (a line starting with a space or tab) is NOT_MINE', () => {
  refused(head(GET, 'host: x', 'x-a: one', ' two'), 'space');
  refused(head(GET, 'host: x', 'x-a: one', '\ttwo'), 'tab');
});

test('whitespace before a colon is NOT_MINE', () => {
  refused(head(GET, 'host : x'), 'space');
  refused(head(GET, 'host\t: x'), 'tab');
  refused(head(GET, 'host: x', 'content-length : 5'), 'on content-length');
});

test('a bare LF line ending is NOT_MINE', () => {
  refused(Buffer.from(`${GET}\nhost: x\r\n\r\n`), 'after the request line');
  refused(Buffer.from(`${GET}\r\nhost: x\nx-a: 1\r\n\r\n`), 'after a header');
  refused(Buffer.from(`${GET}\r\nhost: x\rx-a: 1\r\n\r\n`), 'a bare CR');
  assert.equal(parseHead(Buffer.from(`${GET}\nhost: x\n\n`)), NEED_MORE, 'LF only: no CRLFCRLF yet');
});

test('a header name sent twice, in any case, is NOT_MINE', () => {
  refused(head(GET, 'host: x', 'x-a: 1', 'x-a: 2'), 'same case');
  refused(head(GET, 'host: x', 'X-A: 1', 'x-a: 1'), 'other case');
  refused(head(GET, 'Host: x', 'HOST: x'), 'host twice');
  refused(head(GET, 'host: x', 'content-length: 1', 'Content-Length: 1'), 'content-length twice, same value');
});

test('Transfer-Encoding, Expect and Upgrade headers are NOT_MINE', () => {
  refused(head('POST /x HTTP/1.1', 'host: x', 'Transfer-Encoding: chunked'), 'chunked');
  refused(head('POST /x HTTP/1.1', 'host: x', 'transfer-encoding: identity'), 'identity');
  refused(
    head('POST /x HTTP/1.1', 'host: x', 'content-length: 3', 'Transfer-Encoding: chunked'),
    'with content-length',
  );
  refused(head('POST /x HTTP/1.1', 'host: x', 'Expect: 100-continue', 'content-length: 3'), 'expect');
  refused(head(GET, 'host: x', 'Connection: Upgrade', 'Upgrade: websocket'), 'upgrade');
  refused(head(GET, 'host: x', 'Upgrade: h2c'), 'upgrade alone');
});

test('a Content-Length that is not plain decimal is NOT_MINE', () => {
  for (const v of ['-1', '+1', '1.0', '0x10', '1e3', '1,1', '1 1', 'abc', '', '1234567890123456']) {
    refused(head('POST /x HTTP/1.1', 'host: x', `content-length: ${v}`), JSON.stringify(v));
  }
  assert.equal(parsed(head('POST /x HTTP/1.1', 'host: x', 'content-length: 0042')).contentLength, 42);
});

test('a Connection value other than close or keep-alive is NOT_MINE', () => {
  refused(head(GET, 'host: x', 'Connection: upgrade'), 'upgrade');
  refused(head(GET, 'host: x', 'Connection: keep-alive, Upgrade'), 'a list');
  refused(head(GET, 'host: x', 'Connection: x-hop'), 'a hop-by-hop name');
});

test('a head without Host is NOT_MINE', () => {
  refused(head(GET), 'no headers at all');
  refused(head(GET, 'x-host: x', 'content-length: 0'), 'no host');
});

test('a head larger than MAX_HEAD_BYTES is NOT_MINE, complete or not', () => {
  const big = (n: number): Buffer => head(GET, 'host: x', `x-big: ${'a'.repeat(n)}`);
  const fits = big(MAX_HEAD_BYTES - big(0).length);
  assert.equal(fits.length, MAX_HEAD_BYTES);
  parsed(fits);
  refused(big(MAX_HEAD_BYTES - big(0).length + 1), 'one byte over, complete');
  refused(Buffer.from(`${GET}\r\nhost: x\r\nx-big: ${'a'.repeat(MAX_HEAD_BYTES)}`), 'over, no end yet');
});
