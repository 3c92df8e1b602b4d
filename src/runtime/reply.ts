import type { OutgoingHttpHeaders } from 'node:http';

/**
 * Where a call to a replica writes its answer: node:http's ServerResponse fits, so do the gateway's
 * fast-path FastResponse (gateway/http1/fast-response.ts) and BufferedReply (an answer kept in
 * memory, for async requests). As with ServerResponse, the head waits for the first body write,
 * `end()` or `flushHeaders()`.
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
