/**
 * The names of Holdfast's tables, functions and notification channels in a database,
 * from one configurable prefix, so that several deployments (or tests) share one
 * database without meeting. The prefix becomes part of SQL identifiers: it is checked,
 * never quoted, and channels stay within Postgres's 63-byte identifier limit.
 */
export interface SchemaNames {
  prefix: string;
  /** `<prefix>locks`, one row per (tenant, key). */
  locks: string;
  migrations: string;
  /** `<prefix>acquire`, … */
  fn(operation: string): string;
  /** A waiter's LISTEN channel: prefix + "w_" + its token (quoted: tokens have capitals). */
  channels: string;
}

const PREFIX = /^[a-z_][a-z0-9_]{0,29}$/;

export function namesFor(prefix = "holdfast_"): SchemaNames {
  if (!PREFIX.test(prefix)) {
    throw new Error(`table prefix ${JSON.stringify(prefix)}: 1..30 of a-z, 0-9 and _, not starting with a digit`);
  }
  return {
    prefix,
    locks: `${prefix}locks`,
    migrations: `${prefix}migrations`,
    fn: (operation) => `${prefix}${operation}`,
    channels: `${prefix}w_`,
  };
}
