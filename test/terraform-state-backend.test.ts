import { App, Aws, RemovalPolicy, Stack } from 'aws-cdk-lib/core';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { LockingMode, TerraformStateBackend, TerraformStateBackendProps } from '../lib';
import { synthErrors } from './support/synth-errors';

const ENV = { account: '123456789012', region: 'eu-west-1' };

let defaults: ReturnType<typeof synthesize> | undefined;

/**
 * The backend of `props` in a stack, synthesized. Without arguments, the default backend,
 * synthesized once for this file: the tests that take it only read it (one that adds to
 * the stack makes its own, with `synthesize()`).
 */
function synth(...args: Parameters<typeof synthesize>) {
  return args.length === 0 ? (defaults ??= synthesize()) : synthesize(...args);
}

function synthesize(props?: TerraformStateBackendProps, options: { env?: boolean; context?: Record<string, unknown> } = {}) {
  const app = new App({ context: options.context });
  const stack = new Stack(app, 'Stack', options.env ? { env: ENV } : {});
  const backend = new TerraformStateBackend(stack, 'Backend', props);
  return { stack, backend, template: Template.fromStack(stack) };
}

/** The logical ID of the one output whose ID starts with `prefix` (construct outputs get a hash suffix). */
function outputId(template: Template, prefix: string): string {
  const ids = Object.keys(template.findOutputs('*')).filter((id) => id.startsWith(prefix));
  expect(ids).toHaveLength(1);
  return ids[0];
}

function stateBucketLogicalId(template: Template): string {
  const buckets = template.findResources('AWS::S3::Bucket', { Properties: { VersioningConfiguration: Match.anyValue(), LoggingConfiguration: Match.anyValue() } });
  const ids = Object.keys(buckets);
  expect(ids).toHaveLength(1);
  return ids[0];
}

describe('state bucket', () => {
  test('is versioned, SSE-S3 encrypted, private, ACL-free and retained', () => {
    const { template } = synth();
    template.hasResource('AWS::S3::Bucket', {
      Properties: {
        BucketName: { 'Fn::Join': ['', ['terraform-state-', { Ref: 'AWS::AccountId' }, '-', { Ref: 'AWS::Region' }]] },
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        AccessControl: Match.absent(),
        LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'state-bucket-access-logs/' }),
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  test('takes its name from the stack account and region when they are known', () => {
    const { template, backend } = synth({}, { env: true });
    template.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'terraform-state-123456789012-eu-west-1' });
    expect(backend.bucketName).toBe('terraform-state-123456789012-eu-west-1');
  });

  test('uses bucketName', () => {
    const { template } = synth({ bucketName: 'acme-tf-state' });
    template.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'acme-tf-state' });
  });

  test('has a policy that denies requests without TLS (and below TLS 1.2) on the bucket and its objects', () => {
    const { template } = synth();
    const bucket = stateBucketLogicalId(template);
    const bucketAndObjects = [
      { 'Fn::GetAtt': [bucket, 'Arn'] },
      { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/*']] },
    ];
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucket },
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: bucketAndObjects,
          },
          {
            Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:*',
            Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
            Resource: bucketAndObjects,
          },
          {
            Sid: 'DenyStateHistoryDeletion', Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:DeleteObjectVersion',
            NotResource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/*.tflock']] },
          },
        ],
      },
    });
  });

  test('has no statement that denies uploads lacking encryption headers', () => {
    const { template } = synth();
    const json = JSON.stringify(template.findResources('AWS::S3::BucketPolicy'));
    expect(json).not.toContain('s3:x-amz-server-side-encryption');
  });
});

describe('access logs', () => {
  test('go to a dedicated SSE-S3, versioned, private, TLS-only, retained log bucket without ACLs', () => {
    const { template } = synth();
    template.resourceCountIs('AWS::S3::Bucket', 2);
    template.hasResource('AWS::S3::Bucket', {
      Properties: {
        BucketName: Match.absent(),
        LoggingConfiguration: Match.absent(),
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        AccessControl: Match.absent(),
      },
      DeletionPolicy: 'Retain',
    });
  });

  test.each([undefined, true, false])('are delivered through the log bucket policy, never an ACL (serverAccessLogsUseBucketPolicy flag: %s)', (flag) => {
    const context = flag === undefined ? undefined : { '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': flag };
    const { template } = synth({}, { context });
    const stateBucket = stateBucketLogicalId(template);
    const logBuckets = Object.keys(template.findResources('AWS::S3::Bucket', { Properties: { LoggingConfiguration: Match.absent() } }));
    expect(logBuckets).toHaveLength(1);
    const logBucket = logBuckets[0];
    template.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: { DestinationBucketName: { Ref: logBucket }, LogFilePrefix: 'state-bucket-access-logs/' },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logBucket },
      PolicyDocument: {
        Statement: Match.arrayWith([{
          Sid: 'AllowStateBucketAccessLogDelivery',
          Effect: 'Allow',
          Principal: { Service: 'logging.s3.amazonaws.com' },
          Action: 's3:PutObject',
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logBucket, 'Arn'] }, '/state-bucket-access-logs/*']] },
          Condition: {
            ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [stateBucket, 'Arn'] } },
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          },
        }]),
      },
    });
    expect(JSON.stringify(template.toJSON())).not.toContain('LogDeliveryWrite');
  });

  test('go to serverAccessLogsBucket under serverAccessLogsPrefix, which gets the delivery grant', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack');
    const logs = new s3.Bucket(stack, 'OrgLogs', { objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED });
    const backend = new TerraformStateBackend(stack, 'Backend', { serverAccessLogsBucket: logs, serverAccessLogsPrefix: 'tf/' });
    const template = Template.fromStack(stack);
    expect(backend.logBucket).toBe(logs);
    template.resourceCountIs('AWS::S3::Bucket', 2);
    const logsId = stack.getLogicalId(logs.node.defaultChild as s3.CfnBucket);
    template.hasResourceProperties('AWS::S3::Bucket', { LoggingConfiguration: { DestinationBucketName: { Ref: logsId }, LogFilePrefix: 'tf/' } });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logsId },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({
        Principal: { Service: 'logging.s3.amazonaws.com' },
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logsId, 'Arn'] }, '/tf/*']] },
      })]) },
    });
  });

  test('go to a log bucket in another stack without a reference cycle, narrowed by the literal bucket name', () => {
    const app = new App();
    const logStack = new Stack(app, 'Logs', { env: ENV });
    const logs = new s3.Bucket(logStack, 'Central', { objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED });
    const stack = new Stack(app, 'Stack', { env: ENV });
    new TerraformStateBackend(stack, 'Backend', { serverAccessLogsBucket: logs });
    app.synth();
    Template.fromStack(logStack).hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({
        Principal: { Service: 'logging.s3.amazonaws.com' },
        Condition: {
          ArnLike: { 'aws:SourceArn': 'arn:*:s3:::terraform-state-123456789012-eu-west-1' },
          StringEquals: { 'aws:SourceAccount': '123456789012' },
        },
      })]) },
    });
  });

  test('go to a log bucket in another stack narrowed to the account when the bucket name is a token', () => {
    const app = new App();
    const logStack = new Stack(app, 'Logs');
    const logs = new s3.Bucket(logStack, 'Central', { objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED });
    new TerraformStateBackend(new Stack(app, 'Stack'), 'Backend', { serverAccessLogsBucket: logs });
    app.synth();
    const statement = Object.values<any>(Template.fromStack(logStack).findResources('AWS::S3::BucketPolicy'))[0]
      .Properties.PolicyDocument.Statement.find((st: any) => st.Principal?.Service === 'logging.s3.amazonaws.com');
    // S3 delivers access logs only to a bucket of the source bucket's own account.
    expect(statement.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } });
  });

  test('can be turned off, with a warning', () => {
    const { template, stack, backend } = synth({ serverAccessLogs: false });
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.hasResourceProperties('AWS::S3::Bucket', { LoggingConfiguration: Match.absent() });
    expect(backend.logBucket).toBeUndefined();
    Annotations.fromStack(stack).hasWarning('/Stack/Backend', Match.stringLikeRegexp('serverAccessLogs is false'));
  });
});

describe('lock table', () => {
  test('has only the LockID string key, on-demand billing, PITR, deletion protection and the AWS owned key, and is retained', () => {
    const { template } = synth();
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        TableName: 'terraform-lock',
        KeySchema: [{ AttributeName: 'LockID', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'LockID', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        ProvisionedThroughput: Match.absent(),
        GlobalSecondaryIndexes: Match.absent(),
        LocalSecondaryIndexes: Match.absent(),
        TimeToLiveSpecification: Match.absent(),
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        SSESpecification: { SSEEnabled: false },
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  test('uses lockTableName', () => {
    const { template, backend } = synth({ lockTableName: 'team-locks' });
    template.hasResourceProperties('AWS::DynamoDB::Table', { TableName: 'team-locks' });
    expect(backend.lockTableName).toBe('team-locks');
  });
});

describe('removalPolicy', () => {
  test('DESTROY deletes buckets and table (protection off) and warns', () => {
    const { template, stack } = synth({ removalPolicy: RemovalPolicy.DESTROY });
    for (const type of ['AWS::S3::Bucket', 'AWS::DynamoDB::Table']) {
      const resources = Object.values(template.findResources(type));
      expect(resources.length).toBeGreaterThan(0);
      for (const resource of resources) {
        expect(resource.DeletionPolicy).toBe('Delete');
      }
    }
    template.hasResourceProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: false });
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
    Annotations.fromStack(stack).hasWarning('/Stack/Backend', Match.stringLikeRegexp('removalPolicy is DESTROY'));
  });

  test('RETAIN_ON_UPDATE_OR_DELETE keeps deletion protection on', () => {
    const { template } = synth({ removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE });
    template.hasResource('AWS::DynamoDB::Table', { Properties: { DeletionProtectionEnabled: true }, DeletionPolicy: 'RetainExceptOnCreate' });
  });

  test('SNAPSHOT is an error: S3 buckets cannot be snapshotted', () => {
    expect(synthErrors(new TerraformStateBackend(new Stack(new App(), 'Stack', {}), 'Backend', { removalPolicy: RemovalPolicy.SNAPSHOT }))).toContain(
      '`removalPolicy` must be RETAIN, RETAIN_ON_UPDATE_OR_DELETE or DESTROY, got SNAPSHOT, which S3 buckets do not support',
    );
  });

  test('RETAIN by default raises no warning', () => {
    const { stack } = synth();
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
  });
});

describe('outputs', () => {
  test('carry the whole backend block exactly as terraform fmt prints it', () => {
    const { template } = synth({}, { env: true });
    template.hasOutput(outputId(template, 'BackendBackendBlock'), {
      Value: [
        'terraform {',
        '  backend "s3" {',
        '    bucket         = "terraform-state-123456789012-eu-west-1"',
        '    key            = "terraform.tfstate"',
        '    region         = "eu-west-1"',
        '    dynamodb_table = "terraform-lock"',
        '    encrypt        = true',
        '  }',
        '}',
        '',
      ].join('\n'),
      Export: Match.absent(),
    });
  });

  test('carry stateKey and workspaceKeyPrefix', () => {
    const { template } = synth({ stateKey: 'network/terraform.tfstate', workspaceKeyPrefix: 'workspaces' }, { env: true });
    template.hasOutput(outputId(template, 'BackendBackendBlock'), {
      Value: Match.stringLikeRegexp('\n    key                  = "network/terraform.tfstate"\n[^]*\n    workspace_key_prefix = "workspaces"\n  }\n}\n$'),
    });
  });

  test('resolve to the pseudo parameters in an environment-agnostic stack', () => {
    const { template } = synth();
    template.hasOutput(outputId(template, 'BackendBackendBlock'), {
      Value: {
        'Fn::Join': ['', [
          'terraform {\n  backend "s3" {\n    bucket         = "terraform-state-',
          { Ref: 'AWS::AccountId' }, '-', { Ref: 'AWS::Region' },
          '"\n    key            = "terraform.tfstate"\n    region         = "',
          { Ref: 'AWS::Region' },
          '"\n    dynamodb_table = "terraform-lock"\n    encrypt        = true\n  }\n}\n',
        ]],
      },
    });
  });

  test('name the bucket and the table, without export names', () => {
    const { template } = synth();
    const bucket = stateBucketLogicalId(template);
    const table = Object.keys(template.findResources('AWS::DynamoDB::Table'))[0];
    template.hasOutput(outputId(template, 'BackendStateBucketName'), { Value: { Ref: bucket }, Export: Match.absent() });
    template.hasOutput(outputId(template, 'BackendLockTableName'), { Value: { Ref: table }, Export: Match.absent() });
    for (const output of Object.values(template.findOutputs('*'))) {
      expect(output.Export).toBeUndefined();
    }
  });

  test('include the partial backend config file', () => {
    const { template } = synth({}, { env: true });
    template.hasOutput(outputId(template, 'BackendBackendConfigFile'), {
      Value: 'bucket         = "terraform-state-123456789012-eu-west-1"\nkey            = "terraform.tfstate"\nregion         = "eu-west-1"\ndynamodb_table = "terraform-lock"\nencrypt        = true\n',
    });
  });
});

describe('public API', () => {
  test('exposes the bucket, table, log bucket and settings', () => {
    const { backend, stack } = synth();
    expect(stack.resolve(backend.bucket.bucketName)).toEqual({ Ref: stack.getLogicalId(backend.bucket.node.defaultChild as s3.CfnBucket) });
    expect(backend.lockTable).toBeDefined();
    expect(backend.logBucket).toBeDefined();
    expect(backend.encryptionKey).toBeUndefined();
    expect(backend.stateKey).toBe('terraform.tfstate');
    expect(backend.workspaceKeyPrefix).toBeUndefined();
  });

  test('backendConfig() returns the settings, and takes another state key per configuration', () => {
    const { backend } = synth({}, { env: true });
    expect(backend.backendConfig()).toEqual({
      bucket: 'terraform-state-123456789012-eu-west-1',
      key: 'terraform.tfstate',
      region: 'eu-west-1',
      dynamodbTable: 'terraform-lock',
      useLockfile: undefined,
      encrypt: true,
      kmsKeyId: undefined,
      workspaceKeyPrefix: undefined,
    });
    expect(backend.backendConfig({ stateKey: 'app/terraform.tfstate', workspaceKeyPrefix: 'ws' })).toMatchObject({
      key: 'app/terraform.tfstate', workspaceKeyPrefix: 'ws',
    });
    expect(backend.renderBackendBlock({ stateKey: 'app/terraform.tfstate' })).toContain('    key            = "app/terraform.tfstate"\n');
  });

  test('backendConfig() rejects a bad state key, naming it', () => {
    const { backend } = synth();
    expect(() => backend.backendConfig({ stateKey: '/abs', workspaceKeyPrefix: 'x/' })).toThrow(
      /`stateKey` must not start or end with "\/", got "\/abs"\n {2}- `workspaceKeyPrefix` must not start or end with "\/", got "x\/"/,
    );
  });
});

describe('validation', () => {
  test('reports every fault in one error, naming prop, value and rule, before any resource is made', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack');
    expect(synthErrors(new TerraformStateBackend(stack, 'Backend', {
      bucketName: 'Bad_Bucket',
      lockTableName: 'x',
      stateKey: 'a//b',
      workspaceKeyPrefix: '/env',
    }))).toContain([
      'Invalid props for Stack/Backend:',
      '  - `bucketName` may contain only lowercase letters, digits, "." and "-", got "B", "_" in "Bad_Bucket"',
      '  - `bucketName` must start and end with a lowercase letter or digit, got "Bad_Bucket"',
      '  - `stateKey` must not contain "//", got "a//b"',
      '  - `lockTableName` must be 3 to 255 characters, got 1: "x"',
      '  - `workspaceKeyPrefix` must not start or end with "/", got "/env"',
    ].join('\n'));
    expect(stack.node.findChild('Backend').node.children).toHaveLength(0);
  });

  test('reports faults the CDK way: an error annotation, no throw, nothing built; grants and rendering refuse', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack');
    const role = new iam.Role(stack, 'Ci', { assumedBy: new iam.AccountRootPrincipal() });
    const backend = new TerraformStateBackend(stack, 'Backend', {
      locking: 'FILE' as LockingMode, // a JavaScript caller's typo must not crash the build before it is reported
      bucketName: 'ab',
    });
    const errors = Annotations.fromStack(stack).findError('/Stack/Backend', Match.anyValue());
    expect(errors).toHaveLength(1);
    expect(errors[0].entry.data).toBe([
      'Invalid props for Stack/Backend:',
      '  - `locking` must be one of DYNAMODB, S3_LOCKFILE, DYNAMODB_AND_S3_LOCKFILE, got "FILE"',
      '  - `bucketName` must be 3 to 63 characters, got 2: "ab"',
    ].join('\n'));
    expect(() => app.synth()).not.toThrow(); // the CLI fails on the error annotation: `[Error at /Stack/Backend] ...`
    expect(backend.node.children).toHaveLength(0);
    expect(() => backend.grants.readWrite(role)).toThrow('`bucketName` must be 3 to 63 characters, got 2: "ab"');
    expect(() => backend.renderBackendBlock()).toThrow("Stack/Backend: the backend's props are invalid");
  });

  test('accepts unresolved tokens everywhere', () => {
    const { template } = synth({
      bucketName: `state-${Aws.ACCOUNT_ID}`,
      lockTableName: `locks-${Aws.STACK_NAME}`,
      stateKey: `${Aws.REGION}/terraform.tfstate`,
      workspaceKeyPrefix: Aws.STACK_NAME,
    });
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
  });

  test('judges a default bucket name built from a known account and region', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack', { env: { account: '123456789012', region: 'x'.repeat(40) } });
    expect(synthErrors(new TerraformStateBackend(stack, 'Backend'))).toMatch(/`bucketName` must be 3 to 63 characters, got 69/);
  });

  test('rejects serverAccessLogsBucket or serverAccessLogsPrefix with serverAccessLogs false', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack');
    const logs = new s3.Bucket(stack, 'Logs');
    expect(synthErrors(new TerraformStateBackend(stack, 'Backend', { serverAccessLogs: false, serverAccessLogsBucket: logs, serverAccessLogsPrefix: 'p/' }))).toContain(
      '  - `serverAccessLogsBucket` is set, but `serverAccessLogs` is false; drop one of them\n' +
      '  - `serverAccessLogsPrefix` is set to "p/", but `serverAccessLogs` is false',
    );
  });
});
