/**
 * The lock client's Go-exact marshalling and Terraform's retry schedule, without DynamoDB.
 * Golden strings are what Go's encoding/json and time packages print.
 */
import {
  formatGoTime,
  goJsonString,
  goTimeString,
  LockError,
  LockInfo,
  lockInfoString,
  lockWithContext,
  marshalLockInfo,
  normalizeGoTime,
  statePath,
  unmarshalLockInfo,
} from './support/terraform-lock-client';

const info = (over: Partial<LockInfo> = {}): LockInfo => ({
  ID: '6f9619ff-8b86-d011-b42d-00c04fc964ff',
  Operation: 'OperationTypeApply',
  Info: '',
  Who: 'user@host',
  Version: '1.9.8',
  Created: '2026-11-26T09:00:00.123456789Z',
  Path: 'b/terraform.tfstate',
  ...over,
});

describe('Go json.Marshal of LockInfo', () => {
  test('field order, no spaces', () => {
    expect(marshalLockInfo(info())).toBe(
      '{"ID":"6f9619ff-8b86-d011-b42d-00c04fc964ff","Operation":"OperationTypeApply","Info":"","Who":"user@host","Version":"1.9.8","Created":"2026-11-26T09:00:00.123456789Z","Path":"b/terraform.tfstate"}',
    );
  });

  test('HTML escapes, U+2028/2029, control characters, non-ASCII as Go writes them', () => {
    expect(marshalLockInfo(info({
      Who: 'ci<bot>&co@h',
      Info: 'a\u2028b\u2029c"d\\e/f\n\r\t\b\f\x01\x1f\x7f é 😀',
      Created: '2026-11-26T09:00:00.1234Z',
    }))).toBe(
      '{"ID":"6f9619ff-8b86-d011-b42d-00c04fc964ff","Operation":"OperationTypeApply",'
      + '"Info":"a\\u2028b\\u2029c\\"d\\\\e/f\\n\\r\\t\\b\\f\\u0001\\u001f\x7f é 😀",'
      + '"Who":"ci\\u003cbot\\u003e\\u0026co@h","Version":"1.9.8","Created":"2026-11-26T09:00:00.1234Z","Path":"b/terraform.tfstate"}',
    );
  });

  test.each([
    ['<script>', '"\\u003cscript\\u003e"'],
    ['\u00ff\u0800', '"\u00ff\u0800"'],
    ['\ud800x', '"\\ufffdx"'], // lone surrogate: invalid UTF-8 by the time Go sees it
    ['', '""'],
  ])('goJsonString(%j)', (s, expected) => {
    expect(goJsonString(s)).toBe(expected);
  });

  test('a zero LockInfo', () => {
    expect(marshalLockInfo(unmarshalLockInfo('{}'))).toBe(
      '{"ID":"","Operation":"","Info":"","Who":"","Version":"","Created":"0001-01-01T00:00:00Z","Path":""}',
    );
  });
});

describe('Go time.Time: RFC3339Nano in JSON, String() in messages', () => {
  const at = Date.UTC(2026, 10, 26, 9, 0, 0);
  test.each([
    [123, 456789, '2026-11-26T09:00:00.123456789Z', '2026-11-26 09:00:00.123456789 +0000 UTC'],
    [123, 400000, '2026-11-26T09:00:00.1234Z', '2026-11-26 09:00:00.1234 +0000 UTC'],
    [100, 0, '2026-11-26T09:00:00.1Z', '2026-11-26 09:00:00.1 +0000 UTC'],
    [0, 1000, '2026-11-26T09:00:00.000001Z', '2026-11-26 09:00:00.000001 +0000 UTC'],
    [0, 0, '2026-11-26T09:00:00Z', '2026-11-26 09:00:00 +0000 UTC'],
  ])('%i ms + %i ns -> %s', (ms, ns, json, str) => {
    expect(formatGoTime(at + ms, ns)).toBe(json);
    expect(goTimeString(json)).toBe(str);
  });

  test('re-marshalling a parsed time: zero offset becomes Z, other offsets stay, the fraction is trimmed', () => {
    expect(normalizeGoTime('2026-11-26T09:00:00.120000+00:00')).toBe('2026-11-26T09:00:00.12Z');
    expect(normalizeGoTime('2026-11-26T10:00:00.500+01:00')).toBe('2026-11-26T10:00:00.5+01:00');
    expect(normalizeGoTime('2026-11-26T09:00:00.000Z')).toBe('2026-11-26T09:00:00Z');
    expect(() => normalizeGoTime('2026-11-26 09:00:00Z')).toThrow(/RFC3339/);
  });
});

describe('Go json.Unmarshal into LockInfo', () => {
  test('keys match case-insensitively, unknown keys are ignored, the result re-marshals as Go does', () => {
    const parsed = unmarshalLockInfo('{ "id": "abc", "Operation": "op", "Created": "2026-11-26T10:00:00.500+01:00", "extra": 1 }');
    expect(marshalLockInfo(parsed)).toBe(
      '{"ID":"abc","Operation":"op","Info":"","Who":"","Version":"","Created":"2026-11-26T10:00:00.5+01:00","Path":""}',
    );
  });

  test('round trip of Go output is byte-identical', () => {
    const json = marshalLockInfo(info({ Who: 'a<b>&c', Info: 'x\u2028y' }));
    expect(marshalLockInfo(unmarshalLockInfo(json))).toBe(json);
  });

  test('empty input and wrong types are errors', () => {
    expect(() => unmarshalLockInfo('')).toThrow();
    expect(() => unmarshalLockInfo('{"ID": 5}')).toThrow(/cannot unmarshal number/);
  });
});

describe('messages and paths', () => {
  test('LockError prints "Error acquiring the state lock" and the holder like LockInfo.String()', () => {
    const e = new LockError(new Error('ConditionalCheckFailedException: The conditional request failed'), info({ Info: 'note' }));
    expect(e.retriable).toBe(true);
    expect(e.message).toBe([
      'Error acquiring the state lock',
      '',
      'Error message: ConditionalCheckFailedException: The conditional request failed',
      lockInfoString(info({ Info: 'note' })),
    ].join('\n'));
    expect(lockInfoString(info({ Info: 'note' }))).toBe(
      'Lock Info:\n'
      + '  ID:        6f9619ff-8b86-d011-b42d-00c04fc964ff\n'
      + '  Path:      b/terraform.tfstate\n'
      + '  Operation: OperationTypeApply\n'
      + '  Who:       user@host\n'
      + '  Version:   1.9.8\n'
      + '  Created:   2026-11-26 09:00:00.123456789 +0000 UTC\n'
      + '  Info:      note\n',
    );
    expect(new LockError(new Error('x')).retriable).toBe(false);
    expect(new LockError(new Error('x'), info({ ID: '' })).retriable).toBe(false);
  });

  test('state paths: key for default, <prefix>/<workspace>/<key> otherwise', () => {
    expect(statePath('a/terraform.tfstate')).toBe('a/terraform.tfstate');
    expect(statePath('a/terraform.tfstate', 'dev')).toBe('env:/dev/a/terraform.tfstate');
    expect(statePath('a/terraform.tfstate', 'dev', 'workspaces')).toBe('workspaces/dev/a/terraform.tfstate');
  });
});

describe('LockWithContext retry schedule', () => {
  /** A fake clock: sleeping advances it; lock attempts take no time. */
  function harness(failures: number, error: () => Error = () => new LockError(new Error('held'), info())) {
    let now = 0;
    const sleeps: number[] = [];
    const waits: number[] = [];
    let tries = 0;
    const tryLock = async () => {
      tries++;
      if (tries <= failures) throw error();
      return 'lock-id';
    };
    const opts = {
      now: () => now,
      sleep: async (ms: number) => { sleeps.push(ms); now += ms; },
      onWait: (ms: number) => waits.push(ms),
    };
    return { tryLock, opts, sleeps, waits, tries: () => tries, now: () => now };
  }

  test('timeout 0 (the default) is one try and no wait', async () => {
    const h = harness(Infinity);
    await expect(lockWithContext(h.tryLock, 0, h.opts)).rejects.toBeInstanceOf(LockError);
    expect(h.tries()).toBe(1);
    expect(h.sleeps).toEqual([]);
  });

  test('waits 1 s, 2 s, 4 s, 8 s, 16 s, 16 s, ... and gives up at the deadline with the last LockError', async () => {
    const h = harness(Infinity);
    await expect(lockWithContext(h.tryLock, 100_000, h.opts)).rejects.toBeInstanceOf(LockError);
    expect(h.waits).toEqual([1, 2, 4, 8, 16, 16, 16, 16, 16, 16].map((s) => s * 1000));
    // the last wait is cut by the deadline (ctx.Done wins the select) and no try follows it
    expect(h.sleeps).toEqual([1, 2, 4, 8, 16, 16, 16, 16, 16, 5].map((s) => s * 1000));
    expect(h.tries()).toBe(10);
    expect(h.now()).toBe(100_000);
  });

  test('a timeout shorter than the first wait waits until the deadline, then fails without another try', async () => {
    const h = harness(Infinity);
    await expect(lockWithContext(h.tryLock, 300, h.opts)).rejects.toBeInstanceOf(LockError);
    expect(h.sleeps).toEqual([300]);
    expect(h.tries()).toBe(1);
  });

  test('acquires on the try after the holder goes', async () => {
    const h = harness(3);
    await expect(lockWithContext(h.tryLock, 60_000, h.opts)).resolves.toBe('lock-id');
    expect(h.sleeps).toEqual([1000, 2000, 4000]);
    expect(h.tries()).toBe(4);
  });

  test('the unit scales the whole schedule', async () => {
    const h = harness(6);
    await lockWithContext(h.tryLock, 10_000, { ...h.opts, unitMs: 5 });
    expect(h.sleeps).toEqual([5, 10, 20, 40, 80, 80]);
  });

  test('jitter lengthens the sleeps but not the schedule', async () => {
    const h = harness(3);
    await lockWithContext(h.tryLock, 60_000, { ...h.opts, jitterMs: () => 7 });
    expect(h.waits).toEqual([1000, 2000, 4000]);
    expect(h.sleeps).toEqual([1007, 2007, 4007]);
  });

  test.each([
    ['a LockError without the holder (it vanished before GetItem)', () => new LockError(new Error('no lock info found'))],
    ['a LockError whose holder has no ID', () => new LockError(new Error('held'), info({ ID: '' }))],
    ['any other error', () => new Error('ResourceNotFoundException')],
  ])('%s is not retried', async (_what, error) => {
    const h = harness(Infinity, error);
    await expect(lockWithContext(h.tryLock, 60_000, h.opts)).rejects.toThrow();
    expect(h.tries()).toBe(1);
    expect(h.sleeps).toEqual([]);
  });
});
