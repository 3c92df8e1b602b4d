import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { test } from 'node:test';
import type { GirderError } from '../errors.ts';
import { checkWebhookUrl, isPrivateAddress, publicOnlyLookup } from './webhook-target.ts';

test('loopback, private, link-local and unspecified addresses are private; public ones are not', () => {
  for (const a of [
    '127.0.0.1',
    '10.1.2.3',
    '172.20.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '0.0.0.0',
    '::1',
    'fe80::1',
    'fd00::1',
    '::ffff:127.0.0.1',
    '100.64.0.1',
  ]) {
    assert.equal(isPrivateAddress(a), true, a);
  }
  for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700::1111', '172.32.0.1']) assert.equal(isPrivateAddress(a), false, a);
});

test('webhook URLs must be http(s) and, unless allowed, not private', async () => {
  const refused = (url: string, allow: boolean, pattern: RegExp) =>
    assert.rejects(checkWebhookUrl(url, allow), (e: GirderError) => e.status === 400 && pattern.test(e.message));
  await refused('ftp://example.com/x', false, /scheme/);
  await refused('not a url', false, /not a URL/);
  await refused('http://127.0.0.1:9000/hook', false, /private/);
  await refused('http://localhost:9000/hook', false, /private/);
  await refused('http://[::1]:9000/hook', false, /private/);
  await refused('http://169.254.169.254/latest/meta-data', false, /private/);
  await checkWebhookUrl('http://127.0.0.1:9000/hook', true);
  await checkWebhookUrl('https://93.184.216.34/hook', false);
});

/** Runs the connect-time lookup as a socket would, and returns what it called back with. */
function connectLookup(host: string, all: boolean) {
  return new Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }>(
    (resolve) => publicOnlyLookup(host, { all }, (err, address, family) => resolve({ err, address, family })),
  );
}

test('at connect time, a name that resolves to a loopback address is refused', async () => {
  for (const all of [false, true]) {
    const { err } = await connectLookup('localhost', all);
    assert.equal(err?.code, 'EPRIVATE');
    assert.match(String(err?.message), /private address/);
  }
});

test('at connect time, a public address goes through in the shape the caller asked for', async () => {
  assert.deepEqual(await connectLookup('8.8.8.8', false), { err: null, address: '8.8.8.8', family: 4 });
  assert.deepEqual(await connectLookup('8.8.8.8', true), {
    err: null,
    address: [{ address: '8.8.8.8', family: 4 }],
    family: undefined,
  });
});
