/**
 * The JSON every hop of a chain sends: arguments and results are encoded here both by `runLocal` and
 * (later) by the deployed runner, so a value that would not survive the wire fails in a unit test too.
 * Stricter than `JSON.stringify`, which silently turns NaN into null and a Map into `{}`.
 */

/**
 * Encodes `value` as JSON text, or throws a TypeError naming where the first non-JSON value is
 * (`$.items[2].when`). Allowed: null, booleans, finite numbers, strings, arrays, plain objects, and
 * objects with `toJSON` (a Date). Object keys whose value is `undefined` are left out, as JSON.stringify
 * does; a top-level `undefined` (a `runRemote` that returns nothing) is `null`.
 *
 * @example
 *   encodeJson({ names: ['Ada'] }, 'the input of `SayHello`'); // '{"names":["Ada"]}'
 *   encodeJson({ n: 10n }, 'the output of `SayHello`');        // throws: … `$.n` is a bigint
 */
export function encodeJson(value: unknown, what: string): string {
  if (value === undefined) return 'null';
  check(value, '$', what, new Set());
  return JSON.stringify(value);
}

function check(value: unknown, path: string, what: string, seen: Set<object>): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail(what, path, `${value}, which JSON cannot represent`);
    return;
  }
  if (typeof value !== 'object') fail(what, path, `a ${typeof value}`);
  const obj = value as object;
  if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') {
    check((obj as { toJSON(): unknown }).toJSON(), path, what, seen);
    return;
  }
  if (seen.has(obj)) fail(what, path, 'a circular reference');
  seen.add(obj);
  if (Array.isArray(obj)) {
    obj.forEach((item, i) => {
      // JSON.stringify writes null for these, silently: a deployed hop would change the value
      if (item === undefined || typeof item === 'function') fail(what, `${path}[${i}]`, `${describe(item)}`);
      check(item, `${path}[${i}]`, what, seen);
    });
  } else {
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      fail(what, path, `a ${proto?.constructor?.name ?? 'non-plain object'}, not a plain object`);
    }
    for (const [key, item] of Object.entries(obj)) {
      if (item === undefined) continue;
      check(item, `${path}${/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`}`, what, seen);
    }
  }
  seen.delete(obj);
}

function describe(item: unknown): string {
  return item === undefined ? 'undefined' : `a ${typeof item}`;
}

function fail(what: string, path: string, found: string): never {
  throw new TypeError(`${what} is not JSON: \`${path}\` is ${found}.`);
}
