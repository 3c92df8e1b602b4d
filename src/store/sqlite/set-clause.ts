import type { SQLInputValue } from 'node:sqlite';

/** How a record field is stored: its column and the conversion to a SQLite value. */
export type Columns = Record<string, [column: string, toSql: (value: never) => SQLInputValue]>;

/**
 * The `SET` part of an UPDATE for the fields of `patch` that `columns` knows (undefined fields are
 * left as they are). Returns null when there is nothing to set.
 *
 * @example
 *   setClause({ active: false }, { active: ['active', (v: boolean) => (v ? 1 : 0)] }) // { sql: 'active = ?', values: [0] }
 */
export function setClause(patch: object, columns: Columns): { sql: string; values: SQLInputValue[] } | null {
  const sets: string[] = [];
  const values: SQLInputValue[] = [];
  for (const [field, value] of Object.entries(patch)) {
    const column = columns[field];
    if (!column || value === undefined) continue;
    sets.push(`${column[0]} = ?`);
    values.push(column[1](value as never));
  }
  return sets.length ? { sql: sets.join(', '), values } : null;
}
