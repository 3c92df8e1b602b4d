/** Output helpers shared by the client commands: aligned tables, JSON, log lines. */

/** Column header → how to read the cell from a row. */
export type Columns<T> = Record<string, (row: T) => unknown>;

const cell = (v: unknown): string => (v === null || v === undefined || v === '' ? '-' : String(v));

/**
 * Formats rows as a plain aligned table (no colours, so it pipes well).
 *
 * @example
 *   table([{ id: 'abcd1234', name: 'echo' }], { ID: (r) => r.id, NAME: (r) => r.name })
 *   // 'ID        NAME\nabcd1234  echo'
 */
export function table<T>(rows: T[], columns: Columns<T>): string {
  const headers = Object.keys(columns);
  const cells = rows.map((r) => headers.map((h) => cell(columns[h](r))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]))).join('  ');
  return [line(headers), ...cells.map(line)].join('\n');
}

export function printTable<T>(rows: T[], columns: Columns<T>, empty = '(none)'): void {
  console.log(rows.length ? table(rows, columns) : empty);
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/** `2024-01-01T00:00:00.000Z` → `2024-01-01 00:00:00`: enough for a table. */
export const shortTime = (iso: unknown): string => (typeof iso === 'string' ? iso.replace('T', ' ').slice(0, 19) : '-');

/** Dims text on a terminal only; pipes and files get plain text. */
export const dim = (s: string): string => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);

export interface LogLine {
  ts: string;
  deployment_id: string;
  replica_id: string;
  stream: string;
  level: string;
  msg: string;
  request_id?: string;
}

/** `<ts> <replica_id> [<request id, 8 chars>] <msg>`; the bracket only when the line has a request. */
export function formatLogLine(l: LogLine): string {
  const req = l.request_id ? ` [${l.request_id.slice(0, 8)}]` : '';
  return `${dim(l.ts)} ${l.replica_id}${req} ${l.msg}`;
}
