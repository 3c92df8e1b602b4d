/**
 * Polls `probe` every 25 ms until it returns a truthy value, and resolves with that value; after
 * `timeoutMs` it fails, naming `what` was awaited. For tests and benchmarks: it imports nothing, so
 * a runner's unit tests can use it without loading Girder.
 *
 * @example
 *   await waitFor(() => existsSync(marker), 10_000, 'the marker file');
 *   const line = await waitFor(() => lines.find((l) => l.startsWith('listening')), 10_000, 'the listening line');
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
