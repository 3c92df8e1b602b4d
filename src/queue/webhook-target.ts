import { lookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { networkInterfaces } from 'node:os';
import { badRequest } from '../errors.ts';

/**
 * IPv4 blocks a webhook may not reach unless the server allows it (`--allow-private-webhooks`): a
 * key holder must not be able to make Girder call services inside its network. Every block of
 * IANA's special-purpose registry that is not globally reachable.
 */
const V4_REFUSED: [string, number][] = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // shared address space (carrier-grade NAT)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata endpoints among them
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation (TEST-NET-1)
  ['192.88.99.0', 24], // the former 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation (TEST-NET-2)
  ['203.0.113.0', 24], // documentation (TEST-NET-3)
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the 255.255.255.255 broadcast
];

/**
 * IPv6 forms whose last 32 bits are an IPv4 address, which is what they reach: IPv4-mapped
 * (`::ffff:a.b.c.d`, or in hex), IPv4-translated (SIIT) and NAT64's well-known prefix. They are
 * judged by that address, so that NAT64 on an IPv6-only host still reaches public hosts.
 */
const V4_CARRIERS = ['::ffff:', '::ffff:0:', '64:ff9b::'];

/**
 * Blocks inside IPv6's global unicast (2000::/3) that are not public. Outside 2000::/3 only the
 * carriers above can be: the rest is loopback, unspecified, IPv4-compatible (::/96), unique local,
 * link-local, site-local, multicast, discard-only, SRv6 or local-use NAT64 (64:ff9b:1::/48, whose
 * IPv4 address sits where its operator chose).
 */
const V6_REFUSED: [string, number][] = [
  ['2001::', 23], // IETF protocol assignments: Teredo (2001::/32, its client address obfuscated), benchmarking
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation (RFC 9637)
  ['5f00::', 16], // SRv6 segment identifiers
];

/** An IPv4 address as the two hex groups an IPv6 address embeds it in: `127.0.0.0` → `7f00:0`. */
const asGroups = (v4: string): string => {
  const [a, b, c, d] = v4.split('.').map(Number);
  return `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
};

const REFUSED = new BlockList();
for (const [net, bits] of V4_REFUSED) {
  REFUSED.addSubnet(net, bits, 'ipv4');
  for (const prefix of V4_CARRIERS) REFUSED.addSubnet(`${prefix}${asGroups(net)}`, 96 + bits, 'ipv6');
  REFUSED.addSubnet(`2002:${asGroups(net)}::`, 16 + bits, 'ipv6'); // 6to4 embeds it in bits 16–47
}
for (const [net, bits] of V6_REFUSED) REFUSED.addSubnet(net, bits, 'ipv6');

const CARRIERS = new BlockList();
for (const prefix of V4_CARRIERS) CARRIERS.addSubnet(`${prefix}0:0`, 96, 'ipv6');
const GLOBAL_UNICAST = new BlockList();
GLOBAL_UNICAST.addSubnet('2000::', 3, 'ipv6');

/** This host's own addresses, on every interface: its services may listen there for it alone. */
function hostAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address.split('%')[0]));
}

/**
 * Whether a webhook may not reach an IP address: loopback, private, link-local, shared, reserved,
 * benchmarking, documentation, multicast or broadcast, one of this host's own addresses (`own`), or
 * an IPv6 form of one of those (IPv4-mapped in any spelling, IPv4-compatible, SIIT, NAT64, 6to4).
 * Anything that is not an IP address counts as private.
 *
 * @example
 *   isPrivateAddress('64:ff9b::7f00:1'); // → true: NAT64 to 127.0.0.1
 *   isPrivateAddress('2606:4700::1111'); // → false
 */
export function isPrivateAddress(address: string, own: readonly string[] = hostAddresses()): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  const self = new BlockList();
  for (const a of own) if (isIP(a)) self.addAddress(a, isIP(a) === 4 ? 'ipv4' : 'ipv6');
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (self.check(address, type) || REFUSED.check(address, type)) return true;
  return family === 6 && !GLOBAL_UNICAST.check(address, 'ipv6') && !CARRIERS.check(address, 'ipv6');
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
  const own = hostAddresses();
  if (addresses.some((a) => isPrivateAddress(a, own))) {
    throw badRequest(
      `Invalid webhook_endpoint: "${host}" is not a public address (loopback, private, link-local, reserved, documentation, multicast, or this host's own).`,
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
    const own = hostAddresses();
    const bad = list.find((a) => isPrivateAddress(a.address, own));
    if (bad) {
      const refused = new Error(`webhook host ${hostname} resolves to the private address ${bad.address}`);
      return callback(Object.assign(refused, { code: 'EPRIVATE' }), '', 0);
    }
    if (options.all) return callback(null, list);
    callback(null, list[0].address, list[0].family);
  });
};
