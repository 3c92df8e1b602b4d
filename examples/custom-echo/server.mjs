// A tiny echo server: POST /predict answers with the body it received.
// It also serves /stream (Server-Sent Events) to show streaming through /sync/stream.
import { createServer } from 'node:http';

const server = createServer(async (req, res) => {
  if (req.url === '/health') return res.end('ok');
  if (req.url === '/predict' && req.method === 'POST') {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' });
    return res.end(Buffer.concat(chunks));
  }
  if (req.url?.startsWith('/stream')) {
    const n = Number(new URL(req.url, 'http://x').searchParams.get('n') ?? 3);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (let i = 0; i < n; i++) {
      res.write(`data: ${JSON.stringify({ i })}\n\n`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return res.end('data: [DONE]\n\n');
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: `no route ${req.method} ${req.url}` }));
});
server.keepAliveTimeout = 65_000;
const port = process.argv[process.argv.indexOf('--port') + 1];
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
