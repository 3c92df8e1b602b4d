/**
 * The ready-to-paste commands the CLI prints after a push or `girder serve --examples`: each must run
 * as pasted in a fresh shell, so the key is always read from `$GIRDER_API_KEY`, and a line says how
 * to set it when it is not set there already.
 */

/** Where the CLI found its key. */
export type KeySource = { kind: 'env' } | { kind: 'file'; path: string } | { kind: 'flag' };

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The line that sets GIRDER_API_KEY in a fresh shell, or null when the shell has it already.
 *
 * @example
 *   exportLine({ kind: 'file', path: '/srv/.girder/admin-key' }) // "export GIRDER_API_KEY=$(cat '/srv/.girder/admin-key')"
 */
export function exportLine(source: KeySource): string | null {
  if (source.kind === 'env') return null;
  if (source.kind === 'file') return `export GIRDER_API_KEY=$(cat ${shellQuote(source.path)})`;
  return 'export GIRDER_API_KEY=…   # the key you passed with --api-key';
}

/**
 * A curl call of a predict URL with a JSON body.
 *
 * @example
 *   curlSnippet('http://127.0.0.1:8080/model-abcd1234/production/predict', { name: 'Ada' })
 */
export function curlSnippet(url: string, input: unknown): string {
  return `curl -s -X POST ${url} -H "Authorization: Api-Key $GIRDER_API_KEY" -d ${shellQuote(JSON.stringify(input))}`;
}

/** Python's spelling of a JSON value (True, None, …), so that the snippet reads as Python. */
function pythonLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number' || typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pythonLiteral).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>);
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${pythonLiteral(v)}`).join(', ')}}`;
}

/**
 * The same call with `requests`, as Baseten's docs write it: only the URL and the key differ.
 *
 * @example
 *   pythonSnippet('http://127.0.0.1:8080/model-abcd1234/production/predict', { name: 'Ada' }).join('\n')
 */
export function pythonSnippet(url: string, input: unknown): string[] {
  return [
    'import os, requests',
    'resp = requests.post(',
    `    ${JSON.stringify(url)},`,
    '    headers={"Authorization": f"Api-Key {os.environ[\'GIRDER_API_KEY\']}"},',
    `    json=${pythonLiteral(input)},`,
    ')',
    'print(resp.json())',
  ];
}

/**
 * A curl call of Girder's OpenAI-compatible API, with a Bearer key as OpenAI's SDKs send it.
 *
 * @example
 *   v1Snippet('http://127.0.0.1:8080/v1/chat/completions', { model: 'llm-stand-in', messages: [] })
 */
export function v1Snippet(url: string, body: unknown): string {
  return `curl -s ${url} -H "Authorization: Bearer $GIRDER_API_KEY" -H 'Content-Type: application/json' -d ${shellQuote(JSON.stringify(body))}`;
}
