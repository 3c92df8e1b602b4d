/**
 * The records of chains. A chain's chainlets run as internal models (`ModelRecord.chainId` set), one
 * deployment per chainlet per chain deployment, so the runtime (replicas, autoscaling, logs, parking,
 * wake) serves them unchanged; these records tie those deployments together.
 */
import type { ChainletSettings, RpcOptions } from '../sdk/chains/settings.ts';
import type { PromotionSettings } from './control.ts';

export interface ChainRecord {
  /** 8 lowercase alphanumerics, as model ids. */
  id: string;
  /** Unique among chains (not shared with model names). */
  name: string;
  createdAt: string;
  /** Last number used for `deployment-N` names; never reused after a delete. */
  deploymentSeq: number;
}

/** A chainlet's dependency as the describe step found it. */
export type ChainletDependency =
  | { key: string; kind: 'chainlet'; chainlet: string; options: RpcOptions }
  | {
      key: string;
      kind: 'model';
      /** The model's name or id, as `model(…)` declared it. */
      model: {
        key: string;
        name: string | null;
        id: string | null;
        environment: string | null;
        deploymentId: string | null;
      };
      options: RpcOptions;
    };

/** One chainlet of a chain as `girder push` found it, by importing the chain file in a sandbox. */
export interface ChainletNode {
  name: string;
  entrypoint: boolean;
  deps: ChainletDependency[];
  settings: ChainletSettings;
}

/** What a chain deployment runs: the chain file and the graph found from its entrypoint. */
export interface ChainGraphRecord {
  /** The chain file, relative to the snapshot (`chain.ts`, `src/chain.ts`). */
  file: string;
  /** The entrypoint chainlet's name. */
  entrypoint: string;
  /** Every chainlet, the entrypoint first. */
  chainlets: ChainletNode[];
}

/** Which model and deployment serve one chainlet of a chain deployment. */
export interface ChainletDeploymentRef {
  name: string;
  modelId: string;
  deploymentId: string;
}

export interface ChainDeploymentRecord {
  /** 7 lowercase alphanumerics, as deployment ids. */
  id: string;
  chainId: string;
  /** `deployment-N`, or `development`. */
  name: string;
  createdAt: string;
  isDevelopment: boolean;
  /** false once deactivated: its chainlet deployments are deactivated with it and its key is revoked. */
  active: boolean;
  /** Absolute path of the immutable snapshot of the chain file's folder (shared by every chainlet). */
  dir: string;
  graph: ChainGraphRecord;
  /** One per chainlet, in the graph's order (the entrypoint first). */
  chainlets: ChainletDeploymentRef[];
  /**
   * The chain-scoped invoke key its chainlets call each other with (`baseten_chain_api_key`), kept as
   * workspace secrets are kept (the store is Girder's only); its hash is an `ApiKeyRecord` with
   * `chainDeploymentId` set. null once revoked (deactivated).
   */
  invokeKey: string | null;
}

export interface ChainEnvironmentRecord {
  chainId: string;
  name: string;
  createdAt: string;
  currentDeploymentId: string | null;
  promotion: PromotionSettings;
}

/** The model name of a chainlet's internal model: `:` never appears in a pushed model's name. */
export const chainletModelName = (chainId: string, chainlet: string): string => `chain:${chainId}:${chainlet}`;
