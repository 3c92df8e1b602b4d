import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A fresh temporary directory, removed after the test (or whatever `t.after` belongs to). Imports
 * nothing of Girder, so unit tests under src/ can use it as well as the integration tests.
 *
 * @example
 *   test('…', (t) => { const dir = tempDir(t, 'girder-store-'); … });
 */
export function tempDir(t: { after: (fn: () => void) => void }, prefix = 'girder-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
