import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { GirderError } from '../errors.ts';
import { newRequestId } from '../ids.ts';

/**
 * Answers written straight to a connection that will carry no more requests: node:http's own
 * refusals (a request it cannot parse, headers too large, a head that does not arrive in time),
 * CONNECT, and the fast path's 408. node:http alone answers these with an empty body; every
 * answer of Girder's is an ErrorResponse.
 */

/** How long a closing connection keeps discarding what the client still sends (see lingerClose). */
const LINGER_MS = 2_000;
const lingering = new WeakSet<Duplex>();
const noop = (): void => {};

/**
 * A whole HTTP/1.1 answer carrying `err` as an ErrorResponse, with `connection: close`.
 *
 * @example
 *   socket.write(rawErrorAnswer(new GirderError('client_error', 'Bad request.', 'Fix it.')));
 */
export function rawErrorAnswer(err: GirderError): string {
  const body = JSON.stringify(err.toJSON());
  return (
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\n` +
    'connection: close\r\ncontent-type: application/json\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    `x-baseten-request-id: ${newRequestId()}\r\nx-girder-error-reason: ${err.reason}\r\n\r\n${body}`
  );
}

/**
 * Ends a connection after its last answer without losing that answer: closing a socket while the
 * client is still sending makes the kernel send a reset, which can wipe the answer from the client's
 * buffers before it is read (RFC 9112 §9.6). So our side ends, what still arrives is discarded, and
 * the socket goes at the client's own end or after LINGER_MS, whichever comes first.
 *
 * @example
 *   socket.write(rawErrorAnswer(err));
 *   lingerClose(socket);
 */
export function lingerClose(socket: Duplex): void {
  if (socket.destroyed || lingering.has(socket)) return;
  lingering.add(socket);
  socket.on('error', noop);
  const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('end', () => socket.destroy());
  socket.end();
  socket.resume();
}

/**
 * Makes the answer under way the connection's last (`connection: close`), ended by lingerClose
 * rather than node:http's immediate close: for a request whose body is still coming.
 *
 * @example
 *   closeAfterAnswer(res);
 *   sendJson(res, 401, err.toJSON());
 */
export function closeAfterAnswer(res: ServerResponse): void {
  if (res.headersSent) return;
  res.setHeader('connection', 'close');
  const socket = res.socket;
  // node:http ends a `connection: close` answer with destroySoon(): closed as soon as written.
  if (socket) socket.destroySoon = () => lingerClose(socket);
}

/**
 * Whether lingerClose took this connection: nothing more is to be written to it.
 *
 * @example
 *   if (isLingering(req.socket)) return; // a request parsed from what a closing connection discards
 */
export const isLingering = (socket: Duplex): boolean => lingering.has(socket);

/** node:http's parse errors (llhttp's HPE_* codes) and timeouts, as the ErrorResponse they deserve. */
function clientErrorOf(err: NodeJS.ErrnoException & { reason?: string }, headersTimeoutMs: number): GirderError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new GirderError(
        'client_error',
        'The request head is too large.',
        'Send fewer or smaller headers: the head may be at most 16 KiB.',
        { status: 431 },
      );
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new GirderError(
        'payload_too_large',
        'The chunk extensions of the request body are too large.',
        'Send the body without chunk extensions.',
      );
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new GirderError(
        'client_error',
        'The request head did not arrive in time.',
        `Send the whole head of a request within ${headersTimeoutMs / 1000} s (\`girder serve --headers-timeout\`).`,
        { status: 408 },
      );
    default:
      return new GirderError(
        'client_error',
        `Malformed HTTP request${err.reason ? `: ${err.reason}` : ''}.`,
        'Send a valid HTTP/1.1 request (RFC 9112), such as an HTTP client library makes.',
      );
  }
}

/**
 * node:http's 'clientError' handler: answers with an ErrorResponse where node:http would answer
 * an empty 400, 408, 413 or 431, then closes the connection. A connection already gone, or whose
 * answer has started, is only destroyed: writing to it would corrupt that answer.
 *
 * @example
 *   http.on('clientError', clientErrorHandler(60_000));
 */
export function clientErrorHandler(headersTimeoutMs: number): (err: Error, socket: Duplex) => void {
  return (err, socket) => {
    // What lingerClose discards still reaches the parser, which fails on it again: answered already.
    if (lingering.has(socket)) return;
    const pending = (socket as Socket & { _httpMessage?: { headersSent: boolean } })._httpMessage;
    if ((err as NodeJS.ErrnoException).code === 'ECONNRESET' || !socket.writable || pending?.headersSent) {
      socket.destroy();
      return;
    }
    socket.write(rawErrorAnswer(clientErrorOf(err, headersTimeoutMs)));
    lingerClose(socket);
  };
}

/**
 * node:http's 'connect' handler: Girder is no proxy, and without this node:http drops a CONNECT
 * without a word.
 *
 * @example
 *   http.on('connect', refuseConnect);
 */
export function refuseConnect(req: IncomingMessage, socket: Duplex): void {
  socket.write(
    rawErrorAnswer(
      new GirderError(
        'client_error',
        `CONNECT ${req.url} is not served: Girder is not a proxy.`,
        'Send the request itself.',
        {
          status: 405,
        },
      ),
    ),
  );
  lingerClose(socket);
}
