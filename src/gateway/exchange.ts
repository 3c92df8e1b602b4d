import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * What the sync inference path reads of a request. node:http's IncomingMessage fits, and so does the
 * fast path's FastRequest (http1/fast-request.ts), whose body has already been read.
 */
export interface InboundRequest {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
}

/**
 * What the gateway does to a response: node:http's ServerResponse fits, and so does the fast path's
 * FastResponse (http1/fast-response.ts). As with ServerResponse, the head waits for the first body
 * write, `end()` or `flushHeaders()`.
 */
export interface Reply {
  readonly headersSent: boolean;
  /** `end()` was called: a later close of the connection is not the client leaving. */
  readonly writableFinished: boolean;
  writeHead(status: number, headers: OutgoingHttpHeaders | (string | string[])[]): unknown;
  setHeader(name: string, value: string): unknown;
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer | string): unknown;
  flushHeaders(): void;
  /** Ends the connection at once (a stream that fails midway just stops). */
  destroy(): unknown;
  /** 'close': the connection closed; 'drain': writes may go on. */
  on(event: 'close' | 'drain', listener: () => void): unknown;
  once(event: 'close' | 'drain', listener: () => void): unknown;
  off(event: 'close' | 'drain', listener: () => void): unknown;
}
