import { connect } from 'node:net';
import { BUNDLE_CONTENT_TYPE } from '../src/control/packaging/bundle.ts';

/**
 * Crafted push uploads over a raw socket, for tests of what `girder push` never sends: bundles with
 * bad entries, uploads cut short, sent in parts with pauses between them.
 */

/**
 * One bundle entry as `bundle.ts` frames it: a JSON header line, then the bytes. `size` may lie.
 *
 * @example
 *   Buffer.concat([entry('config.yaml', 'model_name: x\n'), entry('.', 'data')])
 */
export function entry(path: string, data: string | Buffer = '', size = Buffer.byteLength(data)): Buffer {
  return Buffer.concat([Buffer.from(`${JSON.stringify({ path, mode: 0o644, size })}\n`), Buffer.from(data)]);
}

export interface RawAnswer {
  status: number;
  json: any;
  text: string;
}

export interface RawPushOptions {
  /** Pause before each part after the first (default 1000 ms: the server waits for more data). */
  gapMs?: number;
  /** How the upload ends after the last part: the final chunk (default), or the client leaving. */
  end?: 'complete' | 'abort';
}

/**
 * Sends `parts` as the chunked body of `POST /api/v1/models/push`, one chunk per part with a pause
 * between them, and resolves with the answer, or null when the socket closed without one (an abort,
 * or a server that died). An answer that arrives before the last part ends the upload there.
 *
 * @example
 *   const r = await rawPush(url, key, [entry('.', '01234', 10), Buffer.from('56789')]);
 *   r?.status; // → 400
 */
export function rawPush(
  url: string,
  key: string,
  parts: Buffer[],
  opts: RawPushOptions = {},
): Promise<RawAnswer | null> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => {}); // the server may reset an upload it refused; the answer came first
  let received = Buffer.alloc(0);
  let answered: RawAnswer | null = null;
  const done = new Promise<RawAnswer | null>((resolve) => {
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
      answered = parseAnswer(received);
      if (answered) {
        socket.destroy();
        resolve(answered);
      }
    });
    socket.on('close', () => resolve(answered));
  });
  void (async () => {
    socket.write(
      'POST /api/v1/models/push HTTP/1.1\r\nHost: girder\r\n' +
        `Authorization: Api-Key ${key}\r\nContent-Type: ${BUNDLE_CONTENT_TYPE}\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    for (const [i, part] of parts.entries()) {
      if (i > 0) await new Promise((r) => setTimeout(r, opts.gapMs ?? 1000));
      if (answered || socket.destroyed) return;
      socket.write(`${part.length.toString(16)}\r\n`);
      socket.write(part);
      socket.write('\r\n');
    }
    if (opts.end === 'abort') socket.destroy();
    else socket.write('0\r\n\r\n');
  })();
  return done;
}

/** A whole HTTP/1.1 answer framed by Content-Length, or null while it is incomplete. */
function parseAnswer(buf: Buffer): RawAnswer | null {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const head = buf.subarray(0, headEnd).toString('latin1');
  const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
  if (buf.length < headEnd + 4 + length) return null;
  const text = buf.subarray(headEnd + 4, headEnd + 4 + length).toString('utf8');
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: Number(head.split(' ')[1]), json, text };
}
