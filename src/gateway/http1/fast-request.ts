import type { IncomingHttpHeaders } from 'node:http';
import type { InboundRequest } from '../exchange.ts';
import type { RequestHead } from './request-head.ts';

/** A request on the fast path: its head, and its whole body, already read. */
export class FastRequest implements InboundRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  /** Empty when the request has none. */
  readonly body: Buffer;

  constructor(head: RequestHead, body: Buffer) {
    this.method = head.method;
    this.url = head.url;
    this.headers = head.headers;
    this.rawHeaders = head.rawHeaders;
    this.body = body;
  }
}
