import type { SQLInputValue } from 'node:sqlite';

/** How each patchable field of a record `T` is stored: its column and the conversion to a SQLite value. */
export type Columns<T> = { [K in keyof T]?: [column: string, toSql: (value: T[K]) => SQLInputValue] };

/**
 * The `SET` part of an UPDATE for the fields of `patch` that `columns` knows (undefined fields are
 * left as they are). Returns null when there is nothing to set.
 *
 * @example
 *   setClause({ active: false }, { active: ['active', (v) => (v ? 1 : 0)] }) // { sql: 'active = ?', values: [0] }
 */
export function setClause<T>(patch: Partial<T>, columns: Columns<T>): { sql: string; values: SQLInputValue[] } | null {
  const sets: string[] = [];
  const values: SQLInputValue[] = [];
  for (const field in patch) {
    const column = columns[field];
    const value = patch[field];
    if (!column || value === undefined) continue;
    sets.push(`${column[0]} = ?`);
    values.push(column[1](value));
  }
  return sets.length ? { sql: sets.join(', '), values } : null;
}
