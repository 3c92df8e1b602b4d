/**
 * The chains SDK: chainlets declared with `chainlet({...})`, their dependencies with `depends(…)`, and
 * `runLocal` to test a whole chain in one process. See the README's "Chains" section.
 *
 * @example
 *   import { chainlet, depends, type Input, runLocal, z } from 'girder/chains';
 *
 *   export class SayHello extends chainlet({ input: z.object({ name: z.string() }) }) {
 *     async runRemote({ name }: Input<typeof SayHello>) {
 *       return `Hello, ${name}!`;
 *     }
 *   }
 */
export { z } from 'zod';
export type {
  AnyChainletClass,
  CallInput,
  CallOptions,
  ChainletClass,
  ChainletContext,
  ChainletInit,
  ChainletInstance,
  ChainletSpec,
  ChainletSpecInput,
  Dependency,
  DependencyTarget,
  Input,
  InputSchema,
  ModelRef,
  ModelSelector,
  Output,
  Stub,
  StubOf,
  Stubs,
} from './chainlet.ts';
export { chainlet, chainletName, depends, model } from './chainlet.ts';
export type { ErrorFrame, StackLine, WireError } from './errors.ts';
export { ChainletError, ChainletTimeoutError, fromWireError, toWireError } from './errors.ts';
export { type ChainGraph, chainGraph, findEntrypoint } from './graph.ts';
export { InputValidationError } from './hop.ts';
export { encodeJson } from './json.ts';
export type { LocalModel } from './local-models.ts';
export { type RunLocalOptions, runLocal } from './local.ts';
export { isRetryable } from './policy.ts';
export type { ChainletSettings, ChainletSettingsInput, RpcOptions, RpcOptionsInput } from './settings.ts';
