// How connections end without Connection: close: a client that leaves, the head, body and keep-alive
// timeouts, and closeIdleConnections(). Shared pieces: front-door.harness.ts.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { get, parseAnswers, pending, raw, startDoor } from './front-door.harness.ts';

const door = await startDoor(5000, 5000);
const quick = await startDoor(300, 300);

// As node:http by default (httpAllowHalfOpen false): a FIN is the client leaving, even right after its request.
test('a client that half-closes right after its request is taken as gone: the pending response emits close', async () => {
  const { c, res } = await pending(door, (s) => s.end(get('/fast/hold')));
  await once(res, 'close');
  assert.equal(res.writableFinished, false);
  await c.closed;
  assert.equal(c.text(), '');
});

test('a client that disconnects while its answer is pending: the response emits close', async () => {
  const { c, res } = await pending(door);
  const closed = once(res, 'close');
  c.socket.destroy();
  await closed;
  assert.equal(res.writableFinished, false);
});

test('a client that resets while its answer is pending: the response emits close', async () => {
  const { c, res } = await pending(door);
  const closed = once(res, 'close');
  c.socket.resetAndDestroy();
  await closed;
});

/** The one answer of a connection the fast path timed out: a 408 ErrorResponse that closes it. */
function assertTimeoutAnswer(text: string): void {
  assert.match(text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  const answers = parseAnswers(text);
  assert.equal(answers.length, 1);
  const [a] = answers;
  assert.equal(a.headers.connection, 'close');
  assert.equal(a.headers['content-type'], 'application/json');
  const body = JSON.parse(a.body);
  assert.equal(body.error_code, 'client_error');
  assert.match(body.error, /did not arrive in time/);
  assert.match(body.detail, /--headers-timeout/);
}

test('a head that stalls gets a 408 ErrorResponse and the socket closes', async () => {
  const c = await raw(quick);
  c.socket.write('GET /fast/a HTTP/1.1\r\nHo');
  await c.closed;
  assertTimeoutAnswer(c.text());
});

test('a stalled client that keeps its side open is still disconnected after the 408', async () => {
  const c = await raw(quick, true);
  c.socket.write('GET /fast/a HTTP/1.1\r\nHo');
  await once(c.socket, 'end');
  assertTimeoutAnswer(c.text());
  // The server's socket is gone, not just half-closed: what the client sends is refused (a reset,
  // which the client sees on its next write).
  const writes = setInterval(() => c.socket.write('x'), 20);
  await c.closed;
  clearInterval(writes);
  assert.equal(parseAnswers(c.text()).length, 1);
});

test('a body that stalls gets a 408 ErrorResponse and the socket closes', async () => {
  const c = await raw(quick);
  c.socket.write(`POST /fast/a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc`);
  await c.closed;
  assertTimeoutAnswer(c.text());
});

test('an idle keep-alive connection is closed after keepAliveTimeoutMs', async () => {
  const c = await raw(quick);
  c.socket.write(get('/fast/a'));
  const [a] = await c.answers(1);
  assert.equal(a.headers.connection, 'keep-alive');
  await c.closed;
  assert.equal(parseAnswers(c.text()).length, 1);
  assert.ok(c.text().endsWith(a.body), 'nothing after the answer');
  const fresh = await raw(quick);
  await fresh.closed;
  assert.equal(fresh.text(), '');
});

test('closeIdleConnections() closes idle connections but not one whose answer is pending', async () => {
  const idle = await raw(door);
  idle.socket.write(get('/fast/a'));
  await idle.answers(1);
  const handedOver = await raw(door);
  handedOver.socket.write(get('/declined'));
  await handedOver.answers(1);
  const { c: busy, res } = await pending(door);
  door.closeIdleConnections();
  await idle.closed;
  await handedOver.closed;
  assert.equal(busy.isClosed(), false);
  res.end('late');
  const [a] = await busy.answers(1);
  assert.equal(a.body, 'late');
});
