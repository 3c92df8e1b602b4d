/**
 * A chain's failure as its external caller gets it: the entrypoint's answer in the chains wire form
 * (`{"error": {"exception_cls_name", …, "girder_chain": [...]}}`) becomes an ErrorResponse whose `error`
 * is the root cause's message and whose `detail` is the chain of calls, each with where it was raised.
 */
import { GirderError } from '../errors.ts';

interface Frame {
  chainlet?: unknown;
  exception_cls_name?: unknown;
  exception_message?: unknown;
  user_stack_trace?: { filename?: unknown; lineno?: unknown; name?: unknown }[];
}

/**
 * The GirderError for a chainlet's error answer, or undefined when `body` is not in the wire form.
 * The entrypoint rejecting its input is the caller's `client_error` (400); anything else is
 * `application_error` with the answer's status (500, or an `HttpError`'s, kept up the chain).
 *
 * @example
 *   chainError(500, '{"error":{"exception_cls_name":"ValueError","exception_message":"too long",…}}')
 *   // → GirderError application_error 500 "too long", detail "HelloAll: ChainletError: …\nSayHello: ValueError: too long (chain.ts:12)"
 */
export function chainError(status: number, body: string): GirderError | undefined {
  let error: (Frame & { girder_chain?: Frame[] }) | undefined;
  try {
    error = JSON.parse(body)?.error;
  } catch {
    return undefined;
  }
  if (!error || typeof error !== 'object' || typeof error.exception_cls_name !== 'string') return undefined;
  const frames = Array.isArray(error.girder_chain) && error.girder_chain.length ? error.girder_chain : [error];
  const root = frames[frames.length - 1];
  const message = String(root.exception_message ?? '');
  if (status === 400 && frames.length === 1 && root.exception_cls_name === 'InputValidationError') {
    return new GirderError('client_error', message, 'Send the JSON keys and types of the entrypoint’s input schema.');
  }
  const lines = frames.map(
    (f) =>
      `${String(f.chainlet ?? '?')}: ${String(f.exception_cls_name)}: ${String(f.exception_message ?? '')}${where(f)}`,
  );
  return new GirderError('application_error', message, `Chain of calls, the root cause last:\n${lines.join('\n')}`, {
    status: status >= 400 && status <= 599 ? status : 500,
    reason: 'model_error',
  });
}

/** ` (at file:line in name)` for a frame's innermost user stack line. */
function where(f: Frame): string {
  const top = Array.isArray(f.user_stack_trace) ? f.user_stack_trace[0] : undefined;
  if (!top?.filename) return '';
  return ` (at ${String(top.filename)}:${String(top.lineno ?? '?')}${top.name ? ` in ${String(top.name)}` : ''})`;
}
