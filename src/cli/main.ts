// The `girder` command. Built-in modules load before any code of a module graph runs, so the
// warning filter goes first and the commands are imported after it.
import './quiet-warnings.ts';

await import('./program.ts');
