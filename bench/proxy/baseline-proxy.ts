/**
 * A minimal Node reverse proxy, for comparison with Girder's request path: a node:http server that
 * forwards every request to one upstream through an undici Pool (the same pool settings Girder's
 * replicas use, see src/runtime/replica.ts) with Pool.stream, streaming both bodies: the least a Node
 * proxy with undici does. Girder itself (src/gateway/proxy.ts) calls Pool.dispatch with a handler of
 * its own, reads a small request body before sending it, and holds the answer's head and body back
 * until the end of the tick so that head, body and end leave in one write; the gap between this
 * baseline and Girder includes all of that as well as routing, auth and slots.
 *
 * Without flags it does the least a streaming proxy can do. Each flag adds one piece of per-request
 * work, so that its cost can be measured alone:
 *   --flush-headers   res.flushHeaders() right after writeHead, so that the head leaves in a write of
 *                     its own (Girder only flushes the head of a stream whose body has not started by
 *                     the end of the tick)
 *   --signal          an AbortController, a setTimeout deadline and a res 'close' listener per request,
 *                     the signal passed to undici (Girder keeps a timer and a close listener in its
 *                     dispatch handler, and an AbortController only for requests parked for a slot)
 *   --request-id      Girder's newRequestId() (src/ids.ts) per request, sent as x-baseten-request-id
 *   --all             all of the above
 *
 * And, to tell the HTTP client's cost from the server's:
 *   --client undici-stream   (default) undici Pool.stream with the request as a streamed body
 *   --client undici-buffer   undici Pool.stream, the request body read into a Buffer first (as Girder
 *                            does for bodies up to 64 KiB)
 *   --client undici-request  undici Pool.request (body buffered), answer piped to the client
 *   --client http            node:http.request with a keep-alive Agent, request piped in, answer piped out
 *   --client none            no upstream at all: answer the echo in-process (the server side alone)
 *
 * Usage: node bench/proxy/baseline-proxy.ts --upstream-port 12345 [--path /predict] [flags]
 * Prints `listening <port>` once it accepts connections; stops on SIGTERM.
 */
import { Agent as HttpAgent, createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { newRequestId } from '../../src/ids.ts';
import { HOP_BY_HOP } from '../../src/runtime/replica-call.ts';

const { values } = parseArgs({
  options: {
    'upstream-port': { type: 'string' },
    path: { type: 'string', default: '/predict' },
    port: { type: 'string', default: '0' },
    'flush-headers': { type: 'boolean', default: false },
    signal: { type: 'boolean', default: false },
    'request-id': { type: 'boolean', default: false },
    all: { type: 'boolean', default: false },
    client: { type: 'string', default: 'undici-stream' },
  },
});
if (!values['upstream-port']) throw new Error('--upstream-port is required');
const flush = values.all || values['flush-headers'];
const withSignal = values.all || values.signal;
const withId = values.all || values['request-id'];
const upstreamPath = values.path;
const client = values.client;
if (!['undici-stream', 'undici-buffer', 'undici-request', 'http', 'none'].includes(client))
  throw new Error(`unknown --client ${client}`);
const agent = new HttpAgent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256 });

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

const pool = new Pool(`http://127.0.0.1:${values['upstream-port']}`, {
  connections: null,
  pipelining: 1,
  keepAliveTimeout: 30_000,
  headersTimeout: 0,
  bodyTimeout: 0,
});

const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
  const headers: Record<string, string> = {};
  const ct = req.headers['content-type'];
  const cl = req.headers['content-length'];
  if (ct) headers['content-type'] = ct;
  if (cl) headers['content-length'] = cl;
  if (withId) headers['x-baseten-request-id'] = newRequestId();
  let ac: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  const onClose = () => {
    if (!res.writableFinished) ac?.abort();
  };
  if (withSignal) {
    ac = new AbortController();
    timer = setTimeout(() => ac!.abort(), 1_200_000);
    res.once('close', onClose);
  }
  const fail = () => {
    if (res.headersSent) res.destroy();
    else {
      res.writeHead(502);
      res.end();
    }
  };
  const done = () => {
    if (withSignal) {
      clearTimeout(timer);
      res.off('close', onClose);
    }
  };
  const factory = ({
    statusCode,
    headers: up,
  }: {
    statusCode: number;
    headers: Record<string, string | string[] | undefined>;
  }) => {
    const out: Record<string, string | string[]> = {};
    for (const name in up) if (!HOP_BY_HOP.has(name)) out[name] = up[name] as string | string[];
    res.writeHead(statusCode, out);
    if (flush) res.flushHeaders();
    return res;
  };
  const signal = ac?.signal;
  switch (client) {
    case 'none':
      void readBody(req)
        .then((b) => {
          res.writeHead(200, { 'content-type': ct ?? 'application/octet-stream', 'content-length': b.length });
          if (flush) res.flushHeaders();
          res.end(b);
        }, fail)
        .finally(done);
      return;
    case 'undici-stream':
      pool
        .stream(
          {
            path: upstreamPath,
            method: 'POST',
            headers,
            body: cl === '0' ? null : req,
            signal,
            headersTimeout: 0,
            bodyTimeout: 60_000,
          },
          factory,
        )
        .catch(fail)
        .finally(done);
      return;
    case 'undici-buffer':
      void readBody(req)
        .then((body) =>
          pool.stream(
            { path: upstreamPath, method: 'POST', headers, body, signal, headersTimeout: 0, bodyTimeout: 60_000 },
            factory,
          ),
        )
        .catch(fail)
        .finally(done);
      return;
    case 'undici-request':
      void readBody(req)
        .then((body) =>
          pool.request({
            path: upstreamPath,
            method: 'POST',
            headers,
            body,
            signal,
            headersTimeout: 0,
            bodyTimeout: 60_000,
          }),
        )
        .then(
          (up) =>
            new Promise<void>((resolve, reject) => {
              factory(up);
              up.body.on('error', reject).pipe(res).on('finish', resolve).on('error', reject);
            }),
        )
        .catch(fail)
        .finally(done);
      return;
    case 'http': {
      const up = httpRequest(
        {
          host: '127.0.0.1',
          port: Number(values['upstream-port']),
          path: upstreamPath,
          method: 'POST',
          headers,
          agent,
          signal,
        },
        (ures) => {
          factory({ statusCode: ures.statusCode ?? 502, headers: ures.headers });
          ures.pipe(res);
          ures.once('end', done);
        },
      );
      up.on('error', () => {
        fail();
        done();
      });
      req.pipe(up);
      return;
    }
  }
});

server.listen(Number(values.port), '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void pool.destroy().finally(() => process.exit(0));
});
