import type { TableStats } from './context.js';
import type { LintSeverity } from './types.js';

/** Below both: a lock is over before anyone notices. */
const SMALL = { rows: 10_000, bytes: 10 * 1024 * 1024 };
/** Either one: minutes of blocked writes (or reads) are likely. */
const LARGE = { rows: 1_000_000, bytes: 1024 * 1024 * 1024 };

/**
 * A lock or rewrite's severity from the table's size. `rows` is the planner's estimate
 * (pg_class.reltuples), -1 when the table was never analysed (PostgreSQL 14+): then the size on
 * disk alone decides.
 */
export function sizedSeverity(stats: TableStats): LintSeverity {
  const rows = stats.rows >= 0 ? stats.rows : undefined;
  if ((rows ?? 0) >= LARGE.rows || stats.bytes >= LARGE.bytes) return 'error';
  if ((rows ?? 0) < SMALL.rows && stats.bytes < SMALL.bytes) return 'info';
  return 'warning';
}

/** "~5,000,000 rows, 1.2 GB", or "16 kB, row count unknown: never analysed". */
export function estimate(stats: TableStats): string {
  const size = formatBytes(stats.bytes);
  if (stats.rows < 0) return `${size}, row count unknown: never analysed`;
  return `~${Math.round(stats.rows).toLocaleString('en-US')} rows, ${size}`;
}

function formatBytes(bytes: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown =
    unit === 0
      ? String(value)
      : value >= 10
        ? String(Math.round(value))
        : value.toFixed(1).replace(/\.0$/, '');
  return `${shown} ${units[unit]}`;
}
