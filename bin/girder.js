#!/usr/bin/env node
// Girder needs Node 24 (node:sqlite, type stripping). On Node 24 this runs the CLI in-process; on an
// older Node (a system one) it runs the CLI with the Node 24 the project installs (the `node` package),
// passing signals through so that `girder serve` still stops its replicas on SIGTERM.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(root, 'src', 'cli', 'main.ts');

if (Number(process.versions.node.split('.')[0]) >= 24) {
  await import(pathToFileURL(main).href);
} else {
  let node;
  try {
    node = join(dirname(createRequire(join(root, 'package.json')).resolve('node/package.json')), 'bin', 'node');
  } catch {
    console.error('girder: Node 24 is required. Run `npm install` in the Girder directory first.');
    process.exit(1);
  }
  const child = spawn(node, [main, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
