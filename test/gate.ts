import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A gate a model waits on (the `gate_url` behaviour): each GET is held until `open()` answers it. */
export interface Gate {
  /** The URL to hand to the model. */
  readonly url: string;
  /** How many callers wait now. */
  waiting(): number;
  /** Answers every waiting caller, so their predictions go on. */
  open(): void;
  close(): Promise<void>;
}

/**
 * Starts a gate on a loopback port. Tests use it instead of a long sleep, so that a slot stays busy
 * exactly as long as the test needs, however slow the machine is.
 *
 * @example
 *   const gate = await startGate();
 *   await submit({ gate_url: gate.url }); // holds the one slot
 *   gate.open();
 */
export async function startGate(): Promise<Gate> {
  const held: ServerResponse[] = [];
  const server = createServer((_req, res) => held.push(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    waiting: () => held.length,
    open: () => {
      for (const res of held.splice(0)) res.end('open');
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of held.splice(0)) res.end('open');
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
