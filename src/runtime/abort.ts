/** Why a call was aborted: the gateway's deadline, or the client going away. */
export const TIMEOUT = Symbol('timeout');
export const CLIENT_GONE = Symbol('client gone');

export class AbortReason extends Error {
  readonly why: typeof TIMEOUT | typeof CLIENT_GONE;
  constructor(why: typeof TIMEOUT | typeof CLIENT_GONE) {
    super(why === TIMEOUT ? 'timeout' : 'client closed the connection');
    this.why = why;
  }
}
