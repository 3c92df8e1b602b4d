import type { IncomingMessage, ServerResponse } from 'node:http';
import { BUNDLE_CONTENT_TYPE } from '../../control/packaging/bundle.ts';
import { receivePush, removeUnusedSnapshot } from '../../control/packaging/push.ts';
import { badRequest, notFound } from '../../errors.ts';
import type { App } from '../app-context.ts';
import { authenticate, requireManage } from '../auth.ts';
import { readJson } from '../body.ts';
import { sendJson } from '../respond.ts';
import { decodeSegment } from '../target.ts';
import { BUILD_ROUTES } from './builds.ts';
import { followLogs } from './logs.ts';
import { OPENAI_ROUTES } from './openai-admin.ts';
import { EnvCreate, EnvPromote, KeyCreate, Promote, SecretPut } from './management-bodies.ts';
import { CHAIN_PUSH_ROUTES } from './chain-push.ts';
import { CHAIN_ROUTES } from './chains.ts';
import { SCALING_ROUTES } from './scaling.ts';
import { defined, parse } from './validation.ts';
import { apiKeyView, deploymentView, environmentView, modelView, secretView } from './views.ts';

/** What a management route handler gets. */
export interface Ctx {
  app: App;
  req: IncomingMessage;
  res: ServerResponse;
  params: string[];
  query: URLSearchParams;
  body: () => Promise<unknown>;
}

/** A handler returns the JSON to send, or undefined when it answered itself (streams). */
export type Handler = (ctx: Ctx) => Promise<unknown> | unknown;
/** Method, path pattern (its groups are the handler's params), handler. */
export type Route = [string, RegExp, Handler];

const JSON_LIMIT = 1024 * 1024;

const flag = (q: URLSearchParams, name: string): boolean => q.get(name) === 'true' || q.get(name) === '1';

const ROUTES: Route[] = [
  [
    'GET',
    /^\/models$/,
    ({ app }) => ({
      // a chainlet's internal model is listed with its chain
      models: [...app.registry.models.values()].filter((m) => m.chainId === undefined).map((m) => modelView(app, m)),
    }),
  ],
  [
    'POST',
    /^\/models\/push$/,
    async ({ app, req, query }) => {
      if (!req.headers['content-type']?.startsWith(BUNDLE_CONTENT_TYPE))
        throw badRequest(
          `A push must have the content type ${BUNDLE_CONTENT_TYPE}.`,
          'Push a model directory with `girder push DIR`.',
        );
      const r = await receivePush(
        app,
        app.options.dataDir,
        req,
        {
          name: query.get('name') ?? undefined,
          promote: flag(query, 'promote'),
          development: flag(query, 'development'),
          environment: query.get('environment') ?? undefined,
          source: query.get('source') ?? undefined,
        },
        app.options.maxPushBytes,
      );
      return { model: modelView(app, r.model), deployment: deploymentView(app, r.deployment), warnings: r.warnings };
    },
  ],
  ['GET', /^\/models\/([^/]+)$/, ({ app, params }) => modelView(app, app.registry.model(params[0]))],
  [
    'DELETE',
    /^\/models\/([^/]+)$/,
    async ({ app, params }) => {
      const removed = await app.deployments.deleteModel(params[0]);
      for (const d of removed)
        await Promise.all([removeUnusedSnapshot(app.registry, d.dir), app.supervisor.leftovers.removed(d.id)]);
      return { id: params[0], deleted: true };
    },
  ],
  [
    'GET',
    /^\/models\/([^/]+)\/deployments$/,
    ({ app, params }) => {
      app.registry.model(params[0]);
      return { deployments: app.registry.deploymentsOf(params[0]).map((d) => deploymentView(app, d)) };
    },
  ],
  [
    'GET',
    /^\/models\/([^/]+)\/deployments\/([^/]+)$/,
    ({ app, params }) => deploymentView(app, app.registry.deploymentOf(params[0], params[1])),
  ],
  [
    'DELETE',
    /^\/models\/([^/]+)\/deployments\/([^/]+)$/,
    async ({ app, params }) => {
      const d = await app.deployments.delete(params[0], params[1]);
      await Promise.all([removeUnusedSnapshot(app.registry, d.dir), app.supervisor.leftovers.removed(d.id)]);
      return { id: d.id, deleted: true, model_id: d.modelId };
    },
  ],
  [
    'POST',
    /^\/models\/([^/]+)\/deployments\/([^/]+)\/(activate|deactivate)$/,
    async ({ app, params }) => {
      const d = app.registry.deploymentOf(params[0], params[1]);
      const changed = await app.deployments.setActive(d.id, params[2] === 'activate');
      // Activating one that stopped trying to start (DEPLOY_FAILED) tries again.
      if (changed.active) app.supervisor.retry(changed);
      return { success: true };
    },
  ],
  [
    'POST',
    /^\/models\/([^/]+)\/deployments\/([^/]+)\/promote$/,
    async ({ app, params, body }) => {
      const keepPrevious = parse(Promote, await body()).scale_down_previous_production === false;
      const promoted = await app.environments.promote(params[0], params[1], 'production', {
        create: true,
        keepPrevious,
      });
      return deploymentView(app, promoted);
    },
  ],
  [
    'GET',
    /^\/models\/([^/]+)\/deployments\/([^/]+)\/logs$/,
    async ({ app, res, params, query }) => {
      const d = app.registry.deploymentOf(params[0], params[1]);
      await followLogs(app, res, d.id, Number(query.get('limit') ?? 200), flag(query, 'follow'));
      return undefined;
    },
  ],
  [
    'GET',
    /^\/models\/([^/]+)\/environments$/,
    ({ app, params }) => {
      app.registry.model(params[0]);
      return { environments: app.registry.environmentsOf(params[0]).map((e) => environmentView(app, e)) };
    },
  ],
  [
    'POST',
    /^\/models\/([^/]+)\/environments$/,
    async ({ app, params, body }) => {
      const input = parse(EnvCreate, await body());
      const autoscaling = defined(input.autoscaling_settings ?? {});
      const promotion = defined(input.promotion_settings ?? {});
      return environmentView(app, await app.environments.create(params[0], input.name, autoscaling, promotion));
    },
  ],
  [
    'GET',
    /^\/models\/([^/]+)\/environments\/([^/]+)$/,
    ({ app, params }) => {
      app.registry.model(params[0]);
      const env = app.registry.environment(params[0], params[1]);
      if (!env)
        throw notFound(
          `Model ${params[0]} has no environment "${params[1]}".`,
          'List its environments with GET /api/v1/models/{id}/environments.',
        );
      return environmentView(app, env);
    },
  ],
  [
    'POST',
    /^\/models\/([^/]+)\/environments\/([^/]+)\/promote$/,
    async ({ app, params, body }) => {
      const input = parse(EnvPromote, await body());
      const keepPrevious = input.scale_down_previous_deployment === false;
      return deploymentView(
        app,
        await app.environments.promote(params[0], input.deployment_id, params[1], { keepPrevious }),
      );
    },
  ],
  ...SCALING_ROUTES,
  ...CHAIN_PUSH_ROUTES,
  ...BUILD_ROUTES,
  ...CHAIN_ROUTES,
  ['GET', /^\/api_keys$/, ({ app }) => ({ keys: app.keys.list().map(apiKeyView) })],
  [
    'POST',
    /^\/api_keys$/,
    async ({ app, body }) => {
      const input = parse(KeyCreate, await body());
      const { key } = await app.keys.create({ ...input, modelIds: input.model_ids });
      return { api_key: key };
    },
  ],
  [
    'DELETE',
    /^\/api_keys\/([^/]+)$/,
    async ({ app, params }) => ({ prefix: (await app.keys.revoke(params[0])).prefix }),
  ],
  ['GET', /^\/webhook_secrets$/, ({ app }) => ({ webhook_secrets: app.webhookSecrets.list() })],
  [
    'POST',
    /^\/webhook_secrets$/,
    async ({ app }) => {
      const w = await app.webhookSecrets.create();
      return { id: w.id, secret: w.secret, created_at: w.createdAt };
    },
  ],
  [
    'POST',
    /^\/webhook_secrets\/([^/]+)\/rotate$/,
    async ({ app, params }) => {
      const w = await app.webhookSecrets.rotate(params[0]);
      const old = app.webhookSecrets.list().find((s) => s.id === params[0])!;
      return {
        id: w.id,
        secret: w.secret,
        created_at: w.createdAt,
        rotated: { id: old.id, expires_at: old.expires_at },
      };
    },
  ],
  [
    'DELETE',
    /^\/webhook_secrets\/([^/]+)$/,
    async ({ app, params }) => {
      await app.webhookSecrets.delete(params[0]);
      return { id: params[0], deleted: true };
    },
  ],
  ['GET', /^\/secrets$/, ({ app }) => ({ secrets: app.secrets.list().map(secretView) })],
  [
    'POST',
    /^\/secrets$/,
    async ({ app, body }) => {
      const input = parse(SecretPut, await body());
      const s = await app.secrets.put(input.name, input.value);
      await app.supervisor.leftovers.secretCopies(); // every copy holds the new value when this answers
      return secretView({ name: s.name, created_at: s.createdAt, updated_at: s.updatedAt });
    },
  ],
  [
    'DELETE',
    /^\/secrets\/([^/]+)$/,
    async ({ app, params }) => {
      await app.secrets.delete(params[0]);
      await app.supervisor.leftovers.secretCopies(); // no copy of it is left when this answers
      return { name: params[0] };
    },
  ],
  ...OPENAI_ROUTES,
];

/**
 * The management API (Baseten's `/v1` shapes) under `/api/v1` (or `/v1` on `api.{domain}`).
 * Every route needs a PERSONAL or WORKSPACE_MANAGE_ALL key.
 */
export async function handleManagement(
  app: App,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  requestId: string,
): Promise<void> {
  const key = authenticate(req, app.keys);
  requireManage(key);
  const q = req.url!.indexOf('?');
  const query = new URLSearchParams(q < 0 ? '' : req.url!.slice(q + 1));
  let pathMatched = false;
  for (const [method, re, handler] of ROUTES) {
    const m = re.exec(path);
    if (!m) continue;
    pathMatched = true;
    if (method !== req.method) continue;
    const params = m.slice(1).map(decodeSegment);
    if (path.startsWith('/models/')) refuseChainlet(app, params[0]);
    const result = await handler({ app, req, res, params, query, body: () => readJson(req, JSON_LIMIT) });
    if (result !== undefined) sendJson(res, 200, result, { 'x-baseten-request-id': requestId });
    return;
  }
  if (pathMatched)
    throw badRequest(
      `${req.method} is not allowed on /api/v1${path}.`,
      'See the management API in README.md for its methods.',
    );
  throw notFound(`No management route ${req.method} /api/v1${path}.`, 'See the management API in README.md.');
}

/** A chainlet's internal model is its chain's: the model routes, which could break it, do not know it (404). */
function refuseChainlet(app: App, modelId: string | undefined): void {
  const m = modelId === undefined ? undefined : app.registry.models.get(modelId);
  if (m?.chainId === undefined) return;
  throw notFound(
    `Model ${modelId} was not found: it is chainlet ${m.chainletName} of chain ${m.chainId}.`,
    `Manage it through /api/v1/chains/${m.chainId} (girder chains).`,
  );
}
