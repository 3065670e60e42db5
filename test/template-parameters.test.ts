/**
 * The templates' parameter constraints (CloudFormation checks them before it
 * makes anything; the construct never judges a parameter's token) against the
 * construct's own rules (lib/private/validate.ts), on a table of good and bad
 * values: each pattern accepts what the rule accepts and refuses what it
 * refuses, except the differences listed, each with its reason.
 */
import { CfnParameterProps, Duration, Stack } from 'aws-cdk-lib/core';
import { StateEncryption } from '../lib';
import { resolveBackendSettings } from '../lib/private/defaults';
import {
  backendFaults, bucketNameFaults, discoveryPrefixFaults, integerRangeFaults, lifecycleDaysFaults, organizationIdFaults, regionFaults, replicaFaults,
  stateKeyFaults, tableNameFaults,
} from '../lib/private/validate';
import {
  bucketNameParameter, discoveryPrefixParameter, expirationDaysParameter, lockTableNameParameter, organizationIdParameter, replicaRegionParameter,
  sourceBucketNameParameter, sourceRegionParameter, stateKeyParameter, versionsToRetainParameter,
} from '../lib/private/template-parameters';

/**
 * Whether CloudFormation accepts `value` for a parameter: AllowedPattern (a Java
 * regex, written in the subset JavaScript reads alike), lengths, Min/MaxValue.
 */
function accepts(p: CfnParameterProps, value: string | number): boolean {
  if (p.type === 'Number') {
    const n = Number(value);
    return !Number.isNaN(n) && (p.minValue === undefined || n >= p.minValue) && (p.maxValue === undefined || n <= p.maxValue);
  }
  const s = String(value);
  return (p.allowedPattern === undefined || new RegExp(p.allowedPattern).test(s)) &&
    (p.minLength === undefined || s.length >= p.minLength) && (p.maxLength === undefined || s.length <= p.maxLength);
}

interface Case { readonly value: string | number; readonly ruleAccepts: boolean; readonly parameterAccepts: boolean }

/** Every value the rule and the parameter judge alike, and the listed exceptions as they are. */
function table(good: Array<string | number>, bad: Array<string | number>, exceptions: Array<[string | number, boolean, string]> = []) {
  return [
    ...good.map((value) => ({ value, ruleAccepts: true, parameterAccepts: true })),
    ...bad.map((value) => ({ value, ruleAccepts: false, parameterAccepts: false })),
    ...exceptions.map(([value, parameterAccepts]) => ({ value, ruleAccepts: !parameterAccepts, parameterAccepts })),
  ];
}

function check(p: CfnParameterProps, rule: (v: any) => string[], cases: Case[]): void {
  const seen = cases.map((c) => ({ value: c.value, ruleAccepts: rule(c.value).length === 0, parameterAccepts: accepts(p, c.value) }));
  expect(seen).toEqual(cases);
}

const BUCKET_GOOD = ['abc', 'terraform-state-123456789012-eu-west-1', 'a1-b2', '0abc9', 'a'.repeat(63)];
const BUCKET_BAD = ['ab', 'a'.repeat(64), 'Abc', 'abc-', '-abc', 'a_b', 'a b', 'xn--abc', 'sthree-abc', 'amzn-s3-demo-abc',
  'abc-s3alias', 'abc--ol-s3', 'abc--x-s3', 'abc--table-s3', '192.168.1.1', 'a..b', 'a.-b', 'a-.b', '.abc', 'abc.'];

describe('template parameters follow the construct\'s rules', () => {
  test('BucketName (with dots allowed)', () => {
    check(bucketNameParameter(true), (v) => bucketNameFaults('bucketName', v), table(
      [...BUCKET_GOOD, 'a.b.c', 'abc.mrap.x'], [...BUCKET_BAD, 'abc.mrap'],
      [['', true, 'empty selects the default name, terraform-state-<account>-<region>']],
    ));
  });

  test('BucketName in a template that makes a KMS key: no dots (the alias is alias/<bucket name>)', () => {
    check(bucketNameParameter(false), (v) => bucketNameFaults('bucketName', v), table(BUCKET_GOOD, BUCKET_BAD, [
      ['', true, 'empty selects the default name'],
      ['a.b.c', false, 'the construct makes the alias alias/a-b-c; a template cannot replace the dots, and an alias cannot hold them'],
    ]));
  });

  test('BucketName in a template that replicates (and makes a KMS key): at most 55 characters, the replica is <name>-replica', () => {
    // The construct's rule for a replicated backend: its own name's, and the derived replica name's.
    const replicated = (v: string) => {
      const props = { bucketName: v, encryption: StateEncryption.KMS, replication: { region: 'eu-central-1' } };
      return backendFaults(props, resolveBackendSettings(props, '123456789012', 'eu-west-1'), 'eu-west-1');
    };
    check(bucketNameParameter(false, true), replicated, table(
      [...BUCKET_GOOD.filter((v) => v.length <= 55), 'a'.repeat(55)], [...BUCKET_BAD, 'a'.repeat(56), 'a'.repeat(63)], [
        ['', true, 'empty selects the default name'],
        ['a.b.c', false, 'dots: the key\'s alias'],
      ]));
  });

  test('SourceBucketName (the replica template): the replicated backend\'s BucketName, by the replica\'s own rule', () => {
    check(sourceBucketNameParameter(), (v) => replicaFaults({ sourceBucketName: v }, new Stack()), table(
      [...BUCKET_GOOD.filter((v) => v.length <= 55), 'a'.repeat(55)], [...BUCKET_BAD, 'a'.repeat(56)], [
        ['', true, 'empty selects terraform-state-<account>-<SourceRegion>, the backend\'s default'],
        ['a.b.c', false, 'the construct makes the alias alias/a-b-c-replica; a template cannot replace the dots'],
      ]));
  });

  test('SourceRegion (the replica template)', () => {
    check(sourceRegionParameter(), (v) => regionFaults('sourceRegion', v), table(
      ['eu-west-1', 'us-gov-west-1', 'ap-southeast-3'], ['eu-west', 'EU-WEST-1', 'eu_west_1', ''],
    ));
  });

  test('LockTableName', () => {
    check(lockTableNameParameter('terraform-lock'), (v) => tableNameFaults('lockTableName', v), table(
      ['terraform-lock', 'A_b.c-9', 'x'.repeat(255)], ['ab', 'x'.repeat(256), 'a b', 'a/b', 'a:b', ''],
    ));
  });

  test('StateKey', () => {
    check(stateKeyParameter('terraform.tfstate'), (v) => stateKeyFaults('stateKey', v), table(
      ['terraform.tfstate', 'network/prod/terraform.tfstate', 'with space', 'a,b=c', 'x'.repeat(1024)],
      ['', '/a', 'a/', 'a//b', '/', 'x'.repeat(1025)],
      // A parameter reaches the emitted HCL unescaped, so it cannot hold what the construct escapes in a literal key;
      // ASCII only, so that MaxLength (characters) is S3's 1024-byte limit.
      [['a"b', false, 'quote'], ['a\\b', false, 'backslash'], ['a${x}', false, 'template'], ['a%{x}', false, 'directive'],
        ['a\tb', false, 'control character'], ['état.tfstate', false, 'not ASCII']],
    ));
  });

  test('OrganizationId', () => {
    check(organizationIdParameter(''), (v) => organizationIdFaults('organizationId', v), table(
      ['o-a1b2c3d4e5', `o-${'a'.repeat(32)}`], ['o-abc', `o-${'a'.repeat(33)}`, 'o-ABCDEFGHIJ', 'ou-a1b2c3d4e5', 'a1b2c3d4e5'],
      [['', true, 'empty: no organization boundary']],
    ));
  });

  test('DiscoveryPrefix', () => {
    const levels = (n: number) => `/${Array.from({ length: n }, (_, i) => `l${i}`).join('/')}/`;
    check(discoveryPrefixParameter('/terraform/backend/'), (v) => discoveryPrefixFaults('discoveryPrefix', v), table(
      ['/terraform/backend/', '/', '/a.b_c-D/', levels(14)],
      ['terraform/', '/terraform', '//', '/a b/', '/aws/x/', '/AWS/', '/ssm/x/', '/Ssm/', '/awsome/', levels(15), ''],
    ));
  });

  test('ReplicaRegion', () => {
    check(replicaRegionParameter(), (v) => regionFaults('replicaRegion', v), table(
      ['eu-central-1', 'us-gov-west-1', 'ap-southeast-3', 'cn-north-1'], ['eu-west', 'EU-WEST-1', 'euwest1', 'eu_west_1', ''],
    ));
  });

  test('NoncurrentVersionExpirationDays', () => {
    check(expirationDaysParameter(90), (v) => lifecycleDaysFaults('noncurrentVersionExpiration', Duration.days(Number(v))), table(
      [1, 90, 3650], [0],
      // CloudFormation's Number takes fractions; S3 refuses a fractional day count when the stack is made.
      [[1.5, true, 'fraction']],
    ));
  });

  test('NoncurrentVersionsToRetain', () => {
    check(versionsToRetainParameter(10), (v) => integerRangeFaults('noncurrentVersionsToRetain', Number(v), 1, 100), table(
      [1, 10, 100], [0, 101, -1], [[2.5, true, 'fraction: S3 refuses it when the stack is made']],
    ));
  });
});
