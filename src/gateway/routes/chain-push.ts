/** `POST /api/v1/chains/push`: what `girder push chain.ts` uploads to (the rest of `/chains` is the management API's). */
import { BUNDLE_CONTENT_TYPE } from '../../control/packaging/bundle.ts';
import { badRequest } from '../../errors.ts';
import type { ChainDeploymentRecord } from '../../records/chains.ts';
import { receiveChainPush } from '../../runtime/chain-push.ts';
import type { App } from '../app-context.ts';
import type { Route } from './management.ts';

const flag = (q: URLSearchParams, name: string): boolean => q.get(name) === 'true' || q.get(name) === '1';

/** A chain deployment as a push answers it: Baseten's `ChainDeploymentV1` fields Girder knows now. */
export function chainDeploymentBrief(app: App, d: ChainDeploymentRecord, environment: string | null) {
  return {
    id: d.id,
    name: d.name,
    created_at: d.createdAt,
    chain_id: d.chainId,
    environment,
    chainlets: d.chainlets.map((c) => {
      const record = app.registry.deployments.get(c.deploymentId);
      const status = record ? app.supervisor.status(record) : { status: 'INACTIVE', active_replica_count: 0 };
      return { id: c.deploymentId, name: c.name, model_id: c.modelId, ...status };
    }),
  };
}

export const CHAIN_PUSH_ROUTES: Route[] = [
  [
    'POST',
    /^\/chains\/push$/,
    async ({ app, req, query }) => {
      if (!req.headers['content-type']?.startsWith(BUNDLE_CONTENT_TYPE))
        throw badRequest(
          `A push must have the content type ${BUNDLE_CONTENT_TYPE}.`,
          'Push a chain with `girder push chain.ts`.',
        );
      const file = query.get('file');
      if (!file)
        throw badRequest(
          'A chain push names its chain file: ?file=chain.ts.',
          'Push a chain with `girder push chain.ts`.',
        );
      const r = await receiveChainPush(
        app,
        app.options.dataDir,
        req,
        {
          file,
          name: query.get('name') ?? undefined,
          promote: flag(query, 'promote'),
          development: flag(query, 'development'),
          environment: query.get('environment') ?? undefined,
        },
        app.options.maxPushBytes,
      );
      return {
        chain: { id: r.chain.id, name: r.chain.name },
        deployment: chainDeploymentBrief(app, r.deployment, r.environment),
      };
    },
  ],
];
