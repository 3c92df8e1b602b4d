// The fast path itself: answers written to the socket, keep-alive, pipelining, reading in pieces,
// Connection: close. Shared pieces: front-door.harness.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { get, parseAnswers, post, raw, startDoor } from './front-door.harness.ts';

const door = await startDoor(5000, 5000);

test('a fast request gets content-length, date and keep-alive, and the connection stays open', async () => {
  const c = await raw(door);
  c.socket.write(get('/fast/a'));
  const [a] = await c.answers(1);
  assert.equal(a.status, 200);
  assert.equal(a.body, 'fast:GET /fast/a body=');
  assert.equal(a.headers['content-length'], String(a.body.length));
  assert.equal(new Date(a.headers.date).toUTCString(), a.headers.date);
  assert.equal(a.headers.connection, 'keep-alive');
  assert.equal(a.headers['keep-alive'], 'timeout=5');
  assert.equal(a.headers['transfer-encoding'], undefined);
  c.socket.write(post('/fast/b', 'abc'));
  const [, b] = await c.answers(2);
  assert.equal(b.body, 'fast:POST /fast/b body=abc');
  assert.equal(c.isClosed(), false);
});

test('pipelined requests sent in one write are answered in order', async () => {
  const c = await raw(door);
  c.socket.write(
    get('/fast/1') + post('/fast/later', 'b2') + get('/fast/3') + post('/declined', 'b4') + get('/fast/5'),
  );
  const got = await c.answers(5);
  assert.deepEqual(
    got.map((a) => a.body),
    [
      'fast:GET /fast/1 body=',
      'fast:POST /fast/later body=b2',
      'fast:GET /fast/3 body=',
      'node:POST /declined body=b4',
      'node:GET /fast/5 body=',
    ],
  );
});

test('a head and body arriving a few bytes at a time are still served', async () => {
  const c = await raw(door);
  for (const [i, req] of [post('/fast/t', 'hello body'), post('/fast/t', 'again')].entries()) {
    for (let at = 0; at < req.length; at += 3) {
      c.socket.write(req.slice(at, at + 3));
      await sleep(2);
    }
    assert.equal((await c.answers(i + 1))[i].body, `fast:POST /fast/t body=${i ? 'again' : 'hello body'}`);
  }
});

test('an answer of unknown length is sent chunked; end(body) alone gets a content-length', async () => {
  const c = await raw(door);
  c.socket.write(get('/fast/chunked'));
  const [a] = await c.answers(1);
  assert.equal(a.headers['transfer-encoding'], 'chunked');
  assert.equal(a.headers['content-length'], undefined);
  assert.equal(a.headers['content-type'], 'text/plain');
  assert.equal(a.body, 'abcde');
  assert.ok(c.text().endsWith('\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n'), c.text());
  c.socket.write(get('/fast/a'));
  const [, b] = await c.answers(2);
  assert.equal(b.headers['transfer-encoding'], undefined);
  assert.equal(b.headers['content-length'], String(b.body.length));
});

test('an answer that brings its own date header gets no second one', async () => {
  const c = await raw(door);
  c.socket.write(get('/fast/dated'));
  const [a] = await c.answers(1);
  assert.equal(a.headers.date, 'Tue, 01 Jan 2030 00:00:00 GMT');
  assert.equal(c.text().match(/^date:/gim)?.length, 1, c.text());
});

test('a 204 answer has no body and no framing header, and the next request is served', async () => {
  const c = await raw(door);
  c.socket.write(get('/fast/204'));
  const [a] = await c.answers(1);
  assert.equal(a.status, 204);
  assert.equal(a.headers['content-length'], undefined);
  assert.equal(a.headers['transfer-encoding'], undefined);
  c.socket.write(get('/fast/a'));
  const [, b] = await c.answers(2);
  assert.equal(b.body, 'fast:GET /fast/a body=');
  assert.match(c.text(), /\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
});

test('Connection: close from the client: the answer says so and the server closes the socket', async () => {
  const c = await raw(door);
  c.socket.write(get('/fast/later', 'Connection: close\r\n') + get('/fast/never'));
  await c.closed;
  const got = parseAnswers(c.text());
  assert.equal(got.length, 1);
  assert.equal(got[0].body, 'fast:GET /fast/later body=');
  assert.equal(got[0].headers.connection, 'close');
  assert.equal(got[0].headers['keep-alive'], undefined);
});

// The gateway does this with a 413, whose unread body must not be taken for the next request.
test("setHeader('connection', 'close') before the answer: it says so and the server closes the socket", async () => {
  const c = await raw(door);
  c.socket.write(get('/fast/closing') + get('/fast/never'));
  await c.closed;
  const got = parseAnswers(c.text());
  assert.equal(got.length, 1);
  assert.equal(got[0].status, 413);
  assert.equal(got[0].body, 'too big');
  assert.equal(got[0].headers.connection, 'close');
});
