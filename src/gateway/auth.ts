import { canInvoke, canManage, type KeyRing } from '../control/keys.ts';
import type { ApiKeyRecord } from '../records/control.ts';
import { GirderError, forbidden } from '../errors.ts';
import type { InboundRequest } from './exchange.ts';

/**
 * The key a request carries: `Authorization: Api-Key <key>` (Baseten's legacy scheme) or
 * `Authorization: Bearer <key>`. Throws 401 `unauthorized` when it is missing or unknown.
 */
export function authenticate(req: Pick<InboundRequest, 'headers'>, keys: KeyRing): ApiKeyRecord {
  const header = (req.headers.authorization ?? '').trim();
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const key = space < 0 ? '' : header.slice(space + 1).trim();
  // No header, an empty one, or a scheme with nothing after it: the caller's key variable was empty.
  if (!header || ((scheme === 'api-key' || scheme === 'bearer') && !key)) {
    throw new GirderError(
      'unauthorized',
      'No API key was sent.',
      'Send the header `Authorization: Api-Key <key>` (or `Bearer <key>`); if you used $GIRDER_API_KEY, it is empty in this shell.',
    );
  }
  if (scheme !== 'api-key' && scheme !== 'bearer') {
    throw new GirderError(
      'unauthorized',
      'Unsupported Authorization scheme.',
      'Use `Authorization: Api-Key <key>` or `Authorization: Bearer <key>`.',
    );
  }
  const record = keys.verify(key);
  if (!record)
    throw new GirderError(
      'unauthorized',
      'Invalid API key.',
      'Check the key, or create one with `girder keys create`.',
    );
  return record;
}

/** 403 unless the key may call this model. */
export function requireInvoke(key: ApiKeyRecord, modelId: string): void {
  if (!canInvoke(key, modelId)) {
    throw forbidden(
      `This API key may not call model ${modelId}.`,
      'Use a key scoped to this model, or a WORKSPACE_MANAGE_ALL key.',
    );
  }
}

/** 403 unless the key may use the management API. */
export function requireManage(key: ApiKeyRecord): void {
  if (!canManage(key)) {
    throw forbidden(`A ${key.type} key may not use the management API.`, 'Use a PERSONAL or WORKSPACE_MANAGE_ALL key.');
  }
}
