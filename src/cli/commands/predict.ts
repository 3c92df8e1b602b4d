import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { type CommonOpts, common, connect, resolveDeployment, resolveModel, run } from '../client.ts';

interface PredictOpts extends CommonOpts {
  environment?: string;
  deployment?: string;
  development?: boolean;
  data?: string;
  file?: string;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The request body and its content type: --data must be JSON; a --file goes as it is. */
async function bodyOf(opts: PredictOpts): Promise<{ body: string | Buffer; type: string }> {
  if (opts.data !== undefined && opts.file !== undefined) throw new Error('Pass --data or --file, not both.');
  if (opts.file !== undefined) {
    const body = opts.file === '-' ? await readAll(process.stdin) : await readFile(opts.file);
    try {
      JSON.parse(body.toString('utf8'));
      return { body, type: 'application/json' };
    } catch {
      return { body, type: 'application/octet-stream' };
    }
  }
  const data = opts.data ?? '{}';
  try {
    JSON.parse(data);
  } catch (err) {
    throw new Error(
      `--data is not valid JSON: ${(err as Error).message}\nQuote it for the shell, e.g. --data '{"text": "hi"}', or use --file.`,
    );
  }
  return { body: data, type: 'application/json' };
}

export function registerPredict(program: Command): void {
  common(
    program
      .command('predict')
      .description("call a model's predict and print the answer as it streams in (production unless told)")
      .argument('<model>', 'model id or name')
      .option('-e, --environment <name>', 'call this environment')
      .option('-d, --deployment <id>', 'call this deployment (id or name)')
      .option('--development', 'call the development deployment')
      .option('--data <json>', 'JSON request body (default {})')
      .option('--file <path>', 'send this file as the body (- for stdin)'),
    { json: false },
  ).action(
    run(async (model: string, opts: PredictOpts, cmd: Command) => {
      if ([opts.environment, opts.deployment, opts.development].filter((x) => x !== undefined).length > 1) {
        throw new Error('Pass at most one of --environment, --deployment and --development.');
      }
      const { body, type } = await bodyOf(opts);
      const client = connect(cmd);
      const id = await resolveModel(client, model);
      let target = 'production';
      if (opts.environment) target = `environments/${encodeURIComponent(opts.environment)}`;
      else if (opts.deployment) target = `deployment/${await resolveDeployment(client, id, opts.deployment)}`;
      else if (opts.development) target = 'development';
      const res = await client.request(`/model-${id}/${target}/predict`, {
        method: 'POST',
        body,
        headers: { 'content-type': type },
      });
      // Write each chunk as it arrives: a streaming model prints as it generates.
      let last = 10;
      for await (const chunk of res.body ?? []) {
        process.stdout.write(chunk);
        if (chunk.length) last = chunk[chunk.length - 1];
      }
      // A text answer ends with a newline, for the prompt and for line-based tools; bytes stay as they are.
      const answered = res.headers.get('content-type') ?? '';
      if (last !== 10 && (answered.includes('json') || answered.startsWith('text/'))) process.stdout.write('\n');
    }),
  );
}
