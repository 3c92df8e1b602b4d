import { createServer } from 'node:net';
import { Pool } from 'undici';
const upPort = process.argv[2]; const mode = process.argv[3] ?? 'proxy';
const pool = upPort ? new Pool(`http://127.0.0.1:${upPort}`, { connections: null, pipelining: 1, keepAliveTimeout: 30000, headersTimeout: 0, bodyTimeout: 0 }) : null;
const CRLF2 = Buffer.from('\r\n\r\n');
const server = createServer({ noDelay: true }, (sock) => {
  let buf = null;
  sock.on('data', (d) => {
    buf = buf ? Buffer.concat([buf, d]) : d;
    for (;;) {
      const end = buf.indexOf(CRLF2);
      if (end < 0) return;
      const head = buf.latin1Slice(0, end);
      const m = /\r\ncontent-length: *(\d+)/i.exec(head);
      const cl = m ? Number(m[1]) : 0;
      if (buf.length < end + 4 + cl) return;
      const body = buf.subarray(end + 4, end + 4 + cl);
      buf = buf.length > end + 4 + cl ? buf.subarray(end + 4 + cl) : null;
      if (mode === 'none') {
        sock.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ' + body.length + '\r\n\r\n' + body.latin1Slice());
      } else {
        const chunks = []; let status = 0; let ct = 'application/json';
        pool.dispatch({ path: '/predict', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(cl) }, body }, {
          onConnect() {}, onError(e) { sock.destroy(); },
          onHeaders(s, raw) { status = s; return true; },
          onData(c) { chunks.push(c); return true; },
          onComplete() { const b = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks); sock.write('HTTP/1.1 ' + status + ' OK\r\ncontent-type: ' + ct + '\r\ncontent-length: ' + b.length + '\r\n\r\n' + b.latin1Slice()); },
        });
      }
      if (!buf) return;
    }
  });
  sock.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => console.log('listening', server.address().port));
