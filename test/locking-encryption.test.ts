import { App, Aspects, CfnResource, PhysicalName, Stack, Validations } from 'aws-cdk-lib/core';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AwsSolutionsChecks as AwsSolutionsChecksV3 } from 'cdk-nag-v3';
import { LockingMode, StateEncryption, StateGrantOptions, TerraformStateBackend, TerraformStateBackendProps } from '../lib';
import { synthErrors } from './support/synth-errors';

const ENV = { account: '123456789012', region: 'eu-west-1' };
const BUCKET = 'terraform-state-123456789012-eu-west-1';
/** Grants build every ARN from names, never from the bucket's attributes (see 'grants into another stack'). */
const BUCKET_ARN = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::${BUCKET}`]] };
const objectArn = (key: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::${BUCKET}/${key}`]] });
const LOCKINGS = [LockingMode.DYNAMODB, LockingMode.S3_LOCKFILE, LockingMode.DYNAMODB_AND_S3_LOCKFILE];
const ENCRYPTIONS = [StateEncryption.S3_MANAGED, StateEncryption.KMS_MANAGED, StateEncryption.KMS];

function synth(props: TerraformStateBackendProps = {}) {
  const app = new App();
  const stack = new Stack(app, 'Stack', { env: ENV });
  const backend = new TerraformStateBackend(stack, 'Backend', props);
  return { app, stack, backend };
}

function ids(stack: Stack, backend: TerraformStateBackend) {
  return {
    table: backend.lockTable ? stack.getLogicalId(backend.lockTable.node.defaultChild as any) : undefined,
    key: backend.encryptionKey ? stack.getLogicalId(backend.encryptionKey.node.defaultChild as any) : undefined,
  };
}

/** The statements of the one IAM policy the grant attached to `role`. */
function grantedStatements(props: TerraformStateBackendProps, grant: (b: TerraformStateBackend, r: iam.Role) => iam.Grant) {
  const { stack, backend } = synth(props);
  const role = new iam.Role(stack, 'Ci', { assumedBy: new iam.AccountPrincipal('123456789012') });
  const result = grant(backend, role);
  expect(result.success).toBe(true);
  const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
  expect(Object.keys(policies)).toHaveLength(1);
  return { statements: Object.values(policies)[0].Properties.PolicyDocument.Statement as unknown[], stack, backend };
}

/** The table's ARN from its name: grants cannot use the table's attributes (see grantItems). */
const tableArn = (_table: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':dynamodb:eu-west-1:123456789012:table/terraform-lock']] });
const keyArn = (key: string) => ({ 'Fn::GetAtt': [key, 'Arn'] });

describe.each(LOCKINGS)('locking %s', (locking) => {
  const hasTable = locking !== LockingMode.S3_LOCKFILE;
  const hasFile = locking !== LockingMode.DYNAMODB;

  test(hasTable ? 'makes the lock table' : 'makes no table', () => {
    const { stack, backend } = synth({ locking });
    Template.fromStack(stack).resourceCountIs('AWS::DynamoDB::Table', hasTable ? 1 : 0);
    expect(backend.lockTable === undefined).toBe(!hasTable);
    expect(backend.lockTableName).toBe(hasTable ? 'terraform-lock' : undefined);
  });

  test('emits dynamodb_table and use_lockfile as the mode needs', () => {
    const { backend } = synth({ locking });
    const block = backend.renderBackendBlock();
    expect(block.includes('dynamodb_table')).toBe(hasTable);
    expect(block.includes('use_lockfile')).toBe(hasFile);
    expect(backend.backendConfig()).toMatchObject({
      dynamodbTable: hasTable ? 'terraform-lock' : undefined,
      useLockfile: hasFile ? true : undefined,
    });
  });

  test('the stack outputs follow the mode', () => {
    const { stack } = synth({ locking });
    const outputs = Object.keys(Template.fromStack(stack).findOutputs('*'));
    expect(outputs.some((o) => o.startsWith('BackendLockTableName'))).toBe(hasTable);
  });
});

test('S3_LOCKFILE emits exactly this block', () => {
  const { backend } = synth({ locking: LockingMode.S3_LOCKFILE });
  expect(backend.renderBackendBlock()).toBe([
    'terraform {',
    '  backend "s3" {',
    `    bucket       = "${BUCKET}"`,
    '    key          = "terraform.tfstate"',
    '    region       = "eu-west-1"',
    '    use_lockfile = true',
    '    encrypt      = true',
    '  }',
    '}',
    '',
  ].join('\n'));
});

test('DYNAMODB_AND_S3_LOCKFILE emits both locks', () => {
  const { backend } = synth({ locking: LockingMode.DYNAMODB_AND_S3_LOCKFILE });
  expect(backend.renderBackendConfigFile()).toBe([
    `bucket         = "${BUCKET}"`,
    'key            = "terraform.tfstate"',
    'region         = "eu-west-1"',
    'dynamodb_table = "terraform-lock"',
    'use_lockfile   = true',
    'encrypt        = true',
    '',
  ].join('\n'));
});

test('an unknown locking or encryption string (from JavaScript) is an error', () => {
  expect(synthErrors(synth({ locking: 'DYNAMO' as LockingMode, encryption: 'KMSX' as StateEncryption }).backend)).toContain(
    '  - `locking` must be one of DYNAMODB, S3_LOCKFILE, DYNAMODB_AND_S3_LOCKFILE, got "DYNAMO"\n' +
    '  - `encryption` must be one of S3_MANAGED, KMS_MANAGED, KMS, got "KMSX"');
});

test('lockTableName with S3_LOCKFILE is an error', () => {
  expect(synthErrors(synth({ locking: LockingMode.S3_LOCKFILE, lockTableName: 'locks' }).backend)).toContain(
    '`lockTableName` is set to "locks", but `locking` is S3_LOCKFILE, which makes no table',
  );
});

describe('encryption', () => {
  test('S3_MANAGED: SSE-S3, the table on the AWS owned key, no KMS key, no kms_key_id', () => {
    const { stack, backend } = synth({ encryption: StateEncryption.S3_MANAGED });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: BUCKET,
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: Match.absent() }] },
    });
    // SSEEnabled false is DynamoDB's AWS owned key (not aws/dynamodb, which other accounts cannot use).
    template.hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: { SSEEnabled: false, SSEType: Match.absent(), KMSMasterKeyId: Match.absent() } });
    expect(backend.backendConfig().kmsKeyId).toBeUndefined();
  });

  test('KMS_MANAGED: aws/s3 with Bucket Keys, and kms_key_id alias/aws/s3 so Terraform does not send AES256; the table on the AWS owned key', () => {
    const { stack, backend } = synth({ encryption: StateEncryption.KMS_MANAGED });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: { SSEEnabled: false, SSEType: Match.absent(), KMSMasterKeyId: Match.absent() } });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: BUCKET,
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{
          ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.absent() },
          BucketKeyEnabled: true,
        }],
      },
    });
    expect(backend.renderBackendBlock()).toContain('\n    kms_key_id     = "alias/aws/s3"\n');
  });

  test('KMS: a new retained key with rotation and an alias encrypts bucket (Bucket Keys) and table; the block names its ARN', () => {
    const { stack, backend } = synth({ encryption: StateEncryption.KMS });
    const template = Template.fromStack(stack);
    const { key } = ids(stack, backend);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResource('AWS::KMS::Key', { Properties: { EnableKeyRotation: true }, DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: `alias/${BUCKET}`, TargetKeyId: keyArn(key!) });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: BUCKET,
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{
          ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn(key!) },
          BucketKeyEnabled: true,
        }],
      },
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn(key!) } });
    expect(stack.resolve(backend.backendConfig().kmsKeyId)).toEqual(keyArn(key!));
    // the access-log bucket stays SSE-S3: S3 does not deliver logs to SSE-KMS buckets
    template.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: Match.absent(),
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    });
  });

  test('KMS with dots in the bucket name makes a valid alias', () => {
    const { stack } = synth({ encryption: StateEncryption.KMS, bucketName: 'state.acme.example' });
    Template.fromStack(stack).hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/state-acme-example' });
  });

  test('encryptionKey alone means KMS with that key, and no new key', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack', { env: ENV });
    const key = kms.Key.fromKeyArn(stack, 'OrgKey', 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    const backend = new TerraformStateBackend(stack, 'Backend', { encryptionKey: key });
    const template = Template.fromStack(stack);
    expect(backend.encryption).toBe(StateEncryption.KMS);
    expect(backend.encryptionKey).toBe(key);
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: { KMSMasterKeyId: key.keyArn } });
    expect(backend.renderBackendBlock()).toContain(`    kms_key_id     = "${key.keyArn}"\n`);
  });

  test('encryptionKey with another encryption is an error', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack');
    const key = new kms.Key(stack, 'Key');
    expect(synthErrors(new TerraformStateBackend(stack, 'Backend', { encryption: StateEncryption.KMS_MANAGED, encryptionKey: key }))).toContain(
      '`encryptionKey` is set, but `encryption` is KMS_MANAGED; a customer-managed key needs StateEncryption.KMS',
    );
  });
});

describe.each(LOCKINGS.flatMap((l) => ENCRYPTIONS.map((e) => [l, e] as const)))('%s × %s', (locking, encryption) => {
  test('passes cdk-nag AwsSolutions with zero findings, a default-pattern grant included', () => {
    const { stack, backend } = synth({ locking, encryption });
    const role = new iam.Role(stack, 'Ci', { assumedBy: new iam.AccountPrincipal('123456789012') });
    backend.grants.readWrite(role);
    backend.grants.read(new iam.Role(stack, 'Reader', { assumedBy: new iam.AccountPrincipal('123456789012') }));
    Aspects.of(stack).add(new AwsSolutionsChecks());
    const annotations = Annotations.fromStack(stack);
    const findings = [
      ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ].map((m) => `${m.id}: ${String(m.entry.data).split('\n')[0]}`);
    expect(findings).toEqual([]);
  });

  test('grants.readWrite gives exactly what Terraform documents', () => {
    const { statements, stack, backend } = grantedStatements({ locking, encryption }, (b, r) => b.grants.readWrite(r));
    const { table, key } = ids(stack, backend);
    const expected: unknown[] = [
      // No s3:prefix condition: HeadObject on a missing key must answer 404, not 403 (see grantList).
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: BUCKET_ARN },
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: objectArn('terraform.tfstate') },
    ];
    if (locking !== LockingMode.DYNAMODB) {
      expected.push({ Effect: 'Allow', Action: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'], Resource: objectArn('terraform.tfstate.tflock') });
    }
    if (locking !== LockingMode.S3_LOCKFILE) {
      expected.push({
        Effect: 'Allow',
        Action: ['dynamodb:DeleteItem', 'dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:PutItem'],
        Resource: tableArn(table!),
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${BUCKET}/terraform.tfstate`, `${BUCKET}/terraform.tfstate-md5`] } },
      });
    }
    if (encryption === StateEncryption.KMS) {
      expected.push({ Effect: 'Allow', Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], Resource: keyArn(key!) });
    }
    expect(sortActions(statements)).toEqual(expected);
  });

  test('grants.read gives list, get, digest read and decrypt; no writes, no locks', () => {
    const { statements, stack, backend } = grantedStatements({ locking, encryption }, (b, r) => b.grants.read(r));
    const { table, key } = ids(stack, backend);
    const expected: unknown[] = [
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: BUCKET_ARN },
      { Effect: 'Allow', Action: 's3:GetObject', Resource: objectArn('terraform.tfstate') },
    ];
    if (locking !== LockingMode.S3_LOCKFILE) {
      expected.push({
        Effect: 'Allow',
        Action: 'dynamodb:GetItem',
        Resource: tableArn(table!),
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${BUCKET}/terraform.tfstate-md5`] } },
      });
    }
    if (encryption === StateEncryption.KMS) {
      expected.push({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: keyArn(key!) });
    }
    expect(statements).toEqual(expected);
  });
});

describe('grant key patterns', () => {
  const grant = (props: TerraformStateBackendProps, keyPattern?: string, options?: StateGrantOptions) =>
    grantedStatements({ locking: LockingMode.DYNAMODB_AND_S3_LOCKFILE, ...props },
      (b, r) => b.grants.readWrite(r, { ...options, keyPattern })).statements as any[];
  const narrow = (options: StateGrantOptions = {}): StateGrantOptions => ({ ...options, listOnlyStateKeys: true });

  test('a pattern scopes objects, lock files and lock items; the listing stays on the whole bucket', () => {
    const [list, objects, lockFiles, items] = grant({}, 'network/*');
    expect(list).toEqual({ Effect: 'Allow', Action: 's3:ListBucket', Resource: BUCKET_ARN });
    expect(objects.Resource).toEqual(objectArn('network/*'));
    expect(lockFiles.Resource).toEqual(objectArn('network/*.tflock'));
    expect(items.Condition['ForAllValues:StringLike']['dynamodb:LeadingKeys']).toEqual([`${BUCKET}/network/*`, `${BUCKET}/network/*-md5`]);
  });

  test('listOnlyStateKeys narrows the listing to the pattern with s3:prefix', () => {
    const [list] = grant({}, 'network/*', narrow());
    expect(list.Condition).toEqual({ StringLike: { 's3:prefix': ['network/*'] } });
  });

  test('workspaces add <prefix>/*/<key> (and, with listOnlyStateKeys, the listing of <prefix>/)', () => {
    const [list, objects, , lockFiles, items] = grant({}, undefined, { workspaces: true });
    expect(list.Condition).toBeUndefined();
    expect(objects.Resource).toEqual([objectArn('terraform.tfstate'), objectArn('env:/*/terraform.tfstate')]);
    expect(lockFiles.Resource).toEqual([objectArn('terraform.tfstate.tflock'), objectArn('env:/*/terraform.tfstate.tflock')]);
    expect(items.Condition['ForAllValues:StringLike']['dynamodb:LeadingKeys']).toEqual([
      `${BUCKET}/terraform.tfstate`, `${BUCKET}/terraform.tfstate-md5`,
      `${BUCKET}/env:/*/terraform.tfstate`, `${BUCKET}/env:/*/terraform.tfstate-md5`,
    ]);
    const [narrowList] = grant({}, undefined, narrow({ workspaces: true }));
    expect(narrowList.Condition).toEqual({ StringLike: { 's3:prefix': ['terraform.tfstate', 'env:/*/terraform.tfstate', 'env:/'] } });
  });

  test('workspaces: terraform workspace delete may delete a workspace\'s state and digest item, never the default workspace\'s', () => {
    const statements = grant({}, undefined, { workspaces: true });
    const deletes = statements.filter((st) => [st.Action].flat().includes('s3:DeleteObject'));
    expect(deletes).toEqual([
      { Effect: 'Allow', Action: 's3:DeleteObject', Resource: objectArn('env:/*/terraform.tfstate') },
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: [objectArn('terraform.tfstate.tflock'), objectArn('env:/*/terraform.tfstate.tflock')] },
    ]);
    // The digest item <bucket>/env:/<ws>/<key>-md5 is deleted with DeleteItem, which the lock-table statement allows.
    const items = statements.find((st) => [st.Action].flat().includes('dynamodb:DeleteItem'));
    expect(items.Condition['ForAllValues:StringLike']['dynamodb:LeadingKeys']).toContain(`${BUCKET}/env:/*/terraform.tfstate-md5`);
    // Without workspaces, and for reading, no state object may be deleted.
    expect(JSON.stringify(grant({}))).not.toMatch(/"s3:DeleteObject","Resource":\{[^}]*terraform\.tfstate"/);
    const read = grantedStatements({}, (b, r) => b.grants.read(r, { workspaces: true })).statements;
    expect(JSON.stringify(read)).not.toContain('Delete');
  });

  test('a custom workspaceKeyPrefix is used, and always listable (Terraform fails if it is not)', () => {
    const [list] = grant({ workspaceKeyPrefix: 'workspaces' }, undefined, narrow());
    expect(list.Condition).toEqual({ StringLike: { 's3:prefix': ['terraform.tfstate', 'workspaces/'] } });
    const [, objects] = grant({ workspaceKeyPrefix: 'workspaces' }, 'app.tfstate', { workspaces: true });
    expect(objects.Resource).toEqual([objectArn('app.tfstate'), objectArn('workspaces/*/app.tfstate')]);
  });

  test('the default pattern is the construct stateKey', () => {
    const [, objects] = grant({ stateKey: 'core/terraform.tfstate' });
    expect(objects.Resource).toEqual(objectArn('core/terraform.tfstate'));
  });

  test('a per-configuration workspaceKeyPrefix is followed, and listable', () => {
    const [list, objects] = grant({}, 'app.tfstate', narrow({ workspaces: true, workspaceKeyPrefix: 'teams' }));
    expect(list.Condition).toEqual({ StringLike: { 's3:prefix': ['app.tfstate', 'teams/*/app.tfstate', 'teams/'] } });
    expect(objects.Resource).toEqual([objectArn('app.tfstate'), objectArn('teams/*/app.tfstate')]);
    const [listOnly] = grant({}, 'app.tfstate', narrow({ workspaceKeyPrefix: 'teams' }));
    expect(listOnly.Condition).toEqual({ StringLike: { 's3:prefix': ['app.tfstate', 'teams/'] } });
  });

  test('never a * resource', () => {
    for (const statement of grant({ encryption: StateEncryption.KMS }, '*', { workspaces: true })) {
      expect([statement.Resource].flat()).not.toContain('*');
    }
  });

  test('a bad pattern is an error naming keyPattern', () => {
    const { backend, stack } = synth();
    const role = new iam.Role(stack, 'Ci', { assumedBy: new iam.AccountPrincipal('123456789012') });
    expect(() => backend.grants.readWrite(role, { keyPattern: '/network/*' })).toThrow('`keyPattern` must not start or end with "/", got "/network/*"');
  });
});

/** CDK sorts the actions of merged statements; sort ours the same way for comparison. */
function sortActions(statements: unknown[]): unknown[] {
  return statements.map((s: any) => (Array.isArray(s.Action) ? { ...s, Action: [...s.Action].sort() } : s));
}

describe('grants into another stack', () => {
  /** A backend stack and a pipeline stack whose role gets every grant; both synthesized. */
  function twoStacks(env: boolean, props: TerraformStateBackendProps) {
    const alone = new Stack(new App(), 'Backend', env ? { env: ENV } : {});
    new TerraformStateBackend(alone, 'Backend', props);
    const outputsBefore = Object.keys(Template.fromStack(alone).findOutputs('*'));
    const app = new App();
    const backendStack = new Stack(app, 'Backend', env ? { env: ENV } : {});
    const backend = new TerraformStateBackend(backendStack, 'Backend', props);
    const pipelineStack = new Stack(app, 'Pipeline', env ? { env: ENV } : {});
    const role = new iam.Role(pipelineStack, 'Ci', { assumedBy: new iam.AccountRootPrincipal() });
    backend.grants.readWrite(role, { keyPattern: 'apps/*', workspaces: true });
    backend.grants.read(role, { keyPattern: 'network/terraform.tfstate' });
    backend.grants.discoveryRead(role);
    const assembly = app.synth();
    return {
      outputsBefore,
      backendTemplate: assembly.getStackByName(backendStack.stackName).template,
      pipelineTemplate: assembly.getStackByName(pipelineStack.stackName).template,
      pipelineStack,
    };
  }

  test.each([
    ['with an env', true],
    ['environment-agnostic', false],
  ])('add no output or export to the backend stack and no import to the grantee\'s (%s)', (_name, env) => {
    const { outputsBefore, backendTemplate, pipelineTemplate } = twoStacks(env, {
      encryption: StateEncryption.KMS, locking: LockingMode.DYNAMODB_AND_S3_LOCKFILE,
    });
    expect(Object.keys(backendTemplate.Outputs)).toEqual(outputsBefore);
    expect(Object.values<any>(backendTemplate.Outputs).filter((o) => o.Export)).toEqual([]);
    expect(JSON.stringify(pipelineTemplate)).not.toContain('Fn::ImportValue');
    expect(JSON.stringify(pipelineTemplate)).not.toContain('Fn::GetAtt');
  });

  test('name a key made here by its alias (kms:ResourceAliases), not by its ARN', () => {
    const { pipelineStack } = twoStacks(true, { encryption: StateEncryption.KMS });
    const statements = Object.values<any>(Template.fromStack(pipelineStack).findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements.filter((st) => [st.Action].flat().some((a: string) => a.startsWith('kms:')))).toEqual([
      {
        Effect: 'Allow',
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':kms:eu-west-1:123456789012:key/*']] },
        Condition: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': `alias/${BUCKET}` } },
      },
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':kms:eu-west-1:123456789012:key/*']] },
        Condition: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': `alias/${BUCKET}` } },
      },
    ]);
  });

  /** A backend with a key it makes, and a role in a pipeline stack of `account`. */
  function keyAndRole(account = ENV.account) {
    const app = new App();
    const backendStack = new Stack(app, 'Backend', { env: ENV });
    const backend = new TerraformStateBackend(backendStack, 'Backend', { encryption: StateEncryption.KMS, locking: LockingMode.S3_LOCKFILE });
    const pipelineStack = new Stack(app, 'Pipeline', { env: { account, region: 'eu-west-1' } });
    const role = new iam.Role(pipelineStack, 'Ci', { assumedBy: new iam.AccountRootPrincipal(), roleName: PhysicalName.GENERATE_IF_NEEDED });
    return { app, backendStack, backend, pipelineStack, role };
  }
  const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

  test('a role of a stack in another account needs the key\'s ARN: KMS is not documented to evaluate kms:ResourceAliases for it', () => {
    const { backend, role } = keyAndRole('222222222222');
    expect(() => backend.grants.read(role)).toThrow(new RegExp([
      'the grantee is in account 222222222222, in another stack than the backend, whose KMS key the backend made',
      'which AWS does not document for a caller of another account',
      'Give the key\'s ARN as `encryptionKeyArn`',
    ].map((m) => m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^]*')));
  });

  test('with encryptionKeyArn, that role\'s policy names the key by its ARN, the key policy names the role; no export', () => {
    const { app, backend, role } = keyAndRole('222222222222');
    backend.grants.read(role, { encryptionKeyArn: KEY_ARN });
    const assembly = app.synth();
    const keyPolicy = Object.values<any>(Template.fromJSON(assembly.getStackByName('Backend').template).findResources('AWS::KMS::Key'))[0]
      .Properties.KeyPolicy.Statement;
    expect(keyPolicy).toEqual(expect.arrayContaining([{
      Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*',
      Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, expect.stringMatching(/^:iam::222222222222:role\/pipeline/)]] } },
    }]));
    const pipeline = Template.fromJSON(assembly.getStackByName('Pipeline').template);
    const statements = Object.values<any>(pipeline.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements.filter((st) => st.Action === 'kms:Decrypt')).toEqual([{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: KEY_ARN }]);
    expect(JSON.stringify(pipeline.toJSON())).not.toContain('Fn::ImportValue');
    expect(JSON.stringify(assembly.getStackByName('Backend').template)).not.toContain('Export');
  });

  test.each<[string, string, string]>([
    ['an alias ARN', 'arn:aws:kms:eu-west-1:123456789012:alias/terraform-state', '`encryptionKeyArn` must name the key, not an alias'],
    ['a key of another account', 'arn:aws:kms:eu-west-1:999999999999:key/k', 'names a key of account 999999999999, but the backend is in account 123456789012'],
    ['a key of another region', 'arn:aws:kms:us-east-1:123456789012:key/k', 'names a key in us-east-1, but the backend is in eu-west-1'],
    ['not an ARN', 'k', '`encryptionKeyArn` must be a KMS key ARN such as'],
  ])('encryptionKeyArn: %s is refused', (_name, arn, message) => {
    const { backend, role } = keyAndRole();
    expect(() => backend.grants.readWrite(role, { encryptionKeyArn: arn })).toThrow(message);
  });

  test('encryptionKeyArn is refused where the key\'s ARN is known: in the backend\'s stack, with a given key, without a key', () => {
    const { backend, backendStack } = keyAndRole();
    const local = new iam.Role(backendStack, 'Local', { assumedBy: new iam.AccountRootPrincipal() });
    expect(() => backend.grants.read(local, { encryptionKeyArn: KEY_ARN })).toThrow('the grantee is in the backend\'s own stack');
    const app = new App();
    const given = new TerraformStateBackend(new Stack(app, 'Given', { env: ENV }), 'Backend', {
      encryptionKey: kms.Key.fromKeyArn(new Stack(app, 'Keys', { env: ENV }), 'Key', KEY_ARN),
    });
    const role = new iam.Role(new Stack(app, 'Pipeline', { env: ENV }), 'Ci', { assumedBy: new iam.AccountRootPrincipal() });
    expect(() => given.grants.read(role, { encryptionKeyArn: KEY_ARN })).toThrow('the backend\'s key was given');
    const plain = new TerraformStateBackend(new Stack(app, 'Plain', { env: ENV }), 'Backend', { bucketName: 'plain-state', lockTableName: 'plain-lock', discovery: false });
    expect(() => plain.grants.read(role, { encryptionKeyArn: KEY_ARN })).toThrow('the backend has no customer-managed key');
  });

  describe('a grantee stack that runs cdk-nag\'s AwsSolutions pack stays clean', () => {
    /** AwsSolutions findings (cdk-nag 2, as an Aspect) and violations (cdk-nag 3) in the pipeline stack. */
    function findings(options: StateGrantOptions = {}) {
      const v2 = keyAndRole();
      v2.backend.grants.readWrite(v2.role, options);
      v2.backend.grants.read(v2.role, { ...options, keyPattern: 'network/terraform.tfstate' });
      Aspects.of(v2.pipelineStack).add(new AwsSolutionsChecks());
      const annotations = Annotations.fromStack(v2.pipelineStack);
      const nag2 = [...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-')), ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-'))]
        .map((m) => `${m.id}: ${String(m.entry.data).split('\n')[0]}`);
      const v3 = keyAndRole();
      v3.backend.grants.readWrite(v3.role, options);
      v3.backend.grants.read(v3.role, { ...options, keyPattern: 'network/terraform.tfstate' });
      const pack = new AwsSolutionsChecksV3(v3.app);
      Validations.of(v3.app).addPlugins(pack);
      const nag3 = pack.validateScope(v3.pipelineStack).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName}: ${r.constructPath}`));
      return { nag2, nag3, policy: v2.role.node.findChild('DefaultPolicy').node.defaultChild as CfnResource };
    }

    test('after a grant that names the key by its alias: the key/* finding is acknowledged, with the reason, and nothing else', () => {
      const { nag2, nag3, policy } = findings();
      expect(nag2).toEqual([]);
      expect(nag3).toEqual([]);
      expect(policy.getMetadata('cdk_nag').rules_to_suppress).toEqual([{
        id: 'AwsSolutions-IAM5',
        reason: `The backend's KMS key is named by its alias (kms:ResourceAliases = alias/${BUCKET}), which only that key carries: ` +
          'its ID is not known to another stack without a cross-stack reference.',
        applies_to: ['Resource::arn:<AWS::Partition>:kms:eu-west-1:123456789012:key/*'],
      }]);
    });

    test('after a grant with encryptionKeyArn: no wildcard, nothing acknowledged', () => {
      const { nag2, nag3, policy } = findings({ encryptionKeyArn: KEY_ARN });
      expect([...nag2, ...nag3]).toEqual([]);
      expect(policy.getMetadata('cdk_nag')).toBeUndefined();
    });

    test('the checks can fail: a wildcard the library did not acknowledge is still reported', () => {
      const { nag2 } = findings({ keyPattern: 'apps/*' });
      expect(nag2).toEqual([
        expect.stringMatching(/AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:s3:::terraform-state-123456789012-eu-west-1\/apps\/\*\]/),
        expect.stringMatching(/AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:s3:::terraform-state-123456789012-eu-west-1\/apps\/\*\.tflock\]/),
      ]);
    });
  });

  test('the discovery parameters are named by their names', () => {
    const { pipelineStack } = twoStacks(true, {});
    const statements = Object.values<any>(Template.fromStack(pipelineStack).findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    const parameter = (name: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:ssm:eu-west-1:123456789012:parameter/terraform/backend/${name}`]] });
    expect(statements.find((st) => [st.Action].flat().includes('ssm:GetParameter')).Resource).toEqual(
      ['bucket', 'region', 'lock-table', 'backend-config'].map(parameter));
  });
});
