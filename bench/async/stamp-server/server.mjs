import { createServer } from 'node:http';

const stamps = {};
const now = () => performance.timeOrigin + performance.now();

createServer((req, res) => {
  if (req.url === '/ready') return res.end('{}');
  if (req.url === '/stamps') return res.end(JSON.stringify(stamps));
  stamps[req.headers['x-baseten-request-id']] = now();
  req.resume();
  req.on('end', () => res.end('{"ok":true}'));
}).listen(Number(process.argv[2]), '127.0.0.1');
