import { formatAge, formatOperation, parseDuration, renderTable, shellQuote } from '../src/format';
import { ExitCode } from '../src/errors';

describe('parseDuration', () => {
  test.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['0s', 0],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text, '--older-than')).toBe(ms);
  });

  test.each(['', '2', 'h', '2 hours', '2h-', '-1h', '1w', '2h 30m'])('%j is refused, naming the flag', (text) => {
    expect(() => parseDuration(text, '--older-than')).toThrow(expect.objectContaining({
      exitCode: ExitCode.USAGE,
      message: expect.stringContaining(`--older-than must be a duration such as 90s, 15m, 2h, 1d or 1h30m, got ${JSON.stringify(text)}`),
    }));
  });
});

test('formatAge picks the two largest units', () => {
  expect(formatAge(0)).toBe('0s');
  expect(formatAge(42_900)).toBe('42s');
  expect(formatAge(5 * 60_000 + 2_000)).toBe('5m02s');
  expect(formatAge(2 * 3_600_000 + 13 * 60_000 + 59_000)).toBe('2h13m');
  expect(formatAge(3 * 86_400_000 + 4 * 3_600_000)).toBe('3d04h');
  expect(formatAge(-5000)).toBe('in 5s');
});

test('formatOperation shortens Terraform\'s operation types only', () => {
  expect(formatOperation('OperationTypeApply')).toBe('apply');
  expect(formatOperation('OperationTypePlan')).toBe('plan');
  expect(formatOperation('tfstate-ops restore')).toBe('tfstate-ops restore');
  expect(formatOperation('')).toBe('-');
});

test('renderTable pads every column but the last and trims line ends', () => {
  expect(renderTable(['A', 'LONG HEADER', 'C'], [['xx', 'y', ''], ['', 'zzzzzzzzzzzzz', 'last']])).toBe(
    'A   LONG HEADER    C\n'
    + 'xx  y\n'
    + '    zzzzzzzzzzzzz  last\n',
  );
});

test('shellQuote leaves plain words and quotes the rest', () => {
  expect(shellQuote('env:/staging/terraform.tfstate')).toBe('env:/staging/terraform.tfstate');
  expect(shellQuote('a b')).toBe("'a b'");
  expect(shellQuote("it's")).toBe("'it'\\''s'");
});
