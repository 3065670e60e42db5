import * as fs from 'fs';
import * as path from 'path';
import { App, Aspects, CfnResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib/core';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { HIPAASecurityChecks } from 'cdk-nag';
import {
  AwsSolutionsChecks as AwsSolutionsChecksV3,
  HIPAASecurityChecks as HIPAASecurityChecksV3,
  NIST80053R5Checks as NIST80053R5ChecksV3,
  PCIDSS321Checks as PCIDSS321ChecksV3,
} from 'cdk-nag-v3';
import { buildBootstrapApp } from '../bin/app';
import {
  LockingMode,
  ReplicaEncryption,
  StateEncryption,
  TerraformStateBackend,
  TerraformStateBackendProps,
  TerraformStateReplica,
  TerraformStateReplicaProps,
} from '../lib';
import { synthErrors } from './support/synth-errors';

const ENV = { account: '123456789012', region: 'eu-west-1' };
/** What the CDK CLI gives the app: the region it deploys to. */
const CLI_ENV = { CDK_DEFAULT_REGION: 'eu-west-1' };
const BUCKET = 'terraform-state-123456789012-eu-west-1';
/** An ARN as CDK renders it in a stack: the partition is a reference. */
const arn = (rest: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, rest]] });

let defaults: ReturnType<typeof synthesize> | undefined;

/**
 * The backend of `props` in a stack, synthesized. Without arguments, the default backend,
 * synthesized once for this file: the tests that take it only read it (one that adds to
 * the stack makes its own, with `synthesize()`).
 */
function synth(...args: Parameters<typeof synthesize>) {
  return args.length === 0 ? (defaults ??= synthesize()) : synthesize(...args);
}

function synthesize(props: TerraformStateBackendProps = {}, env = true) {
  const stack = new Stack(new App(), 'Stack', env ? { env: ENV } : {});
  const backend = new TerraformStateBackend(stack, 'Backend', props);
  return { stack, backend, template: Template.fromStack(stack) };
}

function stateBucketId(stack: Stack, backend: TerraformStateBackend): string {
  return stack.getLogicalId(backend.bucket.node.defaultChild as s3.CfnBucket);
}

function bucketPolicyStatements(template: Template, bucketId: string): any[] {
  const policies = Object.values(template.findResources('AWS::S3::BucketPolicy', { Properties: { Bucket: { Ref: bucketId } } }));
  expect(policies).toHaveLength(1);
  return policies[0].Properties.PolicyDocument.Statement;
}

describe('old versions of state', () => {
  test('expire after 90 days, except the newest 10; expired object delete markers and stale uploads are cleaned up', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: BUCKET,
      LifecycleConfiguration: {
        Rules: [{
          Id: 'KeepRecentStateVersions',
          Status: 'Enabled',
          NoncurrentVersionExpiration: { NoncurrentDays: 90, NewerNoncurrentVersions: 10 },
          ExpiredObjectDeleteMarker: true,
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
          ExpirationInDays: Match.absent(),
        }],
      },
    });
  });

  test('follow noncurrentVersionExpiration and noncurrentVersionsToRetain', () => {
    const { template } = synth({ noncurrentVersionExpiration: Duration.days(400), noncurrentVersionsToRetain: 100 });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: BUCKET,
      LifecycleConfiguration: { Rules: [Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 400, NewerNoncurrentVersions: 100 } })] },
    });
  });

  test('OpenTofu lock files: lockFileTag adds a rule that expires the tagged noncurrent versions after a day, on backend and replica', () => {
    const tag = { key: 'terraform-lock-file', value: 'true' };
    const expected = { Id: 'ExpireTaggedLockFileVersions', Status: 'Enabled', TagFilters: [{ Key: 'terraform-lock-file', Value: 'true' }],
      NoncurrentVersionExpiration: { NoncurrentDays: 1 } };
    const { template } = synth({ lockFileTag: tag });
    const rules = template.toJSON().Resources[Object.keys(template.findResources('AWS::S3::Bucket', { Properties: { BucketName: BUCKET } }))[0]]
      .Properties.LifecycleConfiguration.Rules;
    // The state rule is unchanged; the lock-file rule has only what S3 allows with a tag filter.
    expect(rules).toEqual([expect.objectContaining({ Id: 'KeepRecentStateVersions', ExpiredObjectDeleteMarker: true }), expected]);
    const replicaStack = new Stack(new App(), 'Replica', { env: { ...ENV, region: 'eu-central-1' } });
    new TerraformStateReplica(replicaStack, 'Replica', { sourceBucketName: BUCKET, lockFileTag: tag });
    Template.fromStack(replicaStack).hasResourceProperties('AWS::S3::Bucket', {
      BucketName: `${BUCKET}-replica`, LifecycleConfiguration: { Rules: [Match.objectLike({ Id: 'KeepRecentStateVersions' }), expected] },
    });
    // Without it, one rule.
    expect(Object.values<any>(synth().template.findResources('AWS::S3::Bucket', { Properties: { BucketName: BUCKET } }))[0]
      .Properties.LifecycleConfiguration.Rules).toHaveLength(1);
  });

  test('lockFileTag is checked by S3\'s tag rules', () => {
    expect(synthErrors(synth({ lockFileTag: { key: 'aws:lock', value: 'x'.repeat(257) } }).stack)).toContain([
      '  - `lockFileTag.key` must be 1 to 128 letters, digits, spaces or "_.:/=+-@", not starting with "aws:", got "aws:lock"',
      `  - \`lockFileTag.value\` must be up to 256 letters, digits, spaces or "_.:/=+-@", got "${'x'.repeat(257)}"`,
    ].join('\n'));
    expect(synthErrors(synth({ lockFileTag: { key: '', value: 'a&b' } }).stack)).toContain('`lockFileTag.key` must be 1 to 128');
    expect(synthErrors(synth({ lockFileTag: { key: 'lock file', value: '' } }).stack)).toBe('');
  });

  test('access logs expire after 365 days by default, or serverAccessLogsRetention', () => {
    for (const [props, days] of [[{}, 365], [{ serverAccessLogsRetention: Duration.days(30) }, 30]] as const) {
      const { template } = synth(props);
      template.hasResourceProperties('AWS::S3::Bucket', {
        LoggingConfiguration: Match.absent(),
        LifecycleConfiguration: { Rules: [{ Id: 'ExpireAccessLogs', Status: 'Enabled', ExpirationInDays: days, NoncurrentVersionExpiration: { NoncurrentDays: 1 }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } }] },
      });
    }
  });
});

describe('state history protection', () => {
  test('denies s3:DeleteObjectVersion to everyone by default on every object but lock files, and nothing else beyond the TLS rules', () => {
    const { template, stack, backend } = synth();
    const id = stateBucketId(stack, backend);
    const statements = bucketPolicyStatements(template, id);
    expect(statements.filter((s) => s.Effect === 'Deny').map((s) => s.Action)).toEqual(['s3:*', 's3:*', 's3:DeleteObjectVersion']);
    expect(statements[2]).toEqual({
      Sid: 'DenyStateHistoryDeletion',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 's3:DeleteObjectVersion',
      // Every object but `<any prefix>.tflock`: a lock file's old versions are not state (tfstate-ops prune-locks deletes them).
      NotResource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [id, 'Arn'] }, '/*.tflock']] },
    });
    expect(statements[2].Resource).toBeUndefined();
  });

  test('exempts stateHistoryAdmins by aws:PrincipalArn', () => {
    const admins = ['arn:aws:iam::123456789012:role/StateAdmin', 'arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Admin_*'];
    const { template, stack, backend } = synth({ stateHistoryAdmins: admins });
    const statement = bucketPolicyStatements(template, stateBucketId(stack, backend)).find((s) => s.Sid === 'DenyStateHistoryDeletion');
    expect(statement.Condition).toEqual({ ArnNotLike: { 'aws:PrincipalArn': admins } });
  });

  test('can be turned off', () => {
    const { template, stack, backend } = synth({ protectStateHistory: false });
    expect(bucketPolicyStatements(template, stateBucketId(stack, backend)).map((s) => s.Action)).not.toContain('s3:DeleteObjectVersion');
  });
});

describe('replication', () => {
  test('S3_MANAGED: every version and delete marker to the derived replica bucket, through a least-privilege role', () => {
    const { template, stack, backend } = synth({ replication: { region: 'eu-central-1' } });
    const id = stateBucketId(stack, backend);
    const roles = template.findResources('AWS::IAM::Role');
    const roleId = Object.keys(roles)[0];
    expect(Object.keys(roles)).toHaveLength(1);
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: Match.absent(),
      Path: '/terraform-state-replication/',
      AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 's3.amazonaws.com' } }] },
    });
    template.hasResource('AWS::S3::Bucket', {
      Properties: {
        BucketName: BUCKET,
        ReplicationConfiguration: {
          Role: { 'Fn::GetAtt': [roleId, 'Arn'] },
          Rules: [{
            Id: 'ReplicateAllStateVersions',
            Status: 'Enabled',
            Priority: 1,
            Filter: { Prefix: '' },
            DeleteMarkerReplication: { Status: 'Enabled' },
            Destination: { Bucket: arn(`:s3:::${BUCKET}-replica`), EncryptionConfiguration: Match.absent() },
            SourceSelectionCriteria: Match.absent(),
          }],
        },
      },
      DependsOn: [Match.stringLikeRegexp('^BackendReplicationPermissions')],
    });
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Roles: [{ Ref: roleId }],
      PolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: ['s3:GetReplicationConfiguration', 's3:ListBucket'], Resource: arn(`:s3:::${BUCKET}`) },
          { Effect: 'Allow', Action: ['s3:GetObjectVersionForReplication', 's3:GetObjectVersionAcl', 's3:GetObjectVersionTagging'], Resource: arn(`:s3:::${BUCKET}/*`) },
          { Effect: 'Allow', Action: ['s3:ReplicateObject', 's3:ReplicateDelete', 's3:ReplicateTags'], Resource: arn(`:s3:::${BUCKET}-replica/*`) },
        ],
      },
    });
    // The state bucket, and it alone (not its log bucket), replicates.
    expect(Object.keys(template.findResources('AWS::S3::Bucket', { Properties: { ReplicationConfiguration: Match.anyValue() } }))).toEqual([id]);
    expect(template.toJSON().Resources[id].Properties.BucketName).toBe(BUCKET);
  });

  test('KMS: replicas encrypted with the replica key by alias; the role may decrypt the source key through S3 only', () => {
    const { template, stack, backend } = synth({ encryption: StateEncryption.KMS, replication: { region: 'eu-central-1' } });
    const keyId = stack.getLogicalId(backend.encryptionKey!.node.defaultChild as any);
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: BUCKET,
      ReplicationConfiguration: {
        Rules: [Match.objectLike({
          Destination: {
            Bucket: arn(`:s3:::${BUCKET}-replica`),
            EncryptionConfiguration: { ReplicaKmsKeyID: arn(`:kms:eu-central-1:123456789012:alias/${BUCKET}-replica`) },
          },
          SourceSelectionCriteria: { SseKmsEncryptedObjects: { Status: 'Enabled' } },
        })],
      },
    });
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([{
          Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [keyId, 'Arn'] },
          Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.eu-west-1.', { Ref: 'AWS::URLSuffix' }]] } } },
        }]),
      },
    });
  });

  test('takes a replica bucketName and kmsKeyArn', () => {
    const { template } = synth({
      encryption: StateEncryption.KMS,
      replication: { region: 'us-east-2', bucketName: 'acme-state-dr', kmsKeyArn: 'arn:aws:kms:us-east-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      ReplicationConfiguration: {
        Rules: [Match.objectLike({
          Destination: {
            Bucket: arn(':s3:::acme-state-dr'),
            EncryptionConfiguration: { ReplicaKmsKeyID: 'arn:aws:kms:us-east-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
          },
        })],
      },
    });
  });
});

describe('every backend\'s replica is its own', () => {
  const SOURCE = 'terraform-state-123456789012-eu-west-1';
  /** Where a backend replicates: the destination bucket and, with KMS, the replica key. */
  function destination(stack: Stack, backend: TerraformStateBackend) {
    const bucket = Template.fromStack(stack).toJSON().Resources[stateBucketId(stack, backend)];
    return bucket.Properties.ReplicationConfiguration.Rules[0].Destination;
  }

  test('two backends of one account in two regions replicating into a third get two replica buckets and two keys', () => {
    const app = new App();
    const [west, east] = ['eu-west-1', 'us-east-1'].map((region) => {
      const stack = new Stack(app, `Backend-${region}`, { env: { account: ENV.account, region } });
      return { stack, backend: new TerraformStateBackend(stack, 'Backend', { encryption: StateEncryption.KMS, replication: { region: 'eu-central-1' } }) };
    }).map(({ stack, backend }) => destination(stack, backend));
    expect(west).toEqual({
      Bucket: arn(':s3:::terraform-state-123456789012-eu-west-1-replica'),
      EncryptionConfiguration: { ReplicaKmsKeyID: arn(':kms:eu-central-1:123456789012:alias/terraform-state-123456789012-eu-west-1-replica') },
    });
    expect(east).toEqual({
      Bucket: arn(':s3:::terraform-state-123456789012-us-east-1-replica'),
      EncryptionConfiguration: { ReplicaKmsKeyID: arn(':kms:eu-central-1:123456789012:alias/terraform-state-123456789012-us-east-1-replica') },
    });
  });

  test('the replica made with the backend\'s bucket name as sourceBucketName is the bucket and key alias the backend replicates into', () => {
    const stack = new Stack(new App(), 'Replica', { env: { account: ENV.account, region: 'eu-central-1' } });
    new TerraformStateReplica(stack, 'Replica', { sourceBucketName: SOURCE });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::S3::Bucket', { BucketName: `${SOURCE}-replica` });
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: `alias/${SOURCE}-replica` });
    // Dots are not allowed in alias names.
    const dotted = new Stack(new App(), 'Dotted', { env: { account: ENV.account, region: 'eu-central-1' } });
    new TerraformStateReplica(dotted, 'Replica', { sourceBucketName: 'acme.tf.state' });
    Template.fromStack(dotted).hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/acme-tf-state-replica' });
  });

  test('a replica with neither sourceBucketName nor bucketName is refused, saying why the old shared default was unsafe', () => {
    const stack = new Stack(new App(), 'Replica', { env: { account: ENV.account, region: 'eu-central-1' } });
    const replica = new TerraformStateReplica(stack, 'Replica');
    const errors = synthErrors(stack);
    expect(errors).toContain('`sourceBucketName` or `bucketName` must be set');
    expect(errors).toContain('terraform-state-replica-<account>-<region>, was one bucket for every backend of the account');
    expect(errors).toContain('to keep a replica deployed with that default, into which only one backend replicates, give its name as `bucketName`');
    expect(replica.node.findAll().filter((c) => CfnResource.isCfnResource(c))).toEqual([]);
  });

  test('a sourceBucketName built from AWS::Region is refused: in the replica\'s stack it is the replica\'s region', () => {
    const app = new App();
    const agnostic = new Stack(app, 'Backend');
    const backend = new TerraformStateBackend(agnostic, 'Backend', { replication: { region: 'eu-central-1' } });
    const stack = new Stack(app, 'Replica', { env: { region: 'eu-central-1' } });
    new TerraformStateReplica(stack, 'Replica', { sourceBucketName: backend.bucketName });
    expect(synthErrors(stack)).toContain('`sourceBucketName` refers to the AWS::Region pseudo parameter');
  });

  test('a derived replica name over 63 characters is refused on both sides, naming the prop to set', () => {
    const long = `acme-${'x'.repeat(52)}`; // 57 characters: valid, but not with "-replica"
    expect(synthErrors(synth({ bucketName: long, replication: { region: 'eu-central-1' } }).stack)).toContain(
      `\`replication.bucketName\` must be 3 to 63 characters, got 65: "${long}-replica" (the default, \`bucketName\` and "-replica"): ` +
      'give `replication.bucketName` a name of at most 63 characters');
    const stack = new Stack(new App(), 'Replica', { env: { account: ENV.account, region: 'eu-central-1' } });
    new TerraformStateReplica(stack, 'Replica', { sourceBucketName: long });
    expect(synthErrors(stack)).toContain(`\`bucketName\` must be 3 to 63 characters, got 65: "${long}-replica" (the default, ` +
      '`sourceBucketName` and "-replica"): give `bucketName` a name of at most 63 characters');
  });

  test('two backends of one app replicating into one bucket are refused; a replica sharing its name with a state bucket too', () => {
    const app = new App();
    const one = new Stack(app, 'One', { env: ENV });
    const two = new Stack(app, 'Two', { env: { ...ENV, region: 'us-east-1' } });
    const replicaStack = new Stack(app, 'Replica', { env: { ...ENV, region: 'eu-central-1' } });
    new TerraformStateReplica(replicaStack, 'Replica', { bucketName: 'acme-dr' });
    new TerraformStateBackend(one, 'Backend', { replication: { region: 'eu-central-1', bucketName: 'acme-dr' } });
    new TerraformStateBackend(two, 'Backend', { replication: { region: 'eu-central-1', bucketName: 'acme-dr' } });
    expect(synthErrors(replicaStack)).toBe('');
    expect(synthErrors(one)).toBe('');
    expect(synthErrors(two)).toContain('`replication.bucketName`: Two/Backend and One/Backend would both have the replication destination "acme-dr"; ' +
      'two backends replicating into one bucket mix their state there');
    const three = new Stack(app, 'Three', { env: { ...ENV, region: 'eu-north-1' } });
    new TerraformStateBackend(three, 'Backend', { bucketName: 'acme-dr' });
    expect(synthErrors(three)).toContain('`bucketName`: the state bucket of Three/Backend would be "acme-dr", the replica bucket of Replica/Replica');
  });

  test('an environment-agnostic backend refuses at deploy time to replicate into its own region', () => {
    const ours = (template: Template) => Object.entries<any>(template.toJSON().Rules ?? {})
      .filter(([id]) => id.startsWith('BackendReplicationRegionRule')).map(([, rule]) => rule);
    expect(ours(synth({ replication: { region: 'eu-central-1' } }, false).template)).toEqual([{
      Assertions: [{
        Assert: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-central-1'] }] },
        AssertDescription: 'The replica region eu-central-1 (replication.region; replicaRegion in the bootstrap app) is the region this stack is ' +
          'being deployed to: replication within one region does not survive the loss of that region. Deploy the stack to another region, ' +
          'or replicate to another region.',
      }],
    }]);
    // With a known region, the synth-time check does it.
    expect(ours(synth({ replication: { region: 'eu-central-1' } }).template)).toEqual([]);
    expect(synthErrors(synth({ replication: { region: 'eu-west-1' } }).stack)).toContain('`replication.region` must differ from the backend\'s region');
  });
});

describe('what protects retained state is retained with it', () => {
  /** Every resource of a backend with everything on (customer key, both locks, replication, organization, discovery, access logs). */
  function everythingOn(removalPolicy?: RemovalPolicy) {
    const { template } = synth({
      encryption: StateEncryption.KMS,
      locking: LockingMode.DYNAMODB_AND_S3_LOCKFILE,
      replication: { region: 'eu-central-1' },
      organizationId: 'o-a1b2c3d4e5',
      removalPolicy,
    });
    return Object.values<any>(template.toJSON().Resources);
  }

  const types = ['AWS::DynamoDB::Table', 'AWS::IAM::ManagedPolicy', 'AWS::IAM::Role', 'AWS::KMS::Alias', 'AWS::KMS::Key',
    'AWS::S3::Bucket', 'AWS::S3::BucketPolicy', 'AWS::SSM::Parameter'];

  test('RETAIN (the default): every resource, the bucket policies, alias, discovery parameters and replication role included', () => {
    const resources = everythingOn();
    expect([...new Set(resources.map((r) => r.Type))].sort()).toEqual(types);
    expect(resources.filter((r) => r.Type === 'AWS::S3::BucketPolicy')).toHaveLength(2);
    expect(resources.filter((r) => r.Type === 'AWS::SSM::Parameter')).toHaveLength(5);
    expect(resources.map((r) => `${r.Type} ${r.DeletionPolicy}/${r.UpdateReplacePolicy}`)).toEqual(
      resources.map((r) => `${r.Type} Retain/Retain`));
  });

  test('DESTROY: every resource goes with the stack', () => {
    const resources = everythingOn(RemovalPolicy.DESTROY);
    expect(resources.map((r) => `${r.Type} ${r.DeletionPolicy}/${r.UpdateReplacePolicy}`)).toEqual(
      resources.map((r) => `${r.Type} Delete/Delete`));
  });

  test('RETAIN_ON_UPDATE_OR_DELETE is followed too', () => {
    const resources = everythingOn(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE);
    expect(resources.map((r) => `${r.Type} ${r.DeletionPolicy}/${r.UpdateReplacePolicy}`)).toEqual(
      resources.map((r) => `${r.Type} RetainExceptOnCreate/Retain`));
  });

  test('the replica: its bucket policies and key alias are retained with its buckets and key', () => {
    const stack = new Stack(new App(), 'Replica', { env: { account: '123456789012', region: 'eu-central-1' } });
    new TerraformStateReplica(stack, 'Replica', { sourceBucketName: BUCKET, organizationId: 'o-a1b2c3d4e5' });
    const resources = Object.values<any>(Template.fromStack(stack).toJSON().Resources);
    expect([...new Set(resources.map((r) => r.Type))].sort()).toEqual(['AWS::KMS::Alias', 'AWS::KMS::Key', 'AWS::S3::Bucket', 'AWS::S3::BucketPolicy']);
    expect(resources.map((r) => `${r.Type} ${r.DeletionPolicy}/${r.UpdateReplacePolicy}`)).toEqual(
      resources.map((r) => `${r.Type} Retain/Retain`));
  });
});

describe('replication roles', () => {
  const replicated = (stack: Stack, id: string, name: string) => new TerraformStateBackend(stack, id, {
    bucketName: name, lockTableName: `${name}-lock`, discoveryPrefix: `/${name}/`, replication: { region: 'eu-central-1', bucketName: `${name}-replica` },
  });
  const roles = (stack: Stack) => Object.values<any>(Template.fromStack(stack).findResources('AWS::IAM::Role'));

  test('two replicated backends in one stack get roles without fixed names, under one IAM path', () => {
    const stack = new Stack(new App(), 'Stack', { env: ENV });
    replicated(stack, 'A', 'state-a');
    replicated(stack, 'B', 'state-b');
    expect(roles(stack).map((r) => [r.Properties.RoleName, r.Properties.Path])).toEqual([
      [undefined, '/terraform-state-replication/'],
      [undefined, '/terraform-state-replication/'],
    ]);
  });

  test('two replicated backends in two stacks of one account and region get roles without fixed names', () => {
    const app = new App();
    const one = new Stack(app, 'One', { env: ENV });
    const two = new Stack(app, 'Two', { env: ENV });
    replicated(one, 'Backend', 'state-one');
    replicated(two, 'Backend', 'state-two');
    app.synth();
    for (const stack of [one, two]) {
      expect(roles(stack).map((r) => [r.Properties.RoleName, r.Properties.Path])).toEqual([[undefined, '/terraform-state-replication/']]);
    }
  });
});

describe('TerraformStateReplica', () => {
  function replica(encryption?: ReplicaEncryption) {
    const stack = new Stack(new App(), 'Replica', { env: { account: '123456789012', region: 'eu-central-1' } });
    const r = new TerraformStateReplica(stack, 'Replica', { sourceBucketName: BUCKET, encryption });
    return { stack, replica: r, template: Template.fromStack(stack) };
  }

  test('uses a customer key by default, which serves a KMS backend and an SSE-S3 one', () => {
    const { template, replica: r } = replica();
    expect(r.encryptionKey).toBeDefined();
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: `alias/${BUCKET}-replica` });
  });

  test('makes the bucket the backend expects: versioned, private, TLS-only, lifecycle, history protection, access logs', () => {
    const { template, stack, replica: r } = replica(ReplicaEncryption.S3_MANAGED);
    const id = stack.getLogicalId(r.bucket.node.defaultChild as s3.CfnBucket);
    template.hasResource('AWS::S3::Bucket', {
      Properties: {
        BucketName: `${BUCKET}-replica`,
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'replica-bucket-access-logs/' }),
        LifecycleConfiguration: { Rules: [Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 90, NewerNoncurrentVersions: 10 } })] },
      },
      DeletionPolicy: 'Retain',
    });
    expect(bucketPolicyStatements(template, id).map((s) => s.Action)).toEqual(['s3:*', 's3:*', 's3:DeleteObjectVersion']);
    template.resourceCountIs('AWS::KMS::Key', 0);
  });

  test('KMS: a retained, rotating key under alias/<replica bucket> that only the replication role may encrypt with, through S3', () => {
    const { template, stack, replica: r } = replica(ReplicaEncryption.KMS);
    const keyId = stack.getLogicalId(r.encryptionKey!.node.defaultChild as any);
    template.hasResource('AWS::KMS::Key', {
      Properties: {
        EnableKeyRotation: true,
        KeyPolicy: {
          Statement: Match.arrayWith([{
            Sid: 'AllowStateReplicationToEncrypt',
            Effect: 'Allow',
            Principal: { AWS: '*' },
            Action: ['kms:Encrypt', 'kms:GenerateDataKey'],
            Resource: '*',
            Condition: {
              // The replication roles' IAM path, and the fixed names that earlier versions gave them, so that
              // replication never stops while a backend stack is updated after its replica (see CHANGELOG).
              ArnLike: { 'aws:PrincipalArn': [
                arn(':iam::123456789012:role/terraform-state-replication/*'),
                arn(':iam::123456789012:role/terraform-state-replication-*-to-eu-central-1'),
              ] },
              StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.eu-central-1.', { Ref: 'AWS::URLSuffix' }]] } },
            },
          }]),
        },
      },
      DeletionPolicy: 'Retain',
    });
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: `alias/${BUCKET}-replica`, TargetKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: `${BUCKET}-replica`,
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] } }, BucketKeyEnabled: true }] },
    });
  });

  test('offers only the encryptions that work: KMS and S3_MANAGED, never KMS_MANAGED', () => {
    const stack = new Stack(new App(), 'Replica');
    // Not expressible in TypeScript (`npm run typecheck` fails if this compiles) ...
    // @ts-expect-error KMS_MANAGED (aws/s3) cannot be opened to the replication role
    const props: TerraformStateReplicaProps = { sourceBucketName: BUCKET, encryption: StateEncryption.KMS_MANAGED };
    // ... nor in the other languages: the enum jsii publishes has exactly these members.
    const jsii = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '.jsii'), 'utf8'));
    const encryption = jsii.types['cdk-terraform-state-backend.TerraformStateReplicaProps'].properties.find((p: { name: string }) => p.name === 'encryption');
    expect(encryption.type.fqn).toBe('cdk-terraform-state-backend.ReplicaEncryption');
    expect(jsii.types[encryption.type.fqn].members.map((m: { name: string }) => m.name)).toEqual(['KMS', 'S3_MANAGED']);
    // A JavaScript caller gets a synth-time error naming the prop and the choices.
    expect(synthErrors(new TerraformStateReplica(stack, 'Replica', props))).toContain('`encryption` must be one of KMS, S3_MANAGED, got "KMS_MANAGED"');
  });

  test('rejects bad input, naming the prop', () => {
    const stack = new Stack(new App(), 'Replica');
    expect(synthErrors(new TerraformStateReplica(stack, 'Replica', {
      bucketName: 'X', encryption: 'KMS_MANAGED' as ReplicaEncryption, noncurrentVersionsToRetain: 0, stateHistoryAdmins: ['admin'],
    }))).toContain([
      'Invalid props for Replica/Replica:',
      '  - `encryption` must be one of KMS, S3_MANAGED, got "KMS_MANAGED"',
      '  - `bucketName` must be 3 to 63 characters, got 1: "X"',
      '  - `bucketName` may contain only lowercase letters, digits, "." and "-", got "X" in "X"',
      '  - `bucketName` must start and end with a lowercase letter or digit, got "X"',
      '  - `noncurrentVersionsToRetain` must be a whole number from 1 to 100, got 0',
      '  - `stateHistoryAdmins` must hold IAM principal ARNs such as "arn:aws:iam::123456789012:role/StateAdmin", got "admin"',
    ].join('\n'));
  });
});

describe('bad input', () => {
  test.each<[string, TerraformStateBackendProps, string]>([
    ['noncurrentVersionsToRetain below 1', { noncurrentVersionsToRetain: 0 }, '`noncurrentVersionsToRetain` must be a whole number from 1 to 100, got 0'],
    ['noncurrentVersionsToRetain above 100', { noncurrentVersionsToRetain: 101 }, '`noncurrentVersionsToRetain` must be a whole number from 1 to 100, got 101'],
    ['noncurrentVersionsToRetain not whole', { noncurrentVersionsToRetain: 2.5 }, '`noncurrentVersionsToRetain` must be a whole number from 1 to 100, got 2.5'],
    ['a zero expiration', { noncurrentVersionExpiration: Duration.days(0) }, '`noncurrentVersionExpiration` must be a whole number of days, at least 1, got 0 days'],
    ['a part-day expiration', { noncurrentVersionExpiration: Duration.hours(36) }, '`noncurrentVersionExpiration` must be a whole number of days, at least 1, got 1 day 12 hours'],
    ['a zero log retention', { serverAccessLogsRetention: Duration.days(0) }, '`serverAccessLogsRetention` must be a whole number of days, at least 1, got 0 days'],
    ['a role-session admin ARN', { stateHistoryAdmins: ['arn:aws:sts::123456789012:assumed-role/Admin/alice'] }, '`stateHistoryAdmins` must hold IAM principal ARNs such as "arn:aws:iam::123456789012:role/StateAdmin", got "arn:aws:sts::123456789012:assumed-role/Admin/alice"'],
    ['a malformed admin ARN', { stateHistoryAdmins: ['arn:aws:s3:::bucket'] }, '`stateHistoryAdmins` must hold IAM principal ARNs such as "arn:aws:iam::123456789012:role/StateAdmin", got "arn:aws:s3:::bucket"'],
    ['admins without protection', { protectStateHistory: false, stateHistoryAdmins: ['arn:aws:iam::123456789012:role/A'] }, '`stateHistoryAdmins` is set, but `protectStateHistory` is false'],
    ['a replica region equal to the stack region', { replication: { region: 'eu-west-1' } }, '`replication.region` must differ from the backend\'s region, got "eu-west-1" for both'],
    ['a replica region that is not a region', { replication: { region: 'Frankfurt' } }, '`replication.region` must be an AWS region name such as "eu-central-1", got "Frankfurt"'],
    ['replication with KMS_MANAGED', { encryption: StateEncryption.KMS_MANAGED, replication: { region: 'eu-central-1' } }, '`replication` is set, but `encryption` is KMS_MANAGED'],
    ['a replica key without KMS', { replication: { region: 'eu-central-1', kmsKeyArn: 'arn:aws:kms:eu-central-1:123456789012:alias/x' } }, '`replication.kmsKeyArn` is set, but `encryption` is S3_MANAGED'],
  ])('%s', (_name, props, message) => {
    expect(synthErrors(new TerraformStateBackend(new Stack(new App(), 'Stack', { env: ENV }), 'Backend', props))).toContain(message);
  });

  test('an unknown stack region is not judged against the replica region', () => {
    expect(() => synth({ replication: { region: 'eu-west-1' } }, false)).not.toThrow();
  });
});

/** Every finding of the four packs (cdk-nag 2), one line each. */
function nagV2Findings(app: App): string[] {
  return app.node.findAll().filter((c): c is Stack => Stack.isStack(c)).flatMap((stack) => {
    const annotations = Annotations.fromStack(stack);
    const pattern = Match.stringLikeRegexp('^(AwsSolutions|HIPAA\\.Security|NIST\\.800\\.53\\.R5|PCI\\.DSS\\.321)-');
    return [...annotations.findError('*', pattern), ...annotations.findWarning('*', pattern)]
      .map((m) => `${m.id}: ${String(m.entry.data).split('\n')[0]}`);
  });
}

describe('hardened profile', () => {
  function hardenedApp() {
    const app = new App({ context: { 'profile': 'hardened', 'replicaRegion': 'eu-central-1', '@aws-cdk/core:validateAgainstDefaultRules': true } });
    const stacks = buildBootstrapApp(app, CLI_ENV);
    return { app, ...stacks };
  }

  test('synthesizes a backend (customer key, replication, access logs, history protection) and its replica, replica first', () => {
    const { app, backend, replica } = hardenedApp();
    const assembly = app.synth();
    expect(backend!.backend.encryption).toBe(StateEncryption.KMS);
    expect(replica!.region).toBe('eu-central-1');
    expect(assembly.getStackArtifact(backend!.artifactId).dependencies.map((d) => d.id)).toEqual([replica!.artifactId]);
    const template = Template.fromStack(backend!);
    template.hasResourceProperties('AWS::S3::Bucket', { ReplicationConfiguration: Match.anyValue(), LoggingConfiguration: Match.anyValue() });
    Template.fromStack(replica!).resourceCountIs('AWS::KMS::Key', 1);
  });

  test('cdk-nag 2: zero findings in AwsSolutions, HIPAA Security, NIST 800-53 R5 and PCI DSS 3.2.1', () => {
    const { app } = hardenedApp();
    app.synth();
    expect(nagV2Findings(app)).toEqual([]);
  });

  test('cdk-nag 3: zero violations in the same four packs', () => {
    const app = new App({ context: { profile: 'hardened', replicaRegion: 'eu-central-1' } });
    buildBootstrapApp(app, CLI_ENV);
    const packs = [new AwsSolutionsChecksV3(app), new HIPAASecurityChecksV3(app), new NIST80053R5ChecksV3(app), new PCIDSS321ChecksV3(app)];
    Validations.of(app).addPlugins(...packs);
    const violations = packs.flatMap((p) => p.validateScope(app).violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`));
    expect(violations).toEqual([]);
  });

  test('the checks can fail: the HIPAA pack reports a default backend (SSE-S3, no replication)', () => {
    const app = new App();
    new TerraformStateBackend(new Stack(app, 'Stack'), 'Backend');
    Aspects.of(app).add(new HIPAASecurityChecks());
    app.synth();
    expect(nagV2Findings(app)).toEqual(expect.arrayContaining([
      expect.stringMatching(/StateBucket\/Resource: HIPAA\.Security-S3BucketReplicationEnabled/),
      expect.stringMatching(/StateBucket\/Resource: HIPAA\.Security-S3DefaultEncryptionKMS/),
    ]));
  });

  test('needs replicaRegion, and a customer key', () => {
    expect(() => buildBootstrapApp(new App({ context: { profile: 'hardened' } }), CLI_ENV)).toThrow('`profile=hardened` needs `replicaRegion`');
    expect(() => buildBootstrapApp(new App({ context: { profile: 'hardened', replicaRegion: 'eu-central-1', encryption: 'S3_MANAGED' } }), CLI_ENV))
      .toThrow('`profile=hardened` uses a customer-managed key; `encryption` must be KMS or unset, got "S3_MANAGED"');
  });

  test('every suppression the library adds, with its reason (adding one must change this list)', () => {
    const { app } = hardenedApp();
    const suppressions = app.node.findAll().filter(CfnResource.isCfnResource).flatMap((resource) =>
      (resource.getMetadata('cdk_nag')?.rules_to_suppress ?? []).map((rule: { id: string; reason: string; applies_to?: string[] }) =>
        `${resource.node.path}: ${rule.id}${rule.applies_to ? ` [${rule.applies_to.join(', ')}]` : ''}: ${rule.reason}`));
    const logs = 'S3 delivers server access logs only to buckets whose default encryption is SSE-S3; SSE-KMS would stop log delivery.';
    const logReplication = 'Access logs record requests to the state bucket, not state; the state itself is what is versioned and replicated.';
    const replicaReason = 'This bucket is itself the cross-region replica of the Terraform state bucket.';
    const logBucket = (path: string) => [
      `${path}: HIPAA.Security-S3DefaultEncryptionKMS: ${logs}`,
      `${path}: NIST.800.53.R5-S3DefaultEncryptionKMS: ${logs}`,
      `${path}: PCI.DSS.321-S3DefaultEncryptionKMS: ${logs}`,
      `${path}: HIPAA.Security-S3BucketReplicationEnabled: ${logReplication}`,
      `${path}: NIST.800.53.R5-S3BucketReplicationEnabled: ${logReplication}`,
      `${path}: PCI.DSS.321-S3BucketReplicationEnabled: ${logReplication}`,
    ];
    const table = 'The lock table holds only transient lock items and state digests that Terraform rewrites on every state write; ' +
      'point-in-time recovery and deletion protection are on, and a backup would restore stale locks.';
    expect(suppressions.sort()).toEqual([
      ...logBucket('TerraformStateBackendReplica-eu-west-1/Replica/AccessLogBucket/Resource'),
      'TerraformStateBackendReplica-eu-west-1/Replica/ReplicaBucket/Resource: HIPAA.Security-S3BucketReplicationEnabled: ' + replicaReason,
      'TerraformStateBackendReplica-eu-west-1/Replica/ReplicaBucket/Resource: NIST.800.53.R5-S3BucketReplicationEnabled: ' + replicaReason,
      'TerraformStateBackendReplica-eu-west-1/Replica/ReplicaBucket/Resource: PCI.DSS.321-S3BucketReplicationEnabled: ' + replicaReason,
      ...logBucket('TerraformStateBackend/Backend/AccessLogBucket/Resource'),
      `TerraformStateBackend/Backend/LockTable/Resource: HIPAA.Security-DynamoDBInBackupPlan: ${table}`,
      `TerraformStateBackend/Backend/LockTable/Resource: NIST.800.53.R5-DynamoDBInBackupPlan: ${table}`,
      'TerraformStateBackend/Backend/ReplicationPermissions/Resource: AwsSolutions-IAM5 ' +
      '[Resource::arn:<AWS::Partition>:s3:::terraform-state-<AWS::AccountId>-<AWS::Region>/*, ' +
      'Resource::arn:<AWS::Partition>:s3:::terraform-state-<AWS::AccountId>-<AWS::Region>-replica/*]: Replication reads every object version of the state bucket and writes every key of the replica bucket: the object wildcard is exactly the replication scope.',
    ].sort());
  });
});

test('TerraformStateReplica with organizationId denies principals outside it on its buckets and key', () => {
  const stack = new Stack(new App(), 'Replica', { env: { account: '123456789012', region: 'eu-central-1' } });
  new TerraformStateReplica(stack, 'Replica', { sourceBucketName: BUCKET, organizationId: 'o-a1b2c3d4e5' });
  const template = Template.fromStack(stack);
  const condition = {
    StringNotEqualsIfExists: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' },
    BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' },
  };
  const policies = Object.values<any>(template.findResources('AWS::S3::BucketPolicy'));
  expect(policies).toHaveLength(2);
  for (const policy of policies) {
    expect(policy.Properties.PolicyDocument.Statement).toEqual(expect.arrayContaining([
      expect.objectContaining({ Sid: 'DenyOutsideOrganization', Effect: 'Deny', NotAction: expect.arrayContaining(['s3:PutBucket*']), Condition: condition }),
      expect.objectContaining({
        Sid: 'DenyBucketAdministrationOutsideOrganizationAndAccount', Effect: 'Deny', Action: expect.arrayContaining(['s3:PutBucket*']),
        Condition: { ...condition, StringNotEquals: { 'aws:PrincipalAccount': '123456789012' } },
      }),
    ]));
  }
  template.hasResourceProperties('AWS::KMS::Key', {
    KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({
      Sid: 'DenyOutsideOrganization',
      Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:CreateGrant'],
      Condition: condition,
    })]) },
  });
  expect(synthErrors(new TerraformStateReplica(new Stack(new App(), 'R2'), 'Replica', { sourceBucketName: BUCKET, organizationId: 'org' }))).toContain(
    '`organizationId` must be "o-" and 10 to 32 lowercase letters or digits, got "org"');
});
