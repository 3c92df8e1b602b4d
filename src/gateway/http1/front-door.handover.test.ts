// Requests the fast path declines go to node:http with every byte not yet answered, and node:http
// serves that connection from then on. Shared pieces: front-door.harness.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { get, MAX_BODY, post, raw, startDoor } from './front-door.harness.ts';

const door = await startDoor(5000, 5000);

test('after a declined request node:http keeps the connection and answers everything on it', async () => {
  const c = await raw(door);
  c.socket.write(get('/fast/1'));
  await c.answers(1);
  c.socket.write(post('/other', 'xy'));
  await c.answers(2);
  c.socket.write(get('/fast/3'));
  const got = await c.answers(3);
  assert.deepEqual(
    got.map((a) => a.body),
    ['fast:GET /fast/1 body=', 'node:POST /other body=xy', 'node:GET /fast/3 body='],
  );
  assert.deepEqual(
    got.map((a) => a.status),
    [200, 200, 200],
  );
});

test('a head the strict reader refuses (space before a colon) reaches node:http, which answers 400', async () => {
  const c = await raw(door);
  c.socket.write('GET /fast/a HTTP/1.1\r\nHost : x\r\n\r\n');
  await c.closed;
  assert.match(c.text(), /^HTTP\/1\.1 400 /);
});

test('a chunked request body reaches node:http, which reads it', async () => {
  const c = await raw(door);
  c.socket.write(
    'POST /fast/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n',
  );
  const [a] = await c.answers(1);
  assert.equal(a.body, 'node:POST /fast/a body=abcde');
});

test('a body up to maxBody is served fast, a larger one goes to node:http', async () => {
  const c = await raw(door);
  c.socket.write(post('/fast/a', 'a'.repeat(MAX_BODY)));
  await c.answers(1);
  c.socket.write(post('/fast/a', 'b'.repeat(MAX_BODY + 1)));
  const [a, b] = await c.answers(2);
  assert.equal(a.body, `fast:POST /fast/a body=${'a'.repeat(MAX_BODY)}`);
  assert.equal(b.body, `node:POST /fast/a body=${'b'.repeat(MAX_BODY + 1)}`);
});
