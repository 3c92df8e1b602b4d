import type { Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { GirderError } from '../../errors.ts';
import { rawErrorAnswer } from '../refusals.ts';
import { FastConnection, type Door, type FastServe } from './connection.ts';

export interface FrontDoorOptions {
  /** An idle keep-alive connection closes after this long (as node:http's keepAliveTimeout). */
  keepAliveTimeoutMs: number;
  /** A request whose head and body have not all arrived after this long gets 408 (as node:http's headersTimeout). */
  headersTimeoutMs: number;
  /** The largest body the fast path reads whole; larger ones go to node:http, which streams them. */
  maxBody: number;
}

/**
 * The listening socket. node:http costs about 20 µs of CPU per request on its own, more than half of
 * what a proxied call costs, so the requests that carry the traffic (sync calls to a model, see
 * server.ts) are read and answered here, on the raw socket: a strict head reader (request-head.ts),
 * the whole body, and the answer written in one go. Everything else (management, async, large or
 * chunked uploads, anything unusual) goes to a node:http server, connection and all, the first time
 * it shows up on a connection.
 */
export class FrontDoor implements Door {
  readonly http: HttpServer;
  readonly serve: FastServe;
  readonly maxBody: number;
  readonly keepAliveLines: string;
  readonly #net: NetServer;
  readonly #conns = new Set<FastConnection>();
  readonly #options: FrontDoorOptions;
  #sweep: NodeJS.Timeout | undefined;

  constructor(http: HttpServer, serve: FastServe, options: FrontDoorOptions) {
    this.http = http;
    this.serve = serve;
    this.maxBody = options.maxBody;
    this.#options = options;
    this.keepAliveLines = `connection: keep-alive\r\nkeep-alive: timeout=${Math.floor(options.keepAliveTimeoutMs / 1000)}\r\n`;
    // As node:http's own listener: half-open sockets (a client may send FIN after its request), no Nagle.
    this.#net = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      this.#conns.add(new FastConnection(socket, this));
    });
  }

  /** Starts listening; rejects if the port cannot be bound. */
  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#net.once('error', reject);
      this.#net.listen(port, host, () => {
        this.#net.off('error', reject);
        // node:http starts tracking its connections (for its timeouts and closeAllConnections) on
        // 'listening'; it never listens itself, as its connections come from here.
        this.http.emit('listening');
        this.#sweep = setInterval(this.#expire, 1000).unref();
        resolve();
      });
    });
  }

  address(): AddressInfo {
    return this.#net.address() as AddressInfo;
  }

  timeoutAnswer(): string {
    return rawErrorAnswer(
      new GirderError(
        'client_error',
        'The request did not arrive in time.',
        `Send the whole request within ${this.#options.headersTimeoutMs / 1000} s of its start (\`girder serve --headers-timeout\`).`,
        { status: 408 },
      ),
    );
  }

  forget(conn: FastConnection): void {
    this.#conns.delete(conn);
  }

  /** Ends connections stuck mid-request or idle past the keep-alive timeout. */
  #expire = (): void => {
    const now = Date.now();
    for (const c of this.#conns) {
      if (c.arrivingSince && now - c.arrivingSince > this.#options.headersTimeoutMs) c.expire(true);
      else if (c.idle && now - c.idleSince > this.#options.keepAliveTimeoutMs) c.expire(false);
    }
  };

  /** Stops accepting connections; open ones stay until closed below. */
  close(): void {
    clearInterval(this.#sweep);
    this.#net.close();
    this.http.close();
  }

  closeIdleConnections(): void {
    for (const c of this.#conns) if (c.idle) c.socket.destroy();
    this.http.closeIdleConnections();
  }

  closeAllConnections(): void {
    for (const c of this.#conns) c.socket.destroy();
    this.http.closeAllConnections();
  }
}
