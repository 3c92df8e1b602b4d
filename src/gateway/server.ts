import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { GirderError } from '../errors.ts';
import { newRequestId } from '../ids.ts';
import type { App } from './app-context.ts';
import { failRequest, sendJson } from './respond.ts';
import { handleAsyncRequest } from './routes/async.ts';
import { handleInference } from './routes/inference.ts';
import { handleManagement } from './routes/management.ts';
import { parseRoute, type Route } from './target.ts';

function dispatch(app: App, req: IncomingMessage, res: ServerResponse, route: Route, requestId: string): Promise<void> | void {
  switch (route.surface) {
    case 'inference':
      return handleInference(app, req, res, route, requestId);
    case 'management':
      return handleManagement(app, req, res, route.path, requestId);
    case 'root':
      return sendJson(res, 200, { name: 'girder', docs: 'README.md', models: '/api/v1/models' });
    case 'async_request':
      return handleAsyncRequest(app, req, res, route, requestId);
    case 'openai':
    case 'metrics':
      throw new GirderError('model_does_not_exist', `No route for ${req.url}.`, 'This surface is not available in this Girder yet.');
  }
}

/**
 * The HTTP front door: every request gets a request id, is mapped to a surface by host and path,
 * and any failure leaves as an ErrorResponse carrying that id.
 */
export function createGatewayServer(app: App): Server {
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => {
    const requestId = newRequestId();
    try {
      const done = dispatch(app, req, res, parseRoute(req.headers.host, req.url ?? '/', app.options.domain), requestId);
      if (done) done.catch((err: unknown) => failRequest(res, err, requestId));
    } catch (err) {
      failRequest(res, err, requestId);
    }
  });
  return server;
}
