import { AsyncLocalStorage } from 'node:async_hooks';
import { format } from 'node:util';

/** The request id of the request whose code is running, if any. */
export const requestScope = new AsyncLocalStorage<string>();

const METHODS = [
  ['debug', 'debug', process.stdout],
  ['log', 'info', process.stdout],
  ['info', 'info', process.stdout],
  ['warn', 'warn', process.stderr],
  ['error', 'error', process.stderr],
] as const;

/**
 * Makes console output written while serving a request a JSON line Girder attributes to it
 * (PROTOCOL.md, Logs); output outside a request stays plain. Call once, before loading the model.
 *
 * @example
 *   patchConsole();
 *   requestScope.run('abc', () => console.log('hi')); // {"level":"info","msg":"hi","request_id":"abc"}
 */
export function patchConsole(): void {
  for (const [method, level, stream] of METHODS) {
    const plain = console[method];
    console[method] = (...args: unknown[]): void => {
      const requestId = requestScope.getStore();
      if (requestId === undefined) {
        plain.apply(console, args);
        return;
      }
      stream.write(`${JSON.stringify({ level, msg: format(...args), request_id: requestId })}\n`);
    };
  }
}
