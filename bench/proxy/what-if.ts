/**
 * "What if" patches for the in-process Girder, to measure a proposed change to its request path
 * without editing src/: each one imitates the change at runtime, process-wide. For measurement
 * only, never for serving (they change Node built-ins for the whole process).
 *
 *   defer-flush src/gateway/proxy.ts calls res.flushHeaders() right after writeHead, so the head of
 *               every response leaves in a write of its own, before the body (one more send()
 *               syscall and TCP segment per request). The patch defers the flush to the end of the
 *               current tick and skips it if the body started meanwhile: undici hands over the
 *               head and the first body chunk in the same tick when they arrive together, so Node
 *               then sends head, body and end in one writev; a stream whose first chunk comes later
 *               still gets its head at once.
 *   pooled-id   src/ids.ts newRequestId() calls randomBytes(16) per request: a synchronous OpenSSL
 *               RAND_bytes call (plus a getpid() syscall) each time. The patch serves small
 *               synchronous randomBytes calls from a pre-filled 8 KiB pool, as crypto.randomUUID()
 *               does internally.
 */
import crypto from 'node:crypto';
import { ServerResponse } from 'node:http';
import { syncBuiltinESMExports } from 'node:module';

export const WHAT_IFS = ['defer-flush', 'pooled-id'] as const;
export type WhatIf = (typeof WHAT_IFS)[number];

/** Applies the patches; returns a function that undoes them. */
export function applyWhatIfs(which: readonly WhatIf[]): () => void {
  const undo: Array<() => void> = [];
  if (which.includes('defer-flush')) {
    const original = ServerResponse.prototype.flushHeaders;
    ServerResponse.prototype.flushHeaders = function (this: ServerResponse) {
      process.nextTick(() => { if (!this.headersSent && !this.destroyed) original.call(this); });
    };
    undo.push(() => { ServerResponse.prototype.flushHeaders = original; });
  }
  if (which.includes('pooled-id')) {
    const original = crypto.randomBytes;
    const POOL = 8192;
    let pool = Buffer.allocUnsafe(POOL);
    let offset = POOL;
    const pooled = ((size: number, cb?: unknown) => {
      if (cb !== undefined || size > 256) return (original as (...a: unknown[]) => Buffer)(size, cb);
      if (offset + size > POOL) {
        pool = Buffer.allocUnsafe(POOL);
        crypto.randomFillSync(pool);
        offset = 0;
      }
      const out = Buffer.from(pool.subarray(offset, offset + size));
      offset += size;
      return out;
    }) as typeof crypto.randomBytes;
    crypto.randomBytes = pooled;
    syncBuiltinESMExports(); // `import { randomBytes } from 'node:crypto'` in src/ids.ts now sees it
    undo.push(() => { crypto.randomBytes = original; syncBuiltinESMExports(); });
  }
  return () => { for (const u of undo.reverse()) u(); };
}
