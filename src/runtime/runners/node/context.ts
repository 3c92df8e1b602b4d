import type { IncomingMessage } from 'node:http';
import { newRequestId } from '../../../ids.ts';
import type { ModelContext } from '../../../sdk/index.ts';

// Not `import … from 'node:http'`: an ES import of node:http reads every export, and its lazy WebSocket
// getters load Node's bundled undici, 11 ms of a replica's 60 ms start. The CommonJS object reads none.
const { ServerResponse } = process.getBuiltinModule('node:http');

/** A response that knows its request's context, so one shared 'close' listener serves every request. */
export class Reply extends ServerResponse {
  ctx: RequestContext | undefined = undefined;
}

/**
 * The `ctx` a model receives. The AbortController is created only if the model reads `signal`,
 * since most models never do.
 *
 * @example
 *   const ctx = RequestContext.attach(req, res);
 *   await model.predict(input, ctx);
 */
export class RequestContext implements ModelContext {
  readonly requestId: string;
  readonly headers: Record<string, string | undefined>;
  /** True once the client went away before the response was complete. */
  aborted = false;
  readonly #res: Reply;
  #controller: AbortController | undefined = undefined;

  private constructor(req: IncomingMessage, res: Reply) {
    // Node folds repeated request headers into one string (set-cookie aside, which requests lack).
    this.headers = req.headers as Record<string, string | undefined>;
    this.requestId = this.headers['x-baseten-request-id'] || newRequestId();
    this.#res = res;
  }

  /** Creates the context of a request and aborts it when the client disconnects early. */
  static attach(req: IncomingMessage, res: Reply): RequestContext {
    const ctx = new RequestContext(req, res);
    res.ctx = ctx;
    res.once('close', onResponseClose);
    return ctx;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.aborted) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  setHeader(name: string, value: string): void {
    this.#res.setHeader(name, value);
  }

  abort(): void {
    this.aborted = true;
    this.#controller?.abort();
  }
}

/** 'close' also follows a complete response; only an unfinished one means the client left. */
function onResponseClose(this: Reply): void {
  if (!this.writableFinished) this.ctx?.abort();
}
