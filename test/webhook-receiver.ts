import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Baseten's documented check of a webhook's signature, as a receiver would run it. */
export function verifyBasetenWebhook(rawBody: Buffer, header: string | undefined, secrets: string[]): boolean {
  if (!header) return false;
  const sigs = header
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('v1='))
    .map((s) => s.slice(3));
  return secrets.some((secret) => {
    const expected = createHmac('sha256', secret).update(rawBody).digest('hex');
    return sigs.some(
      (sig) => sig.length === expected.length && timingSafeEqual(Buffer.from(sig), Buffer.from(expected)),
    );
  });
}

export interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  body: any;
}

/**
 * A real webhook receiver on a loopback port. `respond` picks each answer's status (default 200);
 * `deliveries` keeps every call, in arrival order.
 */
export async function webhookReceiver(
  t: { after: (fn: () => Promise<void> | void) => void },
  respond: (d: Delivery, n: number) => number = () => 200,
) {
  const deliveries: Delivery[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks);
    const d: Delivery = { path: req.url ?? '/', headers: req.headers, raw, body: JSON.parse(raw.toString('utf8')) };
    deliveries.push(d);
    const status = respond(d, deliveries.filter((x) => x.body.request_id === d.body.request_id).length);
    res.writeHead(status, status === 301 ? { location: '/elsewhere' } : {});
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, deliveries, for: (id: string) => deliveries.filter((d) => d.body.request_id === id) };
}
