/**
 * Where Girder's request path spends its time, one layer at a time. In one process, next to a Girder
 * serving examples/custom-echo, four servers forward to the same replica, each adding one layer of
 * Girder's request path:
 *
 *   minimal          node:http server + undici Pool.stream to the replica (no Girder code)
 *   callReplica()    src/runtime/replica-call.ts callReplica() in place of Pool.stream, on the replica's
 *                    own pool, its body from src/gateway/body.ts proxiedBody(): header filtering, the
 *                    small request body read before sending, the Pool.dispatch handler (deadline
 *                    timer, close listener, head + body + end coalesced into one write), error mapping
 *   handleInference  + src/gateway/routes/inference.ts handleInference() with a pre-parsed route and
 *                    request id: authenticate (SHA-256 of the key), registry.resolve, the deadline,
 *                    src/runtime/invoke.ts (tryAcquire/release: a request parks only when no slot is free)
 *   girder           Girder's own front door (src/gateway/server.ts, src/gateway/http1/): its fast path
 *                    reads and answers HTTP/1.1 on the raw socket instead of node:http, + newRequestId,
 *                    parseRoute; so this row is cheaper than the one before it
 *
 * Each one is loaded with wrk in turn (2 s warm-up, then --duration s, --rounds times), and each run
 * reports req/s, p50, p99 and this process's CPU time per request. All four share one process, one
 * heap and one event loop, so the differences between rows are the costs of the layers.
 *
 * Usage: node bench/proxy/layers.ts [--duration 6] [--connections 32] [--rounds 2]
 * The layers call Girder internals (callReplica() and its ReplicaCall, handleInference's signature): update
 * this file if they change.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { proxiedBody } from '../../src/gateway/body.ts';
import { handleInference } from '../../src/gateway/routes/inference.ts';
import { parseRoute, type Route } from '../../src/gateway/target.ts';
import { callReplica, HOP_BY_HOP } from '../../src/runtime/replica-call.ts';
import {
  cpuModel,
  fmtMs,
  fmtRps,
  loadAverage,
  luaScript,
  onCleanup,
  parseWrk,
  runBench,
  runWrk,
  sanity,
  startEchoGirder,
  which,
} from './lib.ts';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '6' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '2' },
    body: { type: 'string', default: '{"hello":"world"}' },
  },
});
const duration = Number(args.duration);
const connections = Number(args.connections);
const rounds = Number(args.rounds);
const body = args.body;
which('wrk', ['/usr/bin/wrk']);

function listen(server: Server): Promise<string> {
  onCleanup(() => {
    server.close();
    server.closeAllConnections();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'girder-layers-'));
  onCleanup(() => rmSync(work, { recursive: true, force: true }));
  console.error('starting Girder and pushing examples/custom-echo…');
  const eg = await startEchoGirder(join(work, 'girder-data'));
  const replica = eg.g.supervisor.replicas(eg.deploymentId)[0];
  const auth = { 'Content-Type': 'application/json', Authorization: `Api-Key ${eg.key}` };
  const json = { 'Content-Type': 'application/json' };

  const pool = new Pool(`http://127.0.0.1:${eg.replicaPort}`, {
    connections: null,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  onCleanup(() => pool.destroy());
  const minimal = await listen(
    createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
      const headers: Record<string, string> = {};
      if (req.headers['content-type']) headers['content-type'] = req.headers['content-type'];
      if (req.headers['content-length']) headers['content-length'] = req.headers['content-length'];
      pool
        .stream(
          { path: '/predict', method: 'POST', headers, body: req, headersTimeout: 0, bodyTimeout: 60_000 },
          ({ statusCode, headers: up }) => {
            const out: Record<string, string | string[]> = {};
            for (const name in up) if (!HOP_BY_HOP.has(name)) out[name] = up[name] as string | string[];
            res.writeHead(statusCode, out);
            return res;
          },
        )
        .catch(() => res.destroy());
    }),
  );

  const proxyOnly = await listen(
    createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
      proxiedBody(
        req,
        eg.g.options.maxBodyBytes,
        (b) =>
          callReplica({
            replica,
            method: 'POST',
            path: replica.opts.spec.predictPath,
            headers: req.rawHeaders,
            body: b,
            requestId: 'layers',
            res,
            responseHeaders: {},
            deadline: Date.now() + 60_000,
            bodyTimeoutMs: 60_000,
            wrapErrors: true,
            logsHint: () => '',
            onEnd: (err) => {
              if (err !== undefined) res.destroy();
            },
          }),
        () => res.destroy(),
      );
    }),
  );

  const route = parseRoute('127.0.0.1', new URL(eg.predictUrl).pathname, eg.g.options.domain) as Extract<
    Route,
    { surface: 'inference' }
  >;
  const inference = await listen(
    createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
      void Promise.resolve(handleInference(eg.g, req, res, route, 'layers')).catch(() => res.destroy());
    }),
  );

  const layers = [
    { name: 'minimal (node:http + undici)', url: `${minimal}/predict`, headers: json },
    { name: '+ callReplica()', url: `${proxyOnly}/predict`, headers: json },
    { name: '+ handleInference()', url: `${inference}/predict`, headers: auth },
    { name: 'girder (+ server.ts)', url: eg.predictUrl, headers: auth },
  ];
  const rows: string[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const [i, l] of layers.entries()) {
      const script = join(work, `layer${i}.lua`);
      writeFileSync(script, luaScript(body, l.headers));
      await sanity(l.name, l.url, l.headers, body);
      await runWrk({ threads: 1, connections, seconds: 2, script, url: l.url });
      const c0 = process.cpuUsage();
      const r = parseWrk(await runWrk({ threads: 1, connections, seconds: duration, script, url: l.url }));
      const c = process.cpuUsage(c0);
      const cpu = (c.user + c.system) / Math.max(1, r.requests);
      const row = `| ${l.name} | ${round} | ${fmtRps(r.rps)} | ${fmtMs(r.p50)} | ${fmtMs(r.p99)} | ${cpu.toFixed(1)} µs | ${r.errors} |`;
      console.error(row);
      rows.push(row);
    }
  }
  console.log(
    [
      '',
      `## Girder request path, layer by layer (wrk -t1 -c${connections} -d${duration}s, ${rounds} rounds)`,
      '',
      '| layer | round | req/s | p50 | p99 | CPU / request (whole process) | errors |',
      '|---|---:|---:|---:|---:|---:|---:|',
      ...rows,
      '',
      `Machine: ${cpuModel()}, Node ${process.version}, load average ${loadAverage()}.`,
    ].join('\n'),
  );
}

await runBench('layers', main);
