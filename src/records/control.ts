/**
 * The records Girder keeps. Runtime state (replica status, in-flight counts) is not here:
 * it is derived by the runtime and never stored.
 */

import type { ModelConfig } from './model-config.ts';

/** Baseten's API key types: PERSONAL and WORKSPACE_MANAGE_ALL manage, WORKSPACE_INVOKE calls models. */
export const API_KEY_TYPES = [
  'PERSONAL',
  'WORKSPACE_MANAGE_ALL',
  'WORKSPACE_EXPORT_METRICS',
  'WORKSPACE_INVOKE',
] as const;
export type ApiKeyType = (typeof API_KEY_TYPES)[number];

export interface AutoscalingSettings {
  min_replica: number;
  max_replica: number;
  autoscaling_window: number | null;
  scale_down_delay: number | null;
  concurrency_target: number;
  target_utilization_percentage: number | null;
  max_scale_down_rate?: number | null;
  /**
   * Baseten's early-access token-based scaling target (`AutoscalingSettingsV1`). Girder keeps and shows
   * it so that a client's settings round-trip; nothing scales on it yet.
   */
  target_in_flight_tokens?: number | null;
}

export interface PromotionSettings {
  redeploy_on_promotion?: boolean | null;
  rolling_deploy?: boolean | null;
  promotion_cleanup_strategy?: 'KEEP' | 'SCALE_TO_ZERO' | 'DEACTIVATE' | null;
}

export interface ModelRecord {
  id: string;
  name: string;
  createdAt: string;
  /** Last number used for `deployment-N` names; never reused after a delete. */
  deploymentSeq: number;
  /**
   * Set on the internal model that runs one chainlet of a chain (absent on a pushed model): such
   * models are hidden from model lists and answer only their chain's hops.
   */
  chainId?: string;
  /** The chainlet's name in its chain, with `chainId`. */
  chainletName?: string;
}

export interface DeploymentRecord {
  id: string;
  modelId: string;
  name: string;
  createdAt: string;
  isDevelopment: boolean;
  /** false once deactivated: no replicas, requests get 404 model_unavailable. */
  active: boolean;
  /** Absolute path of the immutable snapshot (the development deployment's is replaced on each push). */
  dir: string;
  /** The parsed config.yaml. */
  config: ModelConfig;
  autoscaling: AutoscalingSettings;
  labels: Record<string, unknown> | null;
  /** How its environment was built (`runtime/build/`); absent or null: nothing to build. */
  build?: DeploymentBuild | null;
}

/** Baseten's build states: replicas start only once the build is `BUILT`. */
export type BuildStatus = 'BUILDING' | 'BUILT' | 'BUILD_FAILED';

/** What a deployment's build made, and what its push asked for once it is built. */
export interface DeploymentBuild {
  status: BuildStatus;
  /** Absolute paths of the environments its replicas run with: a virtualenv, a node_modules' parent. */
  envs: { python?: string; node?: string };
  /** External data files (cache keys) linked into its data dir. */
  data?: string[];
  /** Tools this build ran (pip, npm, build commands, downloads): 0 when everything was cached. */
  runs: number;
  /** The tool's own error when BUILD_FAILED. */
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
  /** What the push asked for, done once the build succeeds (a failed build moves no environment). */
  onBuilt: { promote?: boolean; environment?: string } | null;
}

export interface EnvironmentRecord {
  modelId: string;
  name: string;
  createdAt: string;
  currentDeploymentId: string | null;
  autoscaling: AutoscalingSettings;
  promotion: PromotionSettings;
}

export interface ApiKeyRecord {
  prefix: string;
  /** hex sha256 of the whole key; the key itself is never stored. */
  hash: string;
  name: string | null;
  type: ApiKeyType;
  modelIds: string[] | null;
  createdAt: string;
  /** Girder: requests per minute this key may send to `/v1`; absent or null, no limit. */
  rpm?: number | null;
  /** Girder: tokens (prompt + completion) per minute this key may spend on `/v1`; absent or null, no limit. */
  tpm?: number | null;
  /** Set on the chain-scoped key Girder made for a chain deployment; revoked with it. */
  chainDeploymentId?: string;
}

/** A key's `/v1` limits as a change: a number sets one, null removes it, undefined keeps it. */
export interface ApiKeyLimits {
  rpm?: number | null;
  tpm?: number | null;
}

export interface SecretRecord {
  name: string;
  value: string;
  createdAt: string;
  updatedAt: string;
}

export const DEFAULT_AUTOSCALING: AutoscalingSettings = {
  min_replica: 0,
  max_replica: 1,
  autoscaling_window: 60,
  scale_down_delay: 900,
  concurrency_target: 1,
  target_utilization_percentage: 70,
  max_scale_down_rate: 50,
  target_in_flight_tokens: null,
};

export const DEFAULT_PROMOTION: PromotionSettings = {
  redeploy_on_promotion: false,
  rolling_deploy: false,
  promotion_cleanup_strategy: 'SCALE_TO_ZERO',
};
