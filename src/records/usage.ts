/** What the OpenAI-compatible API records of its traffic: counters per hour, key and model. */

export interface UsageRecord {
  /** The start of the hour, ISO 8601 in UTC (`2026-11-22T14:00:00.000Z`). */
  hour: string;
  keyPrefix: string;
  modelId: string;
  /** The model's name when it was used (it stays readable after the model is deleted). */
  modelName: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
}

/** Which usage to read; every field narrows, none reads everything. */
export interface UsageQuery {
  /** Hours starting at or after this ISO time. */
  since?: string;
  /** Hours starting before this ISO time. */
  until?: string;
  keyPrefix?: string;
  modelId?: string;
}
