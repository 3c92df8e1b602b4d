import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { test } from 'node:test';
import type { GirderError } from '../errors.ts';
import { checkWebhookUrl, isPrivateAddress, publicOnlyLookup } from './webhook-target.ts';

/** Every address a webhook may not reach, by the form it takes. */
const REFUSED: Record<string, string[]> = {
  'IPv4-compatible (::/96)': ['::127.0.0.1', '::7f00:1', '::10.0.0.1', '::8.8.8.8'],
  'IPv4-mapped, every spelling': [
    '::ffff:127.0.0.1',
    '::FFFF:127.0.0.1',
    '::ffff:7f00:1',
    '0:0:0:0:0:ffff:7f00:1',
    '::ffff:169.254.169.254',
    '::ffff:a00:1',
  ],
  'IPv4-translated (SIIT, ::ffff:0:0:0/96)': ['::ffff:0:7f00:1', '::ffff:0:127.0.0.1', '::ffff:0:a9fe:a9fe'],
  'NAT64 well-known prefix (64:ff9b::/96)': [
    '64:ff9b::7f00:1',
    '64:ff9b::127.0.0.1',
    '64:ff9b::a9fe:a9fe',
    '64:ff9b::c0a8:101',
  ],
  'local-use NAT64 (64:ff9b:1::/48)': ['64:ff9b:1::808:808', '64:ff9b:1:2:3::1'],
  '6to4 (2002::/16) of a refused IPv4': [
    '2002:7f00:1::',
    '2002:7f00:1::1',
    '2002:a00:1::',
    '2002:a9fe:a9fe::1',
    '2002:c000:201::1',
  ],
  'Teredo (2001::/32), whatever it embeds': ['2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001::1'],
  'IPv4 documentation': ['192.0.2.1', '198.51.100.7', '203.0.113.9'],
  'IPv4 benchmarking, reserved, broadcast': [
    '198.18.0.1',
    '198.19.255.255',
    '240.0.0.1',
    '255.255.255.255',
    '192.88.99.1',
  ],
  'IPv4 multicast': ['224.0.0.1', '239.255.255.250'],
  'IPv4 private, loopback, link-local, shared, this network': [
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '127.0.0.1',
    '127.255.255.254',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '192.0.0.8',
  ],
  'IPv6 documentation, benchmarking, SRv6': ['2001:db8::1', '2001:db8:ffff::1', '3fff::1', '2001:2::1', '5f00::1'],
  'IPv6 multicast': ['ff02::1', 'ff0e::101'],
  'IPv6 loopback, unspecified, unique local, link-local, site-local, discard': [
    '::1',
    '0:0:0:0:0:0:0:1',
    '::',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'fec0::1',
    '100::1',
  ],
  'IPv6 outside global unicast': ['4000::1', 'e000::1'],
  'not an address': ['localhost', '', 'fe80::1%eth0', '1.2.3'],
};

const PUBLIC = [
  '8.8.8.8',
  '93.184.216.34',
  '172.32.0.1',
  '192.0.3.1',
  '198.20.0.1',
  '203.0.114.1',
  '100.128.0.1',
  '223.255.255.255',
  '2606:4700::1111',
  '2a00:1450:4001::1',
  // The same public hosts through the forms that embed IPv4: what a DNS64 resolver on an IPv6-only host answers.
  '::ffff:8.8.8.8',
  '::ffff:808:808',
  '64:ff9b::8.8.8.8',
  '64:ff9b::808:808',
  '2002:808:808::1',
];

test('every non-public address, and every IPv6 form of one, is refused', () => {
  for (const [form, list] of Object.entries(REFUSED))
    for (const a of list) assert.equal(isPrivateAddress(a, []), true, `${form}: ${a}`);
});

test('public addresses pass, also through NAT64, 6to4 and IPv4-mapped forms', () => {
  for (const a of PUBLIC) assert.equal(isPrivateAddress(a, []), false, a);
});

test("this host's own addresses are refused, on every interface and in IPv4-mapped form", () => {
  assert.equal(isPrivateAddress('93.184.216.34', ['93.184.216.34']), true);
  assert.equal(isPrivateAddress('::ffff:93.184.216.34', ['93.184.216.34']), true);
  assert.equal(isPrivateAddress('2606:4700:0:0::1111', ['2606:4700::1111']), true, 'whatever the spelling');
  for (const i of Object.values(networkInterfaces()).flat())
    assert.equal(isPrivateAddress(i!.address.split('%')[0]), true, `this host's ${i!.address}`);
});

test('at submit, the URL forms of each are refused', async () => {
  const own = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && !i.internal && i.family === 'IPv4')?.address;
  const urls = [
    'http://[::127.0.0.1]/hook',
    'http://[::ffff:0:7f00:1]/hook',
    'http://[::ffff:7f00:1]:8080/hook',
    'http://[64:ff9b::7f00:1]/hook',
    'http://[2002:7f00:1::]/hook',
    'http://[2001:db8::1]/hook',
    'http://192.0.2.1/hook',
    'https://198.51.100.1/hook',
    'https://203.0.113.1/hook',
    'http://198.18.0.1/hook',
    'http://224.0.0.1/hook',
    'http://255.255.255.255/hook',
    'http://2130706433/hook', // 127.0.0.1 as one number
    'http://0x7f.1/hook',
    ...(own ? [`http://${own}/hook`] : []),
  ];
  for (const url of urls)
    await assert.rejects(
      checkWebhookUrl(url, false),
      (e: GirderError) => e.status === 400 && /not a public address/.test(e.message),
      url,
    );
  await checkWebhookUrl('http://[64:ff9b::808:808]/hook', false);
});

test('at connect time, the same addresses are refused', async () => {
  const lookup = (host: string) =>
    new Promise<NodeJS.ErrnoException | null>((resolve) =>
      publicOnlyLookup(host, { all: true }, (err) => resolve(err)),
    );
  for (const a of ['::127.0.0.1', '::ffff:0:7f00:1', '64:ff9b::7f00:1', '2002:7f00:1::', '192.0.2.1', '2001:db8::1'])
    assert.equal((await lookup(a))?.code, 'EPRIVATE', a);
  assert.equal(await lookup('64:ff9b::808:808'), null);
});
