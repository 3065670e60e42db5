import { Aws, Token } from 'aws-cdk-lib/core';
import {
  bucketNameFaults,
  discoveryPrefixFaults,
  organizationalUnitIdFaults,
  repeatedValueFaults,
  stateKeyFaults,
  tableNameFaults,
  throwIfFaults,
  workspaceKeyPrefixFaults,
} from '../lib/private/validate';

describe('bucketNameFaults', () => {
  test.each([
    'terraform-state-123456789012-eu-west-1',
    'abc',
    'a'.repeat(63),
    'my.state.bucket',
    '1bucket9',
  ])('accepts %s', (name) => {
    expect(bucketNameFaults('bucketName', name)).toEqual([]);
  });

  test.each<[string, string, string]>([
    ['too short', 'ab', '`bucketName` must be 3 to 63 characters, got 2: "ab"'],
    ['too long', 'a'.repeat(64), '`bucketName` must be 3 to 63 characters, got 64'],
    ['uppercase', 'My-Bucket', '`bucketName` may contain only lowercase letters, digits, "." and "-", got "M", "B" in "My-Bucket"'],
    ['underscore', 'my_bucket', 'got "_" in "my_bucket"'],
    ['leading hyphen', '-bucket', '`bucketName` must start and end with a lowercase letter or digit, got "-bucket"'],
    ['trailing dot', 'bucket.', 'must start and end with a lowercase letter or digit, got "bucket."'],
    ['double dot', 'my..bucket', '`bucketName` must not contain "..", got "my..bucket"'],
    ['dot hyphen', 'my.-bucket', '`bucketName` must not contain ".-", got "my.-bucket"'],
    ['hyphen dot', 'my-.bucket', '`bucketName` must not contain "-.", got "my-.bucket"'],
    ['IP address', '192.168.5.4', '`bucketName` must not be formatted as an IP address, got "192.168.5.4"'],
    ['xn-- prefix', 'xn--bucket', '`bucketName` must not start with the reserved prefix "xn--", got "xn--bucket"'],
    ['sthree- prefix', 'sthree-bucket', 'reserved prefix "sthree-"'],
    ['amzn-s3-demo- prefix', 'amzn-s3-demo-bucket', 'reserved prefix "amzn-s3-demo-"'],
    ['-s3alias suffix', 'bucket-s3alias', '`bucketName` must not end with the reserved suffix "-s3alias", got "bucket-s3alias"'],
    ['--ol-s3 suffix', 'bucket--ol-s3', 'reserved suffix "--ol-s3"'],
    ['.mrap suffix', 'bucket.mrap', 'reserved suffix ".mrap"'],
    ['--x-s3 suffix', 'bucket--x-s3', 'reserved suffix "--x-s3"'],
    ['--table-s3 suffix', 'bucket--table-s3', 'reserved suffix "--table-s3"'],
  ])('rejects a name with %s', (_rule, name, message) => {
    const faults = bucketNameFaults('bucketName', name);
    expect(faults.join('\n')).toContain(message);
  });

  test('does not judge unresolved tokens', () => {
    expect(bucketNameFaults('bucketName', Aws.ACCOUNT_ID)).toEqual([]);
    expect(bucketNameFaults('bucketName', `UPPER..${Aws.REGION}`)).toEqual([]);
    expect(bucketNameFaults('bucketName', Token.asString({ Ref: 'BucketParam' }))).toEqual([]);
  });
});

describe('tableNameFaults', () => {
  test.each(['terraform-lock', 'abc', 'Team_Locks.v2', 'a'.repeat(255)])('accepts %s', (name) => {
    expect(tableNameFaults('lockTableName', name)).toEqual([]);
  });

  test('rejects names shorter than 3 characters', () => {
    expect(tableNameFaults('lockTableName', 'ab')).toEqual(['`lockTableName` must be 3 to 255 characters, got 2: "ab"']);
  });

  test('rejects names longer than 255 characters', () => {
    expect(tableNameFaults('lockTableName', 'a'.repeat(256))[0]).toMatch(/^`lockTableName` must be 3 to 255 characters, got 256/);
  });

  test('rejects characters outside A-Za-z0-9_.-', () => {
    expect(tableNameFaults('lockTableName', 'lock table/1')).toEqual([
      '`lockTableName` may contain only letters, digits, "_", "." and "-", got " ", "/" in "lock table/1"',
    ]);
  });

  test('does not judge unresolved tokens', () => {
    expect(tableNameFaults('lockTableName', `x${Aws.STACK_NAME}`)).toEqual([]);
  });
});

describe('stateKeyFaults', () => {
  test.each(['terraform.tfstate', 'network/prod/terraform.tfstate', 'a', 'é'.repeat(512)])('accepts %s', (key) => {
    expect(stateKeyFaults('stateKey', key)).toEqual([]);
  });

  test('rejects an empty key', () => {
    expect(stateKeyFaults('stateKey', '')).toEqual(['`stateKey` must not be empty']);
  });

  test.each(['/terraform.tfstate', 'network/'])('rejects a leading or trailing "/": %s', (key) => {
    expect(stateKeyFaults('stateKey', key)).toEqual([`\`stateKey\` must not start or end with "/", got ${JSON.stringify(key)}`]);
  });

  test('rejects "//"', () => {
    expect(stateKeyFaults('stateKey', 'a//b')).toEqual(['`stateKey` must not contain "//", got "a//b"']);
  });

  test('rejects keys over 1024 bytes, counting UTF-8 bytes', () => {
    expect(stateKeyFaults('stateKey', 'é'.repeat(513))).toEqual(["`stateKey` must be at most 1024 bytes (S3's key limit), got 1026 bytes"]);
  });

  test('does not judge unresolved tokens', () => {
    expect(stateKeyFaults('stateKey', `/${Aws.STACK_NAME}/`)).toEqual([]);
  });
});

describe('workspaceKeyPrefixFaults', () => {
  test.each(['env:', 'workspaces', 'teams/network', ''])('accepts %j', (prefix) => {
    expect(workspaceKeyPrefixFaults('workspaceKeyPrefix', prefix)).toEqual([]);
  });

  test.each(['/env', 'env/'])('rejects a leading or trailing "/": %s', (prefix) => {
    expect(workspaceKeyPrefixFaults('workspaceKeyPrefix', prefix)).toEqual([
      `\`workspaceKeyPrefix\` must not start or end with "/", got ${JSON.stringify(prefix)}`,
    ]);
  });

  test('does not judge unresolved tokens', () => {
    expect(workspaceKeyPrefixFaults('workspaceKeyPrefix', `/${Aws.REGION}`)).toEqual([]);
  });
});

describe('throwIfFaults', () => {
  test('returns quietly without faults', () => {
    expect(() => throwIfFaults('Stack/Backend', [])).not.toThrow();
  });

  test('lists every fault in one error', () => {
    expect(() => throwIfFaults('Stack/Backend', ['first', 'second'])).toThrow(
      'Invalid props for Stack/Backend:\n  - first\n  - second',
    );
  });
});

describe('discoveryPrefixFaults', () => {
  test('accepts up to 14 levels and refuses 15', () => {
    expect(discoveryPrefixFaults('discoveryPrefix', `/${'a/'.repeat(14)}`)).toEqual([]);
    expect(discoveryPrefixFaults('discoveryPrefix', `/${'a/'.repeat(15)}`)).toEqual([
      `\`discoveryPrefix\` must have at most 14 levels (SSM allows 15, the parameter name is one), got 15: "/${'a/'.repeat(15)}"`,
    ]);
  });
});

describe('organizationalUnitIdFaults', () => {
  test.each(['ou-ab12-cd34ef56', 'r-ab12', `ou-${'a'.repeat(32)}-${'b'.repeat(32)}`])('accepts %s', (id) => {
    expect(organizationalUnitIdFaults('organizationalUnitIds', id)).toEqual([]);
  });

  test.each(['ou-123', 'abcd', '123456789012', 'r-AB12', 'ou-ab12-cd34ef56 '])('refuses %j, naming root IDs too', (id) => {
    expect(organizationalUnitIdFaults('organizationalUnits', id)).toEqual([
      `\`organizationalUnits\` must hold organizational unit IDs such as "ou-ab12-cd34ef56" or the root's ID such as "r-ab12", got ${JSON.stringify(id)}`,
    ]);
  });
});

describe('repeatedValueFaults', () => {
  test('names each repeated value once', () => {
    expect(repeatedValueFaults('regions', 'a region', ['eu-west-1', 'us-east-1', 'eu-west-1', 'eu-west-1'])).toEqual([
      '`regions` must not repeat a region, got "eu-west-1" twice',
    ]);
    expect(repeatedValueFaults('regions', 'a region', ['eu-west-1', 'us-east-1'])).toEqual([]);
  });

  test('does not compare unresolved tokens', () => {
    expect(repeatedValueFaults('regions', 'a region', [Aws.REGION, Aws.REGION])).toEqual([]);
  });
});
