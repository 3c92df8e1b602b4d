import { readdirSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';

/** What a push's warnings say about this machine: what a replica gets instead of what config.yaml asks. */
export interface Machine {
  cpus: number;
  memoryBytes: number;
  /** Compute GPU device nodes (`/dev/nvidia0`, `/dev/kfd`); replicas see all of them (runtime/sandbox-host.ts). */
  gpuDevices: string[];
}

let cached: Machine | undefined;

/**
 * This machine, looked at once per process (a push is not the request path, and GPUs do not come and go
 * while Girder runs). GPUs are CUDA's and ROCm's device nodes, which the sandbox passes through
 * (`runtime/sandbox-host.ts`); `/dev/dri` alone is a display, not something a model computes on.
 *
 * @example
 *   thisMachine().gpuDevices.length === 0; // true on a CPU-only host
 */
export function thisMachine(): Machine {
  if (cached) return cached;
  let gpuDevices: string[] = [];
  try {
    gpuDevices = readdirSync('/dev')
      .filter((n) => /^nvidia\d+$/.test(n) || n === 'kfd')
      .map((n) => `/dev/${n}`);
  } catch {
    // no /dev to read: no GPU either
  }
  cached = { cpus: availableParallelism(), memoryBytes: totalmem(), gpuDevices };
  return cached;
}
