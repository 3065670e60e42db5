import { md5Hex, summarizeState, withSerial } from '../src/state';
import { LINEAGE, tfState } from './helpers';

describe('withSerial', () => {
  test('rewrites the top-level serial line only, keeping every other byte', () => {
    const before = tfState(3, 'one');
    const after = withSerial(Buffer.from(before), 7).toString('utf8');
    expect(after).toBe(before.replace('  "serial": 3,', '  "serial": 7,'));
    // The nested attribute called "serial" is untouched.
    expect(after).toContain('"serial": 99');
  });

  test('returns the same bytes for the same serial', () => {
    const before = tfState(3, 'one');
    expect(withSerial(Buffer.from(before), 3).toString('utf8')).toBe(before);
  });

  test('re-serializes a state in another layout, keeping the key order', () => {
    const compact = JSON.stringify({ version: 4, serial: 2, lineage: LINEAGE, resources: [] });
    expect(withSerial(Buffer.from(compact), 5).toString('utf8')).toBe(
      JSON.stringify({ version: 4, serial: 5, lineage: LINEAGE, resources: [] }, null, 2) + '\n');
  });
});

test('summarizeState reads serial, lineage and Terraform version, and says what is not a state', () => {
  expect(summarizeState(Buffer.from(tfState(3, 'one')))).toEqual({ serial: 3, lineage: LINEAGE, terraformVersion: '1.11.4', version: 4 });
  expect(summarizeState(Buffer.from('{"version":4}')).problem).toBe('no serial, lineage: not a Terraform state');
  expect(summarizeState(Buffer.from('garbage')).problem).toMatch(/^not JSON/);
  expect(summarizeState(Buffer.from('[1]')).problem).toBe('not a JSON object');
});

test('md5Hex is the hex MD5 Terraform stores as Digest', () => {
  expect(md5Hex(Buffer.from(''))).toBe('d41d8cd98f00b204e9800998ecf8427e');
});
