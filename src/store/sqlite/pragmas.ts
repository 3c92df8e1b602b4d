/**
 * Every connection's settings. WAL lets the request path read while the writer thread commits;
 * synchronous=FULL makes a commit durable (fsynced) before it returns, which is what an async
 * submit's 201 promises; busy_timeout lets the two connections take turns writing.
 */
export const PRAGMAS =
  'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;';
