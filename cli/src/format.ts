/** Pure formatting and parsing helpers: tables, durations, times. */
import { usageError } from './errors';

/** A plain-text table: a header row, columns separated by two spaces, no trailing blanks. */
export function renderTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

const UNITS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

/** `90s`, `15m`, `2h`, `1d`, `1h30m`, `1.5h` to milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const t = text.trim();
  const re = /(\d+(?:\.\d+)?)([dhms])/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t)) !== null) {
    total += Number(m[1]) * UNITS[m[2]];
    matched = re.lastIndex;
  }
  if (t === '' || matched !== t.length) {
    throw usageError(`${flag} must be a duration such as 90s, 15m, 2h, 1d or 1h30m, got ${JSON.stringify(text)}`);
  }
  return total;
}

/** An age as a person reads it: `42s`, `5m02s`, `2h13m`, `3d04h`. */
export function formatAge(ms: number): string {
  if (ms < 0) {
    return `in ${formatAge(-ms)}`;
  }
  const s = Math.floor(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${pad(Math.floor((s % 86_400) / 3600))}h`;
}

/** `2026-11-26T09:00:00Z`: UTC, to the second. */
export function formatTime(d: Date | undefined): string {
  return d === undefined ? '-' : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `OperationTypeApply` becomes `apply`; anything else is shown as it is. */
export function formatOperation(op: string): string {
  const m = /^OperationType(\w+)$/.exec(op);
  return m ? m[1].toLowerCase() : op || '-';
}

/** Quotes an argument for a POSIX shell when it needs it (for the commands the tool suggests). */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** A JSON document for --json output. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}
