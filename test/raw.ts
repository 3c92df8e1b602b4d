import { connect } from 'node:net';
import { type Answer, parseAnswers } from '../src/gateway/http1/front-door.harness.ts';
import { ERROR_STATUS } from '../src/errors.ts';

export type { Answer };

/** What a raw exchange got: every byte the server sent, and whether it closed the connection. */
export interface Exchange {
  text: string;
  closed: boolean;
  answers: Answer[];
}

/**
 * Sends `bytes` on a new connection to 127.0.0.1:`port` exactly as given (no client library
 * to refuse or fix them), and collects what comes back until the server closes the connection
 * or `ms` pass. `keepOpen` leaves our side open after the write, as a client still sending would.
 *
 * @example
 *   const x = await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
 *   x.answers[0].status // 200
 */
export function exchange(port: number, bytes: string | Buffer, ms = 5_000): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let closed = false;
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ text, closed, answers: parseAnswers(text) });
    };
    const timer = setTimeout(done, ms);
    socket.on('error', () => {}); // 'close' follows
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => {
      closed = true;
      done();
    });
    socket.on('close', () => {
      closed = true;
      done();
    });
    socket.write(bytes);
  });
}

/**
 * The problem with `a` as an ErrorResponse, or undefined when it is one (with a detail).
 *
 * @example
 *   assert.equal(notAnErrorResponse(x.answers[0]), undefined, x.text);
 */
export function notAnErrorResponse(a: Answer): string | undefined {
  if (!a.headers['content-type']?.startsWith('application/json')) return `content-type ${a.headers['content-type']}`;
  let body: { error?: unknown; error_code?: unknown; detail?: unknown };
  try {
    body = JSON.parse(a.body);
  } catch {
    return `body ${JSON.stringify(a.body.slice(0, 200))}`;
  }
  if (typeof body.error !== 'string' || !body.error) return `error ${JSON.stringify(body.error)}`;
  if (typeof body.error_code !== 'string' || !(body.error_code in ERROR_STATUS))
    return `error_code ${JSON.stringify(body.error_code)}`;
  if (typeof body.detail !== 'string' || !body.detail) return `detail ${JSON.stringify(body.detail)}`;
  return undefined;
}

/**
 * What keeps an answer from being an OpenAI-shaped error (`{"error": {"message", "type", "param",
 * "code"}}`, the `/v1` API's), or undefined.
 *
 * @example
 *   assert.equal(notAnOpenAIError(answer), undefined);
 */
export function notAnOpenAIError(a: Answer): string | undefined {
  if (!a.headers['content-type']?.startsWith('application/json')) return `content-type ${a.headers['content-type']}`;
  let body: { error?: { message?: unknown; type?: unknown; code?: unknown } };
  try {
    body = JSON.parse(a.body);
  } catch {
    return `body ${JSON.stringify(a.body.slice(0, 200))}`;
  }
  const e = body.error;
  if (!e || typeof e !== 'object') return `error ${JSON.stringify(e)}`;
  if (typeof e.message !== 'string' || !e.message) return `error.message ${JSON.stringify(e.message)}`;
  if (typeof e.type !== 'string' || !e.type) return `error.type ${JSON.stringify(e.type)}`;
  if (!a.headers['x-girder-error-reason']) return 'no x-girder-error-reason';
  return undefined;
}
