/**
 * Hop-by-hop headers never cross a proxy (RFC 9110 §7.6.1): the set the benchmarks' own proxies
 * (baseline-proxy.ts, layers.ts' minimal one) drop from the answer, as src/gateway/proxy.ts does.
 */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
]);
