import { z } from 'zod';
import { badRequest } from '../errors.ts';
import type { RetryConfig } from '../records/async.ts';

const int = (name: string, min: number, max: number, fallback: number) =>
  z
    .number({ error: `${name} must be an integer from ${min} to ${max}` })
    .int(`${name} must be an integer from ${min} to ${max}`)
    .min(min, `${name} must be at least ${min}`)
    .max(max, `${name} must be at most ${max}`)
    .default(fallback);

const RetrySchema = z.object({
  max_attempts: int('inference_retry_config.max_attempts', 1, 10, 3),
  initial_delay_ms: int('inference_retry_config.initial_delay_ms', 0, 10_000, 1000),
  max_delay_ms: int('inference_retry_config.max_delay_ms', 0, 60_000, 5000),
});

/** Baseten's AsyncPredictRequest, with its defaults and ranges. */
const WrapperSchema = z.object({
  model_input: z.unknown().refine((v) => v !== undefined, 'model_input is required'),
  webhook_endpoint: z.string({ error: 'webhook_endpoint must be a URL string' }).nullish(),
  priority: int('priority', 0, 2, 0),
  max_time_in_queue_seconds: int('max_time_in_queue_seconds', 10, 259_200, 600),
  inference_retry_config: RetrySchema.nullish(),
  /** Girder's: keep the output for polling with GET /async_request/{id}; Baseten has no such field. */
  keep_output: z.boolean({ error: 'keep_output must be a boolean' }).optional(),
});

export interface AsyncWrapper {
  /** `model_input` as compact JSON, sent to the model as the predict body. */
  input: string;
  webhookEndpoint: string | null;
  priority: number;
  maxTimeInQueueMs: number;
  retry: RetryConfig;
  keepOutput: boolean | undefined;
}

/**
 * Parses and checks an async submit body. Throws 400 client_error naming the field and its rule.
 *
 * @example
 *   parseWrapper('{"model_input": {"x": 1}, "priority": 1}').priority // 1
 */
export function parseWrapper(text: string): AsyncWrapper {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw badRequest(
      `The body is not valid JSON: ${(err as Error).message}.`,
      'Send {"model_input": {...}, "webhook_endpoint": "https://..."}.',
    );
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest(
      'The body must be a JSON object.',
      'Send {"model_input": {...}, "webhook_endpoint": "https://..."}.',
    );
  }
  const r = WrapperSchema.safeParse(body);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw badRequest(
      `Invalid ${issue.path.join('.') || 'body'}: ${issue.message}.`,
      'See AsyncPredictRequest in the inference API.',
    );
  }
  const w = r.data;
  const retry = w.inference_retry_config ?? RetrySchema.parse({});
  return {
    input: JSON.stringify(w.model_input),
    webhookEndpoint: w.webhook_endpoint ?? null,
    priority: w.priority,
    maxTimeInQueueMs: w.max_time_in_queue_seconds * 1000,
    retry,
    keepOutput: w.keep_output,
  };
}
