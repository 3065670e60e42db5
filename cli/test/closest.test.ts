import { closest, editDistance } from '../src/closest';

test('editDistance counts insertions, deletions and substitutions', () => {
  expect(editDistance('dynamo_table', 'dynamodb_table')).toBe(2);
  expect(editDistance('lock-file', 'lockfile')).toBe(1);
  expect(editDistance('', 'abc')).toBe(3);
  expect(editDistance('same', 'same')).toBe(0);
});

test('closest: a few letters off, or the start of a name; otherwise nothing', () => {
  const names = ['locks', 'unlock', 'history', 'restore', 'digest'];
  expect(closest('lock', names)).toBe('locks');
  expect(closest('HISTROY', names)).toBe('history');
  expect(closest('rest', names)).toBe('restore');
  expect(closest('frobnicate', names)).toBeUndefined();
  expect(closest('x', [])).toBeUndefined();
});
