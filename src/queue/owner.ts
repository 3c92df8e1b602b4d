import type { AsyncRequestHead } from '../records/async.ts';

/**
 * Who an async request belongs to, as its status and cancel URL name it: `/model-{id}/async_request/…`
 * or `/chain-{id}/async_request/…`. A chain's request runs on its entrypoint chainlet's internal model,
 * but only the chain's URLs reach it, and a model's URLs never reach a chain's request.
 */
export interface AsyncOwner {
  kind: 'model' | 'chain';
  id: string;
}

/**
 * Whether the request is the owner's.
 *
 * @example
 *   ownedBy(head, { kind: 'chain', id: head.chainId! }); // true
 *   ownedBy(head, { kind: 'model', id: head.modelId });  // false for a chain's request
 */
export function ownedBy(h: AsyncRequestHead, owner: AsyncOwner): boolean {
  return owner.kind === 'chain' ? h.chainId === owner.id : h.chainId === undefined && h.modelId === owner.id;
}

/** The chain a request was sent to: set on a chain's submit (`async_run_remote`). */
export interface ChainOfRequest {
  chainId: string;
  chainDeploymentId: string;
}
