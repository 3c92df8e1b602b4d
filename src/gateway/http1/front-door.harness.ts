/**
 * What the front door's tests share: a FrontDoor whose fast path serves `/fast…` (node:http answers
 * everything else, echoing what it read), and a raw TCP client that reads the answers back.
 * The tests are split by what they check: front-door.test.ts (the fast path's answers, keep-alive,
 * pipelining, Connection: close), front-door.handover.test.ts (hand-over to node:http) and
 * front-door.closing.test.ts (clients that leave, timeouts, closeIdleConnections).
 */
import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after } from 'node:test';
import type { FastRequest } from './fast-request.ts';
import type { FastResponse } from './fast-response.ts';
import { FrontDoor } from './front-door.ts';

export const MAX_BODY = 64;

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

export async function startDoor(keepAliveTimeoutMs: number, headersTimeoutMs: number): Promise<FrontDoor> {
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

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The complete HTTP/1.1 answers at the start of `text` (Content-Length, chunked or no body). */
export function parseAnswers(text: string): Answer[] {
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
export interface Raw {
  socket: Socket;
  text(): string;
  answers(n: number): Promise<Answer[]>;
  closed: Promise<void>;
  isClosed(): boolean;
}

export async function raw(d: FrontDoor, allowHalfOpen = false): Promise<Raw> {
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

export const get = (url: string, extra = ''): string => `GET ${url} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
export const post = (url: string, body: string): string =>
  `POST ${url} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

/** A raw client whose `/fast/hold` request is in flight, and its pending response. */
export async function pending(
  d: FrontDoor,
  send: (s: Socket) => void = (s) => s.write(get('/fast/hold')),
): Promise<{ c: Raw; res: FastResponse }> {
  const c = await raw(d);
  const held = nextHold();
  send(c.socket);
  return { c, res: await held };
}
