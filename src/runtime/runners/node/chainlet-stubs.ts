/**
 * A deployed chainlet's stubs: each dependency is called over HTTP through Girder's gateway, at the
 * URL the dynamic chainlet config names (PROTOCOL.md, "Chainlets"), with the chain's key, the
 * caller's request headers passed on, and the dependency's `CallPolicy` (retries, timeout, limit).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Agent, request } from 'undici';
import type { CallOptions } from '../../../sdk/chains/chainlet.ts';
import { fromWireText } from '../../../sdk/chains/errors.ts';
import { encodeJson } from '../../../sdk/chains/json.ts';
import { CallPolicy } from '../../../sdk/chains/policy.ts';
import type { RpcOptions } from '../../../sdk/chains/settings.ts';

/** The headers of the request a chainlet is serving, passed on by every call it makes meanwhile. */
export const hopScope = new AsyncLocalStorage<Record<string, string | undefined>>();

const PASSED_ON = ['x-baseten-request-id', 'x-baseten-chain-request-id', 'traceparent'] as const;

export interface StubTarget {
  /** What errors and timeouts name: the chainlet's name, or `model X`. */
  name: string;
  url: string;
  /** Checks the input before sending (a model dependency's `input` schema). */
  check?: (input: unknown) => void;
}

/** One stub: `runRemote(input)` as the SDK's `Stub`, over HTTP. */
export function httpStub(target: StubTarget, options: RpcOptions, key: string) {
  const policy = new CallPolicy(target.name, options);
  const dispatcher = new Agent({ connections: options.concurrencyLimit, keepAliveTimeout: 30_000 });
  return {
    runRemote: (input: unknown, o: CallOptions = {}) => {
      target.check?.(input);
      // encoded before the policy: a value that is not JSON is the caller's bug, never retried
      const body = encodeJson(input, `the input of \`${target.name}\``);
      const incoming = hopScope.getStore() ?? {};
      const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Api-Key ${key}` };
      for (const name of PASSED_ON) {
        const value = incoming[name];
        if (value) headers[name] = value;
      }
      // the chain's request id is the entrypoint's, whichever hop this is
      const chainRequestId = incoming['x-baseten-chain-request-id'] ?? incoming['x-baseten-request-id'];
      if (chainRequestId) headers['x-baseten-chain-request-id'] = chainRequestId;
      return policy.call((signal) => attempt(target, dispatcher, body, headers, signal), o.signal);
    },
  };
}

/** One HTTP attempt: the JSON output, a stream of its body, or a thrown ChainletError / connection error. */
async function attempt(
  target: StubTarget,
  dispatcher: Agent,
  body: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<unknown> {
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(target.url, { method: 'POST', body, headers, signal, dispatcher });
  } catch (err) {
    throw signal.aborted ? signal.reason : err;
  }
  const type = String(res.headers['content-type'] ?? '');
  if (res.statusCode >= 300) {
    const text = await res.body.text();
    throw fromWireText(target.name, res.statusCode, text);
  }
  if (type.includes('json')) return res.body.json();
  return streamOf(res.body, type.startsWith('text/'));
}

async function* streamOf(body: AsyncIterable<Buffer>, text: boolean): AsyncGenerator<string | Uint8Array> {
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    if (text) {
      const s = decoder.decode(chunk, { stream: true });
      if (s) yield s;
    } else yield new Uint8Array(chunk);
  }
}
