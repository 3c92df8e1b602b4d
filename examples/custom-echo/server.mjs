// A tiny echo server: POST /predict answers with the body it received.
// It also serves /stream (Server-Sent Events) to show streaming through /sync/stream.
//
// A client may leave at any moment: mid-upload, mid-stream. An error that escapes a handler ends
// the whole process, and with it every request it was serving, so each handler catches its own.
import { createServer } from 'node:http';

async function handle(req, res) {
  if (req.url === '/health') return res.end('ok');
  if (req.url === '/predict' && req.method === 'POST') {
    const chunks = [];
    for await (const c of req) chunks.push(c); // throws if the client aborts the upload
    res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' });
    return res.end(Buffer.concat(chunks));
  }
  if (req.url?.startsWith('/stream')) {
    const n = Number(new URL(req.url, 'http://x').searchParams.get('n') ?? 3);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (let i = 0; i < n && !res.destroyed; i++) {
      res.write(`data: ${JSON.stringify({ i })}\n\n`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return res.end('data: [DONE]\n\n');
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: `no route ${req.method} ${req.url}` }));
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    if (req.destroyed || res.destroyed) return; // the client left: there is no one to answer
    console.error(err);
    if (res.headersSent) return res.destroy();
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: String(err?.message ?? err) }));
  });
});
server.keepAliveTimeout = 65_000;
const port = process.argv[process.argv.indexOf('--port') + 1];
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
