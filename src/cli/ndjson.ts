/**
 * A logs answer's NDJSON lines as they arrive, each given to `onLine` whole (a line split across
 * chunks is joined first). The server keeps the answer open with `follow`.
 */
export async function readLogLines(res: Response, onLine: (line: string) => void): Promise<void> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of res.body) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) if (line.trim()) onLine(line);
  }
  const rest = pending + decoder.decode();
  if (rest.trim()) onLine(rest);
}
