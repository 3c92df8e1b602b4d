import { randomBytes, randomFillSync, randomInt } from 'node:crypto';

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

function alnum(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALNUM[randomInt(ALNUM.length)];
  return out;
}

/** Model and chain ids: 8 lowercase alphanumerics, e.g. `232dyk2q`, as Baseten's. */
export const newModelId = (): string => alnum(8);
/** Deployment ids: 7 lowercase alphanumerics, e.g. `3m59z1z`. */
export const newDeploymentId = (): string => alnum(7);
// Request ids come from a pool of random bytes refilled 4 KiB at a time: one call into OpenSSL per
// 256 ids instead of one per request (it was the costliest step of a proxied request).
const POOL = Buffer.allocUnsafe(4096);
let poolOffset = POOL.length;

/** Request ids: 32 lowercase hex. */
export function newRequestId(): string {
  if (poolOffset === POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  poolOffset += 16;
  return POOL.toString('hex', poolOffset - 16, poolOffset);
}
/** Replica ids are ours only: `r` + 6 alphanumerics. */
export const newReplicaId = (): string => `r${alnum(6)}`;

export const MODEL_ID_RE = /^[a-z0-9]{8}$/;
export const REQUEST_ID_RE = /^[0-9a-f]{32}$/;

/** An API key: `<prefix>.<secret>`, prefix 8 and secret 32 alphanumerics (Baseten's `abcd1234.abcd1234` form). */
export const newApiKey = (): string => `${alnum(8)}.${alnum(32)}`;
/** A webhook secret as Baseten shows them: `whsec_` + 40 alphanumerics. */
export const newWebhookSecret = (): string =>
  `whsec_${randomBytes(30).toString('base64url').replace(/[-_]/g, 'x').slice(0, 40)}`;
