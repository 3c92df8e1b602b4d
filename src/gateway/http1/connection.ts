import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { FastRequest } from './fast-request.ts';
import { FastResponse, type ResponseOwner } from './fast-response.ts';
import { MAX_HEAD_BYTES, NEED_MORE, NOT_MINE, parseHead } from './request-head.ts';

/**
 * Serves one fast request, or declines it (returns false) before writing anything; a declined
 * request goes to node:http with the rest of the connection.
 */
export type FastServe = (req: FastRequest, res: FastResponse) => boolean;

/** What a connection needs of the front door. */
export interface Door {
  readonly serve: FastServe;
  /** Where connections go when the fast path declines a request. */
  readonly http: HttpServer;
  /** Larger bodies go to node:http, which streams them. */
  readonly maxBody: number;
  readonly keepAliveLines: string;
  /** The whole 408 answer to a request that did not arrive in time (an ErrorResponse). */
  timeoutAnswer(): string;
  forget(conn: FastConnection): void;
}

const noop = (): void => {};

/**
 * One client connection on the fast path. Requests are read and answered in order, one at a time
 * (pipelined ones wait in the buffer). The first request the fast path does not serve hands the
 * socket, with every byte not yet answered, to node:http, which keeps it from then on.
 */
export class FastConnection implements ResponseOwner {
  readonly socket: Socket;
  readonly #door: Door;
  /** Bytes received and not yet answered: the start of the next request. */
  #buf: Buffer | undefined;
  #current: FastResponse | undefined;
  #closing = false;
  /** When the request now arriving started to arrive (0: none), for the front door's timeout sweep. */
  arrivingSince = 0;
  /** When the connection last became idle, for the keep-alive sweep. */
  idleSince = Date.now();

  constructor(socket: Socket, door: Door) {
    this.socket = socket;
    this.#door = door;
    socket.on('data', this.#onData);
    socket.on('drain', this.#onDrain);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onClose);
    socket.on('error', noop); // 'close' follows, and is handled there
  }

  get keepAliveLines(): string {
    return this.#door.keepAliveLines;
  }

  /** No request is in flight or arriving. */
  get idle(): boolean {
    return this.#current === undefined && this.#buf === undefined;
  }

  #onData = (chunk: Buffer): void => {
    if (this.#closing) return;
    this.#buf = this.#buf === undefined ? chunk : Buffer.concat([this.#buf, chunk]);
    if (this.#current === undefined) this.#next();
    // Pipelined requests wait; past what one request may hold, stop reading until the answer is out.
    else if (this.#buf.length > this.#door.maxBody + MAX_HEAD_BYTES) this.socket.pause();
  };

  #onDrain = (): void => {
    this.#current?.emit('drain');
  };

  /**
   * The client sent FIN. As node:http does by default (httpAllowHalfOpen false), that is the client
   * leaving: our side ends too, and the 'close' that follows aborts a call in flight.
   */
  #onEnd = (): void => {
    this.#closing = true;
    this.#buf = undefined;
    this.socket.end();
  };

  #onClose = (): void => {
    this.#door.forget(this);
    const res = this.#current;
    this.#current = undefined;
    this.#buf = undefined;
    if (res && !res.writableFinished) res.emit('close');
  };

  /** Serves the requests complete in the buffer, until one is in flight. Safe to call at any time. */
  #next = (): void => {
    while (this.#buf !== undefined && this.#current === undefined && !this.#closing) {
      const buf = this.#buf;
      const head = parseHead(buf);
      if (head === NEED_MORE) {
        this.arrivingSince ||= Date.now();
        return;
      }
      if (head === NOT_MINE || head.contentLength > this.#door.maxBody) {
        this.#handOff();
        return;
      }
      const total = head.headBytes + head.contentLength;
      if (buf.length < total) {
        this.arrivingSince ||= Date.now();
        return;
      }
      this.arrivingSince = 0;
      this.#buf = total < buf.length ? buf.subarray(total) : undefined;
      const res = new FastResponse(this, head.close);
      this.#current = res;
      if (!this.#door.serve(new FastRequest(head, buf.subarray(head.headBytes, total)), res)) {
        this.#current = undefined;
        this.#buf = buf;
        this.#handOff();
        return;
      }
    }
  };

  responseEnded(res: FastResponse): void {
    if (res !== this.#current) return;
    this.#current = undefined;
    this.idleSince = Date.now();
    if (res.closes) {
      this.#closing = true;
      this.#buf = undefined;
      this.socket.end();
      return;
    }
    if (this.socket.isPaused()) this.socket.resume();
    // Not now: the caller is still inside end(), and may release the slot this request held.
    if (this.#buf !== undefined) queueMicrotask(this.#next);
  }

  /**
   * Gives the socket to node:http: it gets the connection event as if it had accepted the socket, and
   * reads the unanswered bytes first (the documented way to hand over a sniffed connection).
   */
  #handOff(): void {
    const s = this.socket;
    s.off('data', this.#onData);
    s.off('drain', this.#onDrain);
    s.off('end', this.#onEnd);
    s.off('close', this.#onClose);
    s.off('error', noop);
    this.#door.forget(this);
    s.pause();
    this.#door.http.emit('connection', s);
    if (this.#buf !== undefined) s.unshift(this.#buf);
    this.#buf = undefined;
    s.resume();
  }

  /** Ends a connection stuck mid-request (with 408, as node:http does) or idle too long. */
  expire(requestTimedOut: boolean): void {
    this.#closing = true;
    this.#buf = undefined;
    // The 408 is small: it reaches the kernel before the socket is destroyed.
    if (requestTimedOut && this.#current === undefined) this.socket.write(this.#door.timeoutAnswer());
    this.socket.destroy();
  }
}
