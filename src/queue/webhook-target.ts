import { lookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { badRequest } from '../errors.ts';

/**
 * Addresses a webhook may not reach unless the server allows it (`--allow-private-webhooks`): a key
 * holder must not be able to make Girder call services inside its network.
 */
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv6');

/** Whether an IP address is loopback, private, link-local or otherwise not public. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return PRIVATE.check(address, 'ipv4');
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? PRIVATE.check(mapped[1], 'ipv4') : PRIVATE.check(address, 'ipv6');
}

/**
 * Checks a webhook URL at submit time: http(s) only, and (unless private targets are allowed) a host
 * whose every address is public. Throws 400 client_error saying why.
 */
export async function checkWebhookUrl(raw: string, allowPrivate: boolean): Promise<void> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badRequest(`Invalid webhook_endpoint: "${raw}" is not a URL.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw badRequest(`Invalid webhook_endpoint: the scheme must be https or http, not ${url.protocol.slice(0, -1)}.`);
  if (allowPrivate) return;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (
        await new Promise<{ address: string }[]>((ok, fail) =>
          lookup(host, { all: true }, (e, a) => (e ? fail(e) : ok(a))),
        )
      ).map((a) => a.address);
    } catch {
      throw badRequest(`Invalid webhook_endpoint: the host "${host}" does not resolve.`);
    }
  }
  if (addresses.some(isPrivateAddress)) {
    throw badRequest(
      `Invalid webhook_endpoint: "${host}" is a loopback, private or link-local address.`,
      'Webhooks go to public hosts. For local development, start Girder with --allow-private-webhooks.',
    );
  }
}

/**
 * A DNS lookup for webhook connections that refuses private addresses at connect time too, so that a
 * name that resolved to a public address at submit cannot be re-pointed inside the network later.
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  lookup(hostname, { ...options, all: true }, (err, list) => {
    if (err) return callback(err, '', 0);
    const bad = list.find((a) => isPrivateAddress(a.address));
    if (bad) {
      const refused = new Error(`webhook host ${hostname} resolves to the private address ${bad.address}`);
      return callback(Object.assign(refused, { code: 'EPRIVATE' }), '', 0);
    }
    if (options.all) return callback(null, list);
    callback(null, list[0].address, list[0].family);
  });
};
