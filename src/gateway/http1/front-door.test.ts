import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastRequest } from './fast-request.ts';
import type { FastResponse } from './fast-response.ts';
import { FrontDoor } from './front-door.ts';

const MAX_BODY = 64;

const nodeHandler: RequestListener = (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => res.end(`node:${req.method} ${req.url} body=${Buffer.concat(chunks)}`));
};

const holds: Array<(res: FastResponse) => void> = [];
/** The next `/fast/hold` response, left pending for the test to end. */
const nextHold = (): Promise<FastResponse> => new Promise((resolve) => holds.push(resolve));

/** Serves `/fast…` only; `/fast/hold` waits for the test, `/fast/later` answers on a later turn. */
function serve(req: FastRequest, res: FastResponse): boolean {
  if (!req.url.startsWith('/fast')) return false;
  const answer = `fast:${req.method} ${req.url} body=${req.body}`;
  if (req.url === '/fast/hold') holds.shift()!(res);
  else if (req.url === '/fast/later') setImmediate(() => res.end(answer));
  else if (req.url === '/fast/204') res.writeHead(204, {}).end();
  else if (req.url === '/fast/closing') res.setHeader('connection', 'close').writeHead(413, {}).end('too big');
  else if (req.url === '/fast/dated') res.writeHead(200, ['date', 'Tue, 01 Jan 2030 00:00:00 GMT']).end('d');
  else if (req.url === '/fast/chunked') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write(Buffer.from('ab'));
    res.write(Buffer.from('cde'));
    res.end();
  } else res.end(answer);
  return true;
}

async function startDoor(keepAliveTimeoutMs: number, headersTimeoutMs: number): Promise<FrontDoor> {
  const d = new FrontDoor(createServer(nodeHandler), serve, {
    keepAliveTimeoutMs,
    headersTimeoutMs,
    maxBody: MAX_BODY,
  });
  await d.listen(0, '127.0.0.1');
  after(() => {
    d.close();
    d.closeAllConnections();
  });
  return d;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The complete HTTP/1.1 answers at the start of `text` (Content-Length, chunked or no body). */
function parseAnswers(text: string): Answer[] {
  const out: Answer[] = [];
  for (let at = 0; ; ) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end < 0) return out;
    const [statusLine, ...lines] = text.slice(at, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const l of lines) headers[l.split(':', 1)[0].toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
    let [p, body] = [end + 4, ''];
    if (headers['transfer-encoding'] === 'chunked') {
      for (let n = -1; n !== 0; p += n + 2) {
        const e = text.indexOf('\r\n', p);
        if (e < 0) return out;
        n = parseInt(text.slice(p, e), 16);
        if (text.length < e + 2 + n + 2) return out;
        body += text.slice(e + 2, e + 2 + n);
        p = e + 2;
      }
    } else {
      const n = Number(headers['content-length'] ?? 0);
      if (text.length < p + n) return out;
      body = text.slice(p, p + n);
      p += n;
    }
    out.push({ status: Number(statusLine.split(' ')[1]), headers, body });
    at = p;
  }
}

/** A raw client: `text()` is all it received; `answers(n)` waits for n answers (rejects if it closes first). */
interface Raw {
  socket: Socket;
  text(): string;
  answers(n: number): Promise<Answer[]>;
  closed: Promise<void>;
  isClosed(): boolean;
}

async function raw(d: FrontDoor, allowHalfOpen = false): Promise<Raw> {
  const socket = connect({ port: d.address().port, host: '127.0.0.1', allowHalfOpen, noDelay: true });
  after(() => socket.destroy());
  socket.on('error', () => {}); // 'close' follows
  await once(socket, 'connect');
  let [text, isClosed] = ['', false];
  const checks = new Set<() => void>();
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => {
    text += d;
    for (const c of checks) c();
  });
  const closed = new Promise<void>((resolve) =>
    socket.on('close', () => {
      isClosed = true;
      for (const c of checks) c();
      resolve();
    }),
  );
  const answers = (n: number): Promise<Answer[]> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const got = parseAnswers(text);
        if (got.length >= n || isClosed) checks.delete(check);
        if (got.length >= n) resolve(got);
        else if (isClosed) reject(new Error(`closed after ${got.length} answers: ${JSON.stringify(text)}`));
      };
      checks.add(check);
      check();
    });
  return { socket, text: () => text, answers, closed, isClosed: () => isClosed };
}

const get = (url: string, extra = ''): string => `GET ${url} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
const post = (url: string, body: string): string =>
  `POST ${url} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

/** A raw client whose `/fast/hold` request is in flight, and its pending response. */
async function pending(
  d: FrontDoor,
  send: (s: Socket) => void = (s) => s.write(get('/fast/hold')),
): Promise<{ c: Raw; res: FastResponse }> {
  const c = await raw(d);
  const held = nextHold();
  send(c.socket);
  return { c, res: await held };
}

const door = await startDoor(5000, 5000);
const quick = await startDoor(300, 300);

test('a fast request gets content-length, date and keep-alive, and the connection stays open', async () => {
  const c = await raw(door);
  c.socket.write(get('/fast/a'));
  const [a] = await c.answers(1);
  assert.equal(a.status, 200);
  assert.equal(a.body, 'fast:GET /fast/a body=');
  assert.equal(a.headers['content-length'], String(a.body.length));
  assert.equal(new Date(a.headers.date).toUTCString(), a.headers.date);
  assert.equal(a.headers.connection, 'keep-alive');
  assert.equal(a.headers['keep-alive'], 'timeout=5');
  assert.equal(a.headers['transfer-encoding'], undefined);
  c.socket.write(post('/fast/b', 'abc'));
  const [, b] = await c.answers(2);
  assert.equal(b.body, 'fast:POST /fast/b body=abc');
  assert.equal(c.isClosed(), false);
});

test('after a declined request node:http keeps the connection and answers everything on it', async () => {
  const c = await raw(door);
  c.socket.write(get('/fast/1'));
  await c.answers(1);
  c.socket.write(post('/other', 'xy'));
  await c.answers(2);
  c.socket.write(get('/fast/3'));
  const got = await c.answers(3);
  assert.deepEqual(
    got.map((a) => a.body),
    ['fast:GET /fast/1 body=', 'node:POST /other body=xy', 'node:GET /fast/3 body='],
  );
  assert.deepEqual(
    got.map((a) => a.status),
    [200, 200, 200],
  );
});

test('pipelined requests sent in one write are answered in order', async () => {
  const c = await raw(door);
  c.socket.write(
    get('/fast/1') + post('/fast/later', 'b2') + get('/fast/3') + post('/declined', 'b4') + get('/fast/5'),
  );
  const got = await c.answers(5);
  assert.deepEqual(
    got.map((a) => a.body),
    [
      'fast:GET /fast/1 body=',
      'fast:POST /fast/later body=b2',
      'fast:GET /fast/3 body=',
      'node:POST /declined body=b4',
      'node:GET /fast/5 body=',
    ],
  );
});

test('a head and body arriving a few bytes at a time are still served', async () => {
  const c = await raw(door);
  for (const [i, req] of [post('/fast/t', 'hello body'), post('/fast/t', 'again')].entries()) {
    for (let at = 0; at < req.length; at += 3) {
      c.socket.write(req.slice(at, at + 3));
      await sleep(2);
    }
    assert.equal((await c.answers(i + 1))[i].body, `fast:POST /fast/t body=${i ? 'again' : 'hello body'}`);
  }
});

test('a head the strict reader refuses (space before a colon) reaches node:http, which answers 400', async () => {
  const c = await raw(door);
  c.socket.write('GET /fast/a HTTP/1.1\r\nHost : x\r\n\r\n');
  await c.closed;
  assert.match(c.text(), /^HTTP\/1\.1 400 /);
});

test('a chunked request body reaches node:http, which reads it', async () => {
  const c = await raw(door);
  c.socket.write(
    'POST /fast/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n',
  );
  const [a] = await c.answers(1);
  assert.equal(a.body, 'node:POST /fast/a body=abcde');
});

test('a body up to maxBody is served fast, a larger one goes to node:http', async () => {
  const c = await raw(door);
  c.socket.write(post('/fast/a', 'a'.repeat(MAX_BODY)));
  await c.answers(1);
  c.socket.write(post('/fast/a', 'b'.repeat(MAX_BODY + 1)));
  const [a, b] = await c.answers(2);
  assert.equal(a.body, `fast:POST /fast/a body=${'a'.repeat(MAX_BODY)}`);
  assert.equal(b.body, `node:POST /fast/a body=${'b'.repeat(MAX_BODY + 1)}`);
});

test('Connection: close from the client: the answer says so and the server closes the socket', async () => {
  const c = await raw(door);
  c.socket.write(get('/fast/later', 'Connection: close\r\n') + get('/fast/never'));
  await c.closed;
  const got = parseAnswers(c.text());
  assert.equal(got.length, 1);
  assert.equal(got[0].body, 'fast:GET /fast/later body=');
  assert.equal(got[0].headers.connection, 'close');
  assert.equal(got[0].headers['keep-alive'], undefined);
});

// The gateway does this with a 413, whose unread body must not be taken for the next request.
test("setHeader('connection', 'close') before the answer: it says so and the server closes the socket", async () => {
  const c = await raw(door);
  c.socket.write(get('/fast/closing') + get('/fast/never'));
  await c.closed;
  const got = parseAnswers(c.text());
  assert.equal(got.length, 1);
  assert.equal(got[0].status, 413);
  assert.equal(got[0].body, 'too big');
  assert.equal(got[0].headers.connection, 'close');
});

// As node:http by default (httpAllowHalfOpen false): a FIN is the client leaving, even right after its request.
test('a client that half-closes right after its request is taken as gone: the pending response emits close', async () => {
  const { c, res } = await pending(door, (s) => s.end(get('/fast/hold')));
  await once(res, 'close');
  assert.equal(res.writableFinished, false);
  await c.closed;
  assert.equal(c.text(), '');
});

test('an answer of unknown length is sent chunked; end(body) alone gets a content-length', async () => {
  const c = await raw(door);
  c.socket.write(get('/fast/chunked'));
  const [a] = await c.answers(1);
  assert.equal(a.headers['transfer-encoding'], 'chunked');
  assert.equal(a.headers['content-length'], undefined);
  assert.equal(a.headers['content-type'], 'text/plain');
  assert.equal(a.body, 'abcde');
  assert.ok(c.text().endsWith('\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n'), c.text());
  c.socket.write(get('/fast/a'));
  const [, b] = await c.answers(2);
  assert.equal(b.headers['transfer-encoding'], undefined);
  assert.equal(b.headers['content-length'], String(b.body.length));
});

test('an answer that brings its own date header gets no second one', async () => {
  const c = await raw(door);
  c.socket.write(get('/fast/dated'));
  const [a] = await c.answers(1);
  assert.equal(a.headers.date, 'Tue, 01 Jan 2030 00:00:00 GMT');
  assert.equal(c.text().match(/^date:/gim)?.length, 1, c.text());
});

test('a 204 answer has no body and no framing header, and the next request is served', async () => {
  const c = await raw(door);
  c.socket.write(get('/fast/204'));
  const [a] = await c.answers(1);
  assert.equal(a.status, 204);
  assert.equal(a.headers['content-length'], undefined);
  assert.equal(a.headers['transfer-encoding'], undefined);
  c.socket.write(get('/fast/a'));
  const [, b] = await c.answers(2);
  assert.equal(b.body, 'fast:GET /fast/a body=');
  assert.match(c.text(), /\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
});

test('a client that disconnects while its answer is pending: the response emits close', async () => {
  const { c, res } = await pending(door);
  const closed = once(res, 'close');
  c.socket.destroy();
  await closed;
  assert.equal(res.writableFinished, false);
});

test('a client that resets while its answer is pending: the response emits close', async () => {
  const { c, res } = await pending(door);
  const closed = once(res, 'close');
  c.socket.resetAndDestroy();
  await closed;
});

test('a head that stalls gets 408 and the socket closes', async () => {
  const c = await raw(quick);
  c.socket.write('GET /fast/a HTTP/1.1\r\nHo');
  await c.closed;
  assert.match(c.text(), /^HTTP\/1\.1 408 Request Timeout\r\n/);
  assert.equal(parseAnswers(c.text()).length, 1);
});

test('a stalled client that keeps its side open is still disconnected after the 408', async () => {
  const c = await raw(quick, true);
  c.socket.write('GET /fast/a HTTP/1.1\r\nHo');
  await once(c.socket, 'end');
  assert.match(c.text(), /^HTTP\/1\.1 408 /);
  // The server's socket is gone, not just half-closed: what the client sends is refused (a reset,
  // which the client sees on its next write).
  const writes = setInterval(() => c.socket.write('x'), 20);
  await c.closed;
  clearInterval(writes);
  assert.equal(parseAnswers(c.text()).length, 1);
});

test('a body that stalls gets 408 and the socket closes', async () => {
  const c = await raw(quick);
  c.socket.write(`POST /fast/a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc`);
  await c.closed;
  assert.match(c.text(), /^HTTP\/1\.1 408 /);
});

test('an idle keep-alive connection is closed after keepAliveTimeoutMs', async () => {
  const c = await raw(quick);
  c.socket.write(get('/fast/a'));
  const [a] = await c.answers(1);
  assert.equal(a.headers.connection, 'keep-alive');
  await c.closed;
  assert.equal(parseAnswers(c.text()).length, 1);
  assert.ok(c.text().endsWith(a.body), 'nothing after the answer');
  const fresh = await raw(quick);
  await fresh.closed;
  assert.equal(fresh.text(), '');
});

test('closeIdleConnections() closes idle connections but not one whose answer is pending', async () => {
  const idle = await raw(door);
  idle.socket.write(get('/fast/a'));
  await idle.answers(1);
  const handedOver = await raw(door);
  handedOver.socket.write(get('/declined'));
  await handedOver.answers(1);
  const { c: busy, res } = await pending(door);
  door.closeIdleConnections();
  await idle.closed;
  await handedOver.closed;
  assert.equal(busy.isClosed(), false);
  res.end('late');
  const [a] = await busy.answers(1);
  assert.equal(a.body, 'late');
});
