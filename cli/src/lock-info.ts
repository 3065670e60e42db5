/**
 * Terraform's LockInfo (internal/states/statemgr/locker.go) exactly as Go's
 * encoding/json writes and reads it. Lock items written here must be byte-identical
 * to Terraform's: OpenTofu releases a lock with a DeleteItem conditioned on
 * `Info = :info`, re-marshalling what it read.
 *
 * The construct package's protocol tests (test/support/terraform-lock-client.ts) use
 * this module too, so the lock items the tool writes are the ones those tests prove
 * against DynamoDB Local.
 */
import { randomUUID } from 'crypto';

/** statemgr.LockInfo; `Created` is kept as Go marshals a time.Time (RFC3339Nano). */
export interface LockInfo {
  ID: string;
  Operation: string;
  Info: string;
  Who: string;
  Version: string;
  Created: string;
  Path: string;
}

const FIELDS: ReadonlyArray<keyof LockInfo> = ['ID', 'Operation', 'Info', 'Who', 'Version', 'Created', 'Path'];
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';
const HEX = '0123456789abcdef';

/** A string as Go's json.Marshal writes it (HTML escaping on, as in json.Marshal). */
export function goJsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '"': out += '\\"'; continue;
      case '\\': out += '\\\\'; continue;
      case '\b': out += '\\b'; continue;
      case '\f': out += '\\f'; continue;
      case '\n': out += '\\n'; continue;
      case '\r': out += '\\r'; continue;
      case '\t': out += '\\t'; continue;
      case '<': case '>': case '&':
        out += `\\u00${HEX[c >> 4]}${HEX[c & 0xf]}`; continue;
      case '\u2028': out += '\\u2028'; continue;
      case '\u2029': out += '\\u2029'; continue;
    }
    if (c < 0x20) {
      out += `\\u00${HEX[c >> 4]}${HEX[c & 0xf]}`;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // A lone surrogate reaches Go as invalid UTF-8, which it writes as U+FFFD.
      out += '\\ufffd';
    } else {
      out += ch;
    }
  }
  return out + '"';
}

/** statemgr.LockInfo.Marshal(): json.Marshal, fields in struct order, no spaces. */
export function marshalLockInfo(info: LockInfo): string {
  const created = normalizeGoTime(info.Created);
  return `{${FIELDS.map((f) => `"${f}":${goJsonString(f === 'Created' ? created : info[f])}`).join(',')}}`;
}

/**
 * json.Unmarshal into a LockInfo: keys match exactly or case-insensitively,
 * unknown keys are ignored, missing ones stay zero, a wrongly-typed field is an error.
 */
export function unmarshalLockInfo(data: string): LockInfo {
  const parsed: unknown = JSON.parse(data); // throws on "" like Go's "unexpected end of JSON input"
  if (parsed === null) {
    return zeroLockInfo();
  }
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error('json: cannot unmarshal non-object into Go value of type statemgr.LockInfo');
  }
  const info = zeroLockInfo();
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    const field = FIELDS.find((f) => f === key) ?? FIELDS.find((f) => f.toLowerCase() === key.toLowerCase());
    if (!field || value === null) {
      continue;
    }
    if (typeof value !== 'string') {
      throw new Error(`json: cannot unmarshal ${typeof value} into Go struct field LockInfo.${field} of type string`);
    }
    info[field] = field === 'Created' ? normalizeGoTime(value) : value;
  }
  return info;
}

function zeroLockInfo(): LockInfo {
  return { ID: '', Operation: '', Info: '', Who: '', Version: '', Created: GO_ZERO_TIME, Path: '' };
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Go's RFC3339Nano in UTC: trailing zeros of the fraction trimmed, no fraction when it is zero. */
export function formatGoTime(epochMs: number, subMillisecondNanos = 0): string {
  const d = new Date(epochMs);
  if (!Number.isInteger(subMillisecondNanos) || subMillisecondNanos < 0 || subMillisecondNanos > 999_999) {
    throw new Error(`sub-millisecond nanoseconds out of range: ${subMillisecondNanos}`);
  }
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const nanos = d.getUTCMilliseconds() * 1_000_000 + subMillisecondNanos;
  const frac = nanos === 0 ? '' : `.${pad(nanos, 9).replace(/0+$/, '')}`;
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${frac}Z`;
}

/** Parse an RFC3339 time and write it back as Go's time.MarshalJSON would (zero offset becomes Z). */
export function normalizeGoTime(s: string): string {
  const m = RFC3339.exec(s);
  if (!m) {
    throw new Error(`parsing time ${JSON.stringify(s)} as RFC3339 failed`);
  }
  const [, y, mo, d, h, mi, sec, fracDigits = '', zone] = m;
  const frac = fracDigits.replace(/0+$/, '');
  const offset = zone === 'Z' || zone.slice(1) === '00:00' ? 'Z' : zone;
  return `${y}-${mo}-${d}T${h}:${mi}:${sec}${frac ? `.${frac}` : ''}${offset}`;
}

/** The instant of an RFC3339 time (to the millisecond); undefined for Go's zero time or a malformed value. */
export function parseGoTime(s: string): Date | undefined {
  const m = RFC3339.exec(s);
  if (!m || s === GO_ZERO_TIME) {
    return undefined;
  }
  const [, y, mo, d, h, mi, sec, frac = '', zone] = m;
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  let epoch = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec), ms);
  if (zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    epoch -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  }
  return new Date(epoch);
}

/** time.Now().UTC() with nanosecond digits (the sub-millisecond part from the monotonic clock). */
export function goNow(now: Date): string {
  return formatGoTime(now.getTime(), Number(process.hrtime.bigint() % 1_000_000n));
}

/** A new LockInfo as statemgr.NewLockInfo() makes it, with the caller's fields. */
export function newLockInfo(fields: Pick<LockInfo, 'Operation' | 'Info' | 'Who' | 'Version' | 'Path'>, now: Date): LockInfo {
  return { ID: randomUUID(), Created: goNow(now), ...fields };
}
