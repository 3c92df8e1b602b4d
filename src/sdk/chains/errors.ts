/**
 * How a failure travels up a chain. Each hop answers an error as Truss Chains' `RemoteErrorDetail`
 * (`{"error": {"exception_cls_name", "exception_module_name", "exception_message", "user_stack_trace"}}`)
 * so that a chainlet in another language can read it, plus `girder_chain`: the frames below, which a
 * Truss peer ignores. `runLocal` encodes and decodes every error through this module, as the deployed
 * runner will, so a local run reports the same chain of calls.
 */

/** One line of a stack trace, as Truss reports it. */
export interface StackLine {
  filename: string;
  lineno: number | null;
  name: string;
  line: string;
}

/** What one chainlet on the way raised. */
export interface ErrorFrame {
  /** The chainlet's name (its class name unless its spec sets `name`). */
  chainlet: string;
  /** The error's class, e.g. `TypeError`, `HttpError`, `ChainletError`. */
  errorClass: string;
  message: string;
  stack: StackLine[];
}

/** The wire form of an error, the body of a failed hop. */
export interface WireError {
  error: {
    exception_cls_name: string;
    exception_module_name: string | null;
    exception_message: string;
    user_stack_trace: StackLine[];
    girder_chain?: {
      chainlet: string;
      exception_cls_name: string;
      exception_message: string;
      user_stack_trace: StackLine[];
    }[];
  };
}

/**
 * A dependency failed. `chain` is the chain of calls from that dependency down to the root cause (last);
 * `status` is the hop's HTTP status: 500, or the status of an `HttpError` (kept up the chain), or 400
 * when the dependency rejected its input. Uncaught in a chainlet, it fails that chainlet in turn, with
 * the same status, and the chain grows by one frame.
 *
 * @example
 *   try {
 *     await this.deps.sayHello.runRemote({ name });
 *   } catch (err) {
 *     if (err instanceof ChainletError && err.status === 400) return 'invalid name';
 *     throw err;
 *   }
 */
export class ChainletError extends Error {
  /** The dependency that was called. */
  readonly chainlet: string;
  readonly status: number;
  /** From the called chainlet (first) to the one that raised the root cause (last); never empty. */
  readonly chain: readonly ErrorFrame[];

  constructor(status: number, chain: ErrorFrame[]) {
    const root = chain[chain.length - 1];
    const via = chain.length > 1 ? ` (via ${chain.map((f) => f.chainlet).join(' → ')})` : '';
    super(`Chainlet \`${root.chainlet}\` raised ${root.errorClass}: ${root.message}${via}`);
    this.name = 'ChainletError';
    this.chainlet = chain[0].chainlet;
    this.status = status;
    this.chain = chain;
  }

  /** The root cause: what the deepest chainlet raised. */
  get root(): ErrorFrame {
    return this.chain[this.chain.length - 1];
  }
}

/** Thrown in a chainlet whose call to a dependency took longer than its `timeoutSec`; not retried. */
export class ChainletTimeoutError extends Error {
  readonly chainlet: string;
  readonly timeoutSec: number;

  constructor(chainlet: string, timeoutSec: number) {
    super(`Timeout calling chainlet \`${chainlet}\` (${timeoutSec} seconds limit).`);
    this.name = 'TimeoutError';
    this.chainlet = chainlet;
    this.timeoutSec = timeoutSec;
  }
}

/**
 * The HTTP status a chainlet's error answers with: its own `status`/`statusCode` if 400–599, else 500.
 * A dependency that rejected its input is the caller's bug, not its client's: 500 up the chain.
 */
export function statusOf(err: unknown): number {
  if (err instanceof ChainletError && err.root.errorClass === 'InputValidationError') return 500;
  const e = err as { status?: unknown; statusCode?: unknown } | null;
  const s = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : 500;
  return Number.isInteger(s) && s >= 400 && s <= 599 ? s : 500;
}

/** The frames an error raised in `chainlet` adds: its own, then a `ChainletError` cause's chain. */
export function framesOf(chainlet: string, err: unknown): ErrorFrame[] {
  const e = err instanceof Error ? err : new Error(String(err));
  const own: ErrorFrame = { chainlet, errorClass: e.name || e.constructor.name, message: e.message, stack: stackOf(e) };
  const below = err instanceof ChainletError ? err.chain : e.cause instanceof ChainletError ? e.cause.chain : [];
  return [own, ...below];
}

/**
 * The wire body for an error raised in `chainlet`: the root cause's class and message at the top (what a
 * Truss caller re-raises), every frame in `girder_chain`.
 *
 * @example
 *   const body = toWireError('SayHello', new TypeError('bad name')); // body.error.exception_cls_name === 'TypeError'
 */
export function toWireError(chainlet: string, err: unknown): WireError {
  const frames = framesOf(chainlet, err);
  const root = frames[frames.length - 1];
  return {
    error: {
      exception_cls_name: root.errorClass,
      exception_module_name: null,
      exception_message: root.message,
      user_stack_trace: root.stack,
      girder_chain: frames.map((f) => ({
        chainlet: f.chainlet,
        exception_cls_name: f.errorClass,
        exception_message: f.message,
        user_stack_trace: f.stack,
      })),
    },
  };
}

/**
 * The `ChainletError` a caller raises for a failed hop to `chainlet`, from the body it answered. A body
 * without `girder_chain` (a Truss peer) or not in the wire form at all (a gateway's or a model's error)
 * is one frame.
 *
 * @example
 *   const err = fromWireError('SayHello', 500, JSON.parse(text));
 */
export function fromWireError(chainlet: string, status: number, body: unknown): ChainletError {
  const error = (body as { error?: unknown } | null)?.error;
  if (error && typeof error === 'object') {
    const e = error as Partial<WireError['error']>;
    if (Array.isArray(e.girder_chain) && e.girder_chain.length > 0) {
      return new ChainletError(
        status,
        e.girder_chain.map((f) => ({
          chainlet: String(f.chainlet),
          errorClass: String(f.exception_cls_name),
          message: String(f.exception_message),
          stack: Array.isArray(f.user_stack_trace) ? f.user_stack_trace : [],
        })),
      );
    }
    const frame: ErrorFrame = {
      chainlet,
      errorClass: String(e.exception_cls_name ?? 'Error'),
      message: String(e.exception_message ?? ''),
      stack: Array.isArray(e.user_stack_trace) ? e.user_stack_trace : [],
    };
    return new ChainletError(status, [frame]);
  }
  const message = typeof error === 'string' ? error : `HTTP ${status}: ${JSON.stringify(body)}`;
  return new ChainletError(status, [{ chainlet, errorClass: 'RemoteError', message, stack: [] }]);
}

const SDK_DIR = new URL('.', import.meta.url).pathname;

/** Girder's runtime (the deployed runner and its stubs), whose frames are no user's either. */
const RUNTIME_DIR = new URL('../../runtime/', import.meta.url).pathname;

/** The SDK's own modules (the frames of a hop, a stub, a policy); its tests are user code. */
function isSdkFile(file: string): boolean {
  if (file.startsWith(RUNTIME_DIR) && !file.endsWith('.test.ts')) return true;
  return file.startsWith(SDK_DIR) && !file.slice(SDK_DIR.length).includes('/') && !file.endsWith('.test.ts');
}

const FRAME_RE = /^\s*at (?:(.+?) \()?(?:file:\/\/)?(\/[^:)]+):(\d+):\d+\)?$/;

/** The user's frames of `err.stack`: Node's internals and this SDK's own frames left out. */
function stackOf(err: Error): StackLine[] {
  const lines: StackLine[] = [];
  for (const text of (err.stack ?? '').split('\n').slice(1)) {
    const m = FRAME_RE.exec(text);
    if (!m || m[2].includes('/node_modules/') || isSdkFile(m[2])) continue;
    lines.push({ filename: m[2], lineno: Number(m[3]), name: m[1] ?? '<module>', line: '' });
  }
  return lines;
}

/**
 * `fromWireError` for an error answer's body as text: a body that is not JSON (a proxy's page, a
 * server's plain message) is kept as the message.
 *
 * @example
 *   throw fromWireText('SayHello', 502, 'Bad Gateway'); // ChainletError 502 "Bad Gateway"
 */
export function fromWireText(chainlet: string, status: number, text: string): ChainletError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = { error: text };
  }
  return fromWireError(chainlet, status, body);
}
