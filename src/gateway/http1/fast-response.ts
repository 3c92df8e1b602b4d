import { EventEmitter } from 'node:events';
import { STATUS_CODES, type OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Reply } from '../../runtime/reply.ts';

/** What a response needs of its connection (connection.ts). */
export interface ResponseOwner {
  readonly socket: Socket;
  /** `connection: keep-alive` and `keep-alive: timeout=…` lines, as node:http sends them. */
  readonly keepAliveLines: string;
  responseEnded(res: FastResponse): void;
}

// A CR, LF or NUL in a value would split the head: node:http refuses those too.
const BAD_VALUE = /[\r\n\0]/;

const SMALL_ANSWER = 1024;

let dateLine = '';
let dateUntil = 0;

/** `date: …\r\n`, rebuilt at most once a second (node:http keeps the same cache). */
function currentDateLine(): string {
  const now = Date.now();
  if (now >= dateUntil) {
    dateLine = `date: ${new Date(now).toUTCString()}\r\n`;
    dateUntil = now - (now % 1000) + 1000;
  }
  return dateLine;
}

/**
 * A response on the fast path, written as HTTP/1.1 straight to the socket. It behaves as node's
 * ServerResponse does for what the gateway uses (see Reply): the head waits for the first write, a
 * body given whole to `end()` gets a Content-Length, a body of unknown length is sent chunked, and
 * 204, 304 and 1xx answers carry no body. Everything of one call leaves in one write (cork/uncork).
 *
 * It emits 'close' only when the connection closes before `end()` (the client left, or the gateway
 * destroyed it), and 'drain' when a write that returned false may go on.
 */
export class FastResponse extends EventEmitter implements Reply {
  headersSent = false;
  writableFinished = false;
  /** The connection closes after this response (the client asked, or setHeader('connection', 'close')). */
  closes: boolean;
  readonly #owner: ResponseOwner;
  /** Status line and headers (no framing, no blank line), from writeHead. */
  #head = '';
  #extra = '';
  #hasLength = false;
  /** The answer brings its own Date (a replica's): node:http then adds none either. */
  #hasDate = false;
  #noBody = false;
  #chunked = false;

  constructor(owner: ResponseOwner, closes: boolean) {
    super();
    this.#owner = owner;
    this.closes = closes;
  }

  setHeader(name: string, value: string): this {
    if (name.toLowerCase() === 'connection') this.closes ||= value.toLowerCase() === 'close';
    else this.#extra += this.#line(name, value);
    return this;
  }

  writeHead(status: number, headers: OutgoingHttpHeaders | (string | string[])[]): this {
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n${this.#extra}`;
    if (Array.isArray(headers)) {
      for (let i = 0; i < headers.length; i += 2) head += this.#line(headers[i] as string, headers[i + 1]);
    } else {
      for (const name in headers) {
        const v = headers[name];
        if (v !== undefined) head += this.#line(name, v);
      }
    }
    this.#head = head;
    this.#noBody = status === 204 || status === 304 || status < 200;
    return this;
  }

  #line(name: string, value: string | number | readonly string[]): string {
    if (name.length === 14 && name.toLowerCase() === 'content-length') this.#hasLength = true;
    else if (name.length === 4 && name.toLowerCase() === 'date') this.#hasDate = true;
    if (typeof value === 'number') return `${name}: ${value}\r\n`;
    if (typeof value === 'string') {
      if (BAD_VALUE.test(value)) throw new TypeError(`Invalid character in header "${name}".`);
      return `${name}: ${value}\r\n`;
    }
    let lines = '';
    for (const v of value) lines += this.#line(name, v);
    return lines;
  }

  /** The head as it leaves: with date, connection and framing. `length` is the whole body's, or -1 if unknown. */
  #headText(length: number): string {
    if (this.#head === '') this.writeHead(200, []);
    let framing = '';
    if (!this.#noBody && !this.#hasLength) {
      if (length >= 0) framing = `content-length: ${length}\r\n`;
      else {
        this.#chunked = true;
        framing = 'transfer-encoding: chunked\r\n';
      }
    }
    this.headersSent = true;
    return `${this.#head}${this.#hasDate ? '' : currentDateLine()}${this.closes ? 'connection: close\r\n' : this.#owner.keepAliveLines}${framing}\r\n`;
  }

  flushHeaders(): void {
    if (!this.headersSent) this.#owner.socket.write(this.#headText(-1), 'latin1');
  }

  write(chunk: Buffer): boolean {
    if (this.writableFinished) return false;
    const s = this.#owner.socket;
    s.cork();
    if (!this.headersSent) s.write(this.#headText(-1), 'latin1');
    const ok = this.#body(s, chunk);
    s.uncork();
    return ok;
  }

  #body(s: Socket, chunk: Buffer): boolean {
    if (this.#noBody || chunk.length === 0) return true;
    if (!this.#chunked) return s.write(chunk);
    s.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
    s.write(chunk);
    return s.write('\r\n', 'latin1');
  }

  end(chunk?: Buffer | string): this {
    if (this.writableFinished) return this;
    this.writableFinished = true;
    const body = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const s = this.#owner.socket;
    // A whole small answer leaves as one string: one plain write costs about 2 µs less per request
    // than cork, two writes and a writev (bench/proxy). latin1 keeps the body's bytes as they are.
    if (!this.headersSent && (body === undefined || body.length <= SMALL_ANSWER || this.#noBody)) {
      const head = this.#headText(body?.length ?? 0);
      s.write(body && !this.#noBody ? head + body.toString('latin1') : head, 'latin1');
      this.#owner.responseEnded(this);
      return this;
    }
    s.cork();
    if (!this.headersSent) s.write(this.#headText(body?.length ?? 0), 'latin1');
    if (body) this.#body(s, body);
    if (this.#chunked) s.write('0\r\n\r\n', 'latin1');
    s.uncork();
    this.#owner.responseEnded(this);
    return this;
  }

  destroy(): this {
    this.#owner.socket.destroy();
    return this;
  }
}
