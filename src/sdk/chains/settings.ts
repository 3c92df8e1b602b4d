/**
 * Per-chainlet settings and per-dependency call options, validated when a chain file is imported so a
 * typo fails at once (in `runLocal`, at `girder push`), not when the chain is first called. The deploy
 * step maps these onto each chainlet's deployment: `predictConcurrency` → `runtime.predict_concurrency`,
 * `autoscaling` → its autoscaling settings, `healthChecks` → `runtime.health_checks`.
 */
import { z } from 'zod';

const seconds = (min: number) => z.int().min(min).max(3000).optional();

export const HealthChecksSchema = z.strictObject({
  startupThresholdSeconds: seconds(10),
  stopTrafficThresholdSeconds: seconds(10),
  restartThresholdSeconds: seconds(10),
  restartCheckDelaySeconds: seconds(0),
});

export const AutoscalingSchema = z
  .strictObject({
    minReplica: z.int().min(0).optional(),
    maxReplica: z.int().min(1).optional(),
    autoscalingWindow: z.int().min(10).max(3600).optional(),
    scaleDownDelay: z.int().min(0).max(3600).optional(),
    concurrencyTarget: z.int().min(1).optional(),
    targetUtilizationPercentage: z.int().min(1).max(100).optional(),
  })
  .refine((a) => a.minReplica === undefined || a.maxReplica === undefined || a.minReplica <= a.maxReplica, {
    message: 'minReplica must not exceed maxReplica',
  });

export const ChainletSettingsSchema = z.strictObject({
  /** Requests one replica serves at once (Truss's `predict_concurrency`). */
  predictConcurrency: z.int().min(1).default(1),
  /** The chainlet's environment variables; read them from `this.context.env`. */
  envVariables: z.record(z.string(), z.string()).default({}),
  /** Names of the Girder secrets the chainlet reads from `this.context.secrets`; others are absent. */
  secrets: z.array(z.string().min(1)).default([]),
  /** Left-out keys take the environment's (or Girder's) defaults at deploy. */
  autoscaling: AutoscalingSchema.default({}),
  /** Thresholds for the chainlet's `isHealthy()`; left-out keys take Girder's defaults. */
  healthChecks: HealthChecksSchema.default({}),
});

/** What a chainlet's spec may set in `settings`; every key is optional. */
export type ChainletSettingsInput = z.input<typeof ChainletSettingsSchema>;
/** The settings with defaults filled in. */
export type ChainletSettings = z.output<typeof ChainletSettingsSchema>;

export const RpcOptionsSchema = z.strictObject({
  /** Total attempts, as Truss's `retries`: 1 means no retry. */
  retries: z.int().min(1).default(1),
  /** Per attempt; for a stream, until its first chunk. */
  timeoutSec: z.number().positive().default(600),
  /** Calls in flight to this dependency from one replica; more wait for a free one. */
  concurrencyLimit: z.int().min(1).default(300),
});

/** The options of `depends(…)`; every key is optional. */
export type RpcOptionsInput = z.input<typeof RpcOptionsSchema>;
/** The options with Truss Chains' defaults filled in: 1 attempt, 600 s, 300 concurrent calls. */
export type RpcOptions = z.output<typeof RpcOptionsSchema>;

/** Parses `value` with `schema`, or throws an Error that says whose settings and which key is wrong. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new TypeError(`${what}: ${describeIssues(result.error)}`);
}

/**
 * zod's issues as one line that names each field: "`names`: expected array, received string".
 *
 * @example
 *   describeIssues(z.object({ n: z.int() }).safeParse({ n: 'x' }).error!); // "`n`: Invalid input: expected int, received string"
 */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => (i.path.length > 0 ? `\`${i.path.map(String).join('.')}\`: ${i.message}` : i.message))
    .join('; ');
}
