import type { IncomingHttpHeaders } from 'node:http';

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
