// node:sqlite prints an ExperimentalWarning on import in Node 24; users of the CLI need not see it.
// main.ts imports it before it imports (dynamically) anything that loads node:sqlite.
const emitWarning = process.emitWarning;
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  if (String(warning).includes('SQLite is an experimental feature')) return;
  return (emitWarning as (...a: unknown[]) => void).call(process, warning, ...rest);
}) as typeof process.emitWarning;
