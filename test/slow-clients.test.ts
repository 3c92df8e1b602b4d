// Slow and refused clients on node:http, over raw sockets: a request refused before its body is
// read is answered and its connection closed at once; a head or a body that stops arriving gets
// 408 and the connection closes; an upload that keeps flowing, or waits for a slot, is never cut.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAnswers } from '../src/gateway/http1/front-door.harness.ts';
import { call, fixture, modelCopy, startGirder } from './helpers.ts';
import { serve } from './process.ts';
import { exchange, notAnErrorResponse } from './raw.ts';
import { tempDir } from './temp-dir.ts';

// Small timeouts for the test; the defaults are 60 s each.
const girder = await startGirder({ after }, { headersTimeoutMs: 1000, bodyTimeoutMs: 1000 });
const port = Number(new URL(girder.url).port);
const model = await girder.deploy(modelCopy({ after }, fixture('behaviours'), { runtime: { predict_concurrency: 1 } }));
const predict = `/model-${model.model.id}/production/predict`;
const auth = `Authorization: Api-Key ${girder.key}\r\n`;

/** A raw client that keeps its side open (a client still sending), and what it received. */
async function client(): Promise<{ socket: Socket; text: () => string; ended: Promise<void> }> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  after(() => socket.destroy());
  socket.on('error', () => {}); // the server may reset a socket it closed; 'close' follows
  await once(socket, 'connect');
  let text = '';
  socket.setEncoding('latin1').on('data', (d: string) => (text += d));
  // The server's FIN, or the socket gone: either way the server closed the connection.
  const ended = new Promise<void>((resolve) => {
    socket.once('end', resolve);
    socket.once('close', resolve);
  });
  return { socket, text: () => text, ended };
}

/** The one answer of a closed connection, checked to be an ErrorResponse that said it closes. */
function onlyAnswer(text: string, status: number): void {
  const answers = parseAnswers(text);
  assert.equal(answers.length, 1, text);
  assert.equal(answers[0].status, status, text);
  assert.equal(notAnErrorResponse(answers[0]), undefined, text);
  assert.equal(answers[0].headers.connection, 'close', text);
}

test('an unauthenticated upload gets 401 at once, and its connection closes without waiting for the body', async () => {
  const c = await client();
  c.socket.write(`POST ${predict} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{"echo":`);
  // The client trickles on; the server has nothing to wait for.
  const trickle = setInterval(() => c.socket.write('a'), 50);
  await c.ended;
  clearInterval(trickle);
  onlyAnswer(c.text(), 401);
});

test('a refused management upload (bad key) is answered and its connection closed', async () => {
  const c = await client();
  c.socket.write('POST /api/v1/secrets HTTP/1.1\r\nHost: x\r\nAuthorization: Api-Key no.no\r\n');
  c.socket.write('Transfer-Encoding: chunked\r\n\r\n5\r\n{"nam\r\n');
  await c.ended;
  onlyAnswer(c.text(), 401);
});

test('a body that stops arriving gets 408, and the connection closes', async () => {
  // node:http serves bodies over 64 KiB or chunked ones; the fast path reads the others whole, and
  // a request it reads must all arrive within the headers timeout.
  const cases = [
    [predict, 'Content-Length: 100000', '--body-timeout'], // streamed to the replica
    [predict, 'Transfer-Encoding: chunked', '--body-timeout'], // read whole before the call
    ['/api/v1/secrets', 'Transfer-Encoding: chunked', '--body-timeout'], // read by the management API
    [predict, 'Content-Length: 1000', '--headers-timeout'], // the fast path
  ] as const;
  await Promise.all(
    cases.map(async ([path, framing, flag]) => {
      const c = await client();
      const start = framing.startsWith('Transfer') ? '9\r\n{"echo":"' : '{"echo":"';
      c.socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\n${auth}${framing}\r\n\r\n${start}`);
      await c.ended;
      onlyAnswer(c.text(), 408);
      assert.match(JSON.parse(parseAnswers(c.text())[0].body).detail, new RegExp(flag), `${path} ${framing}`);
    }),
  );
});

test('a head that stops arriving on a node:http connection gets 408, and the connection closes', async () => {
  const c = await client();
  // The management API is served by node:http, which keeps the connection from then on.
  c.socket.write(`GET /api/v1/models HTTP/1.1\r\nHost: x\r\n${auth}\r\n`);
  while (parseAnswers(c.text()).length < 1) await sleep(10);
  const first = parseAnswers(c.text())[0];
  assert.equal(first.status, 200);
  c.socket.write('GET /api/v1/models HTTP/1.1\r\nHost: x\r\n');
  await c.ended;
  const answers = parseAnswers(c.text());
  assert.equal(answers.length, 2, c.text());
  assert.equal(answers[1].status, 408);
  assert.equal(notAnErrorResponse(answers[1]), undefined, c.text());
});

test('an upload that keeps flowing for several body timeouts is served', async () => {
  const c = await client();
  const body = JSON.stringify({ echo: 'a'.repeat(100_000) });
  c.socket.write(`POST ${predict} HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: ${body.length}\r\n\r\n`);
  const pieces = 25;
  const size = Math.ceil(body.length / pieces);
  for (let at = 0; at < body.length; at += size) {
    c.socket.write(body.slice(at, at + size));
    await sleep(100); // 2.5 s in all, each pause a tenth of the body timeout
  }
  while (parseAnswers(c.text()).length < 1 && !c.socket.destroyed) await sleep(10);
  const [a] = parseAnswers(c.text());
  assert.equal(a?.status, 200, c.text().slice(0, 500));
  assert.equal(JSON.parse(a.body).echo.length, 100_000);
});

test('an upload that waits for a busy replica longer than the body timeout is served', async () => {
  // predict_concurrency 1: this holds the only slot for twice the body timeout.
  const busy = call(`${girder.url}${predict}`, { headers: girder.auth, body: '{"sleep_ms":2000}' });
  await sleep(100);
  const body = JSON.stringify({ echo: 'b'.repeat(100_000) });
  const waited = await call(`${girder.url}${predict}`, { headers: girder.auth, body });
  assert.equal(waited.status, 200, waited.text.slice(0, 300));
  assert.equal(waited.json.echo.length, 100_000);
  assert.equal((await busy).status, 200);
});

test('girder serve --headers-timeout and --body-timeout set the timeouts', async (t) => {
  const served = await serve(t, tempDir(t), { GIRDER_API_KEY: 'abcdefgh.flags' }, [
    '--headers-timeout',
    '1',
    '--body-timeout',
    '1',
  ]);
  const own = Number(new URL(served.url).port);
  const head = 'POST /api/v1/secrets HTTP/1.1\r\nHost: x\r\nAuthorization: Api-Key abcdefgh.flags\r\n';
  const [body, slowHead] = await Promise.all([
    exchange(own, `${head}Transfer-Encoding: chunked\r\n\r\n5\r\n{"nam\r\n`, 10_000),
    exchange(own, 'GET /api/v1/models HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chun', 10_000),
  ]);
  assert.ok(body.closed && slowHead.closed);
  assert.equal(body.answers[0]?.status, 408, body.text);
  assert.match(JSON.parse(body.answers[0].body).detail, /1 s .*--body-timeout/);
  assert.equal(slowHead.answers[0]?.status, 408, slowHead.text);
  assert.match(JSON.parse(slowHead.answers[0].body).detail, /1 s .*--headers-timeout/);
});
