import { createServer } from 'node:net';

/**
 * Finds a free loopback port by binding port 0 and closing it again. Another process may take the
 * port before the caller binds it; replicas and tests on one machine accept that small race.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
