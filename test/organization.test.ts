import * as fs from 'fs';
import * as path from 'path';
import { App, CfnParameter, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib/core';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { buildBootstrapApp } from '../bin/app';
import {
  LockingMode,
  RegionConcurrency,
  StackSetCallAs,
  StateEncryption,
  TerraformStateBackend,
  TerraformStateBackendProps,
  TerraformStateBackendStack,
  TerraformStateBackendStackSet,
  TerraformStateBackendStackSetProps,
} from '../lib';
import { synthErrors } from './support/synth-errors';
import { normalize, resolveTemplate, withoutNagMetadata } from './support/template-eval';

const ENV = { account: '111111111111', region: 'eu-west-1' };
const BUCKET = 'terraform-state-111111111111-eu-west-1';
const ORG = 'o-a1b2c3d4e5';
/** What the organization boundary denies on a key: using it (or handing its use to others with a grant). */
const KEY_USE_ACTIONS = ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:CreateGrant'];

function synth(props: TerraformStateBackendProps = {}) {
  const stack = new Stack(new App(), 'Stack', { env: ENV });
  const backend = new TerraformStateBackend(stack, 'Backend', props);
  return { stack, backend };
}

function stackSet(props: Partial<TerraformStateBackendStackSetProps> = {}) {
  const stack = new Stack(new App(), 'Org');
  const set = new TerraformStateBackendStackSet(stack, 'StackSet', {
    organizationalUnitIds: ['ou-ab12-cd34ef56'],
    regions: ['eu-west-1', 'us-east-1'],
    ...props,
  });
  const template = Template.fromStack(stack);
  const body = JSON.parse(set.templateBody);
  return { stack, set, template, body };
}

describe('TerraformStateBackendStackSet', () => {
  test('is a service-managed StackSet that deploys to new accounts and keeps stacks of leaving ones', () => {
    const { template, set } = stackSet();
    template.resourceCountIs('AWS::CloudFormation::StackSet', 1);
    template.hasResourceProperties('AWS::CloudFormation::StackSet', {
      StackSetName: 'terraform-state-backend',
      PermissionModel: 'SERVICE_MANAGED',
      CallAs: 'SELF',
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: true },
      ManagedExecution: { Active: true },
      OperationPreferences: { MaxConcurrentPercentage: 25, FailureTolerancePercentage: 0, RegionConcurrencyType: 'PARALLEL' },
      StackInstancesGroup: [{ DeploymentTargets: { OrganizationalUnitIds: ['ou-ab12-cd34ef56'] }, Regions: ['eu-west-1', 'us-east-1'] }],
      TemplateBody: set.templateBody,
      TemplateURL: Match.absent(),
      Capabilities: Match.absent(),
    });
  });

  test('takes roll-out settings', () => {
    const { template } = stackSet({
      organizationalUnitIds: ['r-ab12', 'ou-ab12-cd34ef56'],
      stackSetName: 'tf-backends',
      callAs: StackSetCallAs.DELEGATED_ADMIN,
      retainStacksOnAccountRemoval: false,
      maxConcurrentPercentage: 100,
      failureTolerancePercentage: 10,
      regionConcurrency: RegionConcurrency.SEQUENTIAL,
    });
    template.hasResourceProperties('AWS::CloudFormation::StackSet', {
      StackSetName: 'tf-backends',
      CallAs: 'DELEGATED_ADMIN',
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
      OperationPreferences: { MaxConcurrentPercentage: 100, FailureTolerancePercentage: 10, RegionConcurrencyType: 'SEQUENTIAL' },
      StackInstancesGroup: [{ DeploymentTargets: { OrganizationalUnitIds: ['r-ab12', 'ou-ab12-cd34ef56'] } }],
    });
  });

  test('inlines a backend template under 51,200 bytes, with no assets, imports, custom resources or Lambda functions', () => {
    const backend = { encryption: StateEncryption.KMS, locking: LockingMode.DYNAMODB_AND_S3_LOCKFILE, organizationId: ORG };
    const { set, body } = stackSet({ backend });
    expect(set.templateBody.length).toBeLessThan(51_200);
    expect(set.templateBody).not.toContain('Fn::ImportValue');
    expect(set.templateBody).not.toMatch(/AssetParameters|cdk-hnb659fds|BootstrapVersion/);
    const types = Object.values<any>(body.Resources).map((r) => r.Type);
    expect(types.filter((t) => /^Custom::|^AWS::Lambda::|^AWS::CloudFormation::CustomResource$|^AWS::CDK::Metadata$/.test(t))).toEqual([]);
    expect(types).toEqual(expect.arrayContaining(['AWS::S3::Bucket', 'AWS::DynamoDB::Table', 'AWS::KMS::Key', 'AWS::SSM::Parameter']));
  });

  test('counts the 51,200-byte TemplateBody limit in UTF-8 bytes, not characters', () => {
    const admin = (name: string) => ({ backend: { stateHistoryAdmins: [`arn:aws:iam::*:role/${name}`] } });
    const base = stackSet(admin('x')).set.templateBody.length;
    // '€' is one character and three bytes: under the limit in characters, far over it in bytes.
    const name = '€'.repeat(51_200 - base - 10);
    const stack = new Stack(new App(), 'Org');
    let body = '';
    expect(() => {
      body = new TerraformStateBackendStackSet(stack, 'StackSet', { organizationalUnitIds: ['ou-ab12-cd34ef56'], regions: ['eu-west-1'], ...admin(name) }).templateBody;
    }).toThrow(/the backend template is \d+ bytes \(UTF-8\), over CloudFormation's 51200-byte limit for an inline TemplateBody/);
    expect(body).toBe('');
    expect(base + name.length - 1).toBeLessThan(51_200);
  });

  test('derives every default name from the account and region', () => {
    const { body } = stackSet({ backend: { encryption: StateEncryption.KMS } });
    // As deployed with the parameters' defaults (BucketName empty):
    const resources = Object.values<any>((resolveTemplate(body) as any).Resources);
    const joinAccountRegion = { 'Fn::Join': ['', ['terraform-state-', { Ref: 'AWS::AccountId' }, '-', { Ref: 'AWS::Region' }]] };
    expect(resources.filter((r) => r.Type === 'AWS::S3::Bucket').map((r) => r.Properties.BucketName)).toEqual(
      expect.arrayContaining([joinAccountRegion]));
    expect(resources.find((r) => r.Type === 'AWS::KMS::Alias').Properties.AliasName).toEqual(
      { 'Fn::Join': ['', ['alias/terraform-state-', { Ref: 'AWS::AccountId' }, '-', { Ref: 'AWS::Region' }]] });
    // Everything else with a fixed name is unique per account and region by nature.
    expect(resources.filter((r) => r.Type === 'AWS::DynamoDB::Table').map((r) => r.Properties.TableName)).toEqual(['terraform-lock']);
    expect(resources.filter((r) => r.Type === 'AWS::SSM::Parameter').every((r) => r.Properties.Name.startsWith('/terraform/backend/'))).toBe(true);
    expect(JSON.stringify(body)).not.toMatch(/\d{12}/);
  });

  test('makes the per-account choices CloudFormation parameters, the options their defaults', () => {
    const { body } = stackSet({
      backend: {
        stateKey: 'core.tfstate', noncurrentVersionExpiration: Duration.days(30), noncurrentVersionsToRetain: 5,
        lockTableName: 'org-lock', organizationId: ORG, discoveryPrefix: '/org/tf/',
      },
    });
    expect(Object.keys(body.Parameters)).toEqual([
      'BucketName', 'LockTableName', 'StateKey', 'NoncurrentVersionExpirationDays', 'NoncurrentVersionsToRetain', 'OrganizationId', 'DiscoveryPrefix',
    ]);
    expect(Object.values<any>(body.Parameters).map((p) => p.Default)).toEqual(['', 'org-lock', 'core.tfstate', 30, 5, ORG, '/org/tf/']);
    const bucket = Object.values<any>(body.Resources).find((r) => r.Type === 'AWS::S3::Bucket' && r.Properties.BucketName);
    expect(bucket.Properties.LifecycleConfiguration.Rules[0].NoncurrentVersionExpiration).toEqual({
      NoncurrentDays: { Ref: 'NoncurrentVersionExpirationDays' },
      NewerNoncurrentVersions: { Ref: 'NoncurrentVersionsToRetain' },
    });
    expect(JSON.stringify(Object.values<any>(body.Outputs).map((o) => o.Value))).toContain('{"Ref":"StateKey"}');
    // Without a table or discovery, their parameters are not offered.
    expect(Object.keys(stackSet({ backend: { locking: LockingMode.S3_LOCKFILE, discovery: false } }).body.Parameters)).toEqual([
      'BucketName', 'StateKey', 'NoncurrentVersionExpirationDays', 'NoncurrentVersionsToRetain', 'OrganizationId',
    ]);
  });

  test.each<[string, Partial<TerraformStateBackendStackSetProps>, string]>([
    ['no organizational unit', { organizationalUnitIds: [] }, '`organizationalUnitIds` must name at least one organizational unit'],
    ['a malformed OU ID', { organizationalUnitIds: ['ou-123'] },
      '`organizationalUnitIds` must hold organizational unit IDs such as "ou-ab12-cd34ef56" or the root\'s ID such as "r-ab12", got "ou-123"'],
    ['a repeated OU', { organizationalUnitIds: ['ou-ab12-cd34ef56', 'r-ab12', 'ou-ab12-cd34ef56'] },
      '`organizationalUnitIds` must not repeat an organizational unit, got "ou-ab12-cd34ef56" twice'],
    ['an account ID for an OU', { organizationalUnitIds: ['123456789012'] }, 'got "123456789012"'],
    ['no region', { regions: [] }, '`regions` must name at least one region'],
    ['a region that is not one', { regions: ['eu-west-1', 'Ireland'] }, '`regions` must be an AWS region name such as "eu-central-1", got "Ireland"'],
    ['a repeated region', { regions: ['eu-west-1', 'eu-west-1'] }, '`regions` must not repeat a region, got "eu-west-1" twice'],
    ['a zero concurrency', { maxConcurrentPercentage: 0 }, '`maxConcurrentPercentage` must be a whole number from 1 to 100, got 0'],
    ['a tolerance over 100', { failureTolerancePercentage: 101 }, '`failureTolerancePercentage` must be a whole number from 0 to 100, got 101'],
    ['a bad state key', { backend: { stateKey: '/x' } }, '`backend.stateKey` must not start or end with "/", got "/x"'],
    ['a part-day expiration', { backend: { noncurrentVersionExpiration: Duration.hours(1) } }, '`backend.noncurrentVersionExpiration` must be a whole number of days'],
    ['an organization ID that is not one', { backend: { organizationId: 'o-ABC' } }, '`backend.organizationId` must be "o-" and 10 to 32 lowercase letters or digits, got "o-ABC"'],
    ['a bad lock table name (by the backend rules)', { backend: { lockTableName: 'x' } }, '`backend.lockTableName` must be 3 to 255 characters, got 1: "x"'],
  ])('rejects %s', (_name, props, message) => {
    const set = new TerraformStateBackendStackSet(new Stack(new App(), 'Org'), 'StackSet', {
      organizationalUnitIds: ['ou-ab12-cd34ef56'], regions: ['eu-west-1', 'us-east-1'], ...props,
    });
    expect(synthErrors(set)).toContain(message);
    expect(set.node.children).toHaveLength(0);
  });

  test('the backend options do not offer bucketName, encryptionKey, serverAccessLogsBucket or replication', () => {
    const stack = new Stack(new App(), 'Org');
    const targets = { organizationalUnitIds: ['ou-ab12-cd34ef56'], regions: ['eu-west-1'] };
    // Not offered to TypeScript (`npm run typecheck` fails if any of these compiles) ...
    // @ts-expect-error bucketName is not a StackSet backend option
    const bucketName: TerraformStateBackendStackSetProps = { ...targets, backend: { bucketName: 'org-state' } };
    // @ts-expect-error encryptionKey is not a StackSet backend option
    const encryptionKey: TerraformStateBackendStackSetProps = { ...targets, backend: { encryptionKey: new kms.Key(stack, 'Key') } };
    // @ts-expect-error serverAccessLogsBucket is not a StackSet backend option
    const logs: TerraformStateBackendStackSetProps = { ...targets, backend: { serverAccessLogsBucket: new s3.Bucket(stack, 'Logs') } };
    // @ts-expect-error replication is not a StackSet backend option
    const replication: TerraformStateBackendStackSetProps = { ...targets, backend: { replication: { region: 'eu-central-1' } } };
    // ... nor to the other languages: the struct jsii publishes has none of them.
    const jsii = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '.jsii'), 'utf8'));
    const stackSetProps = jsii.types['cdk-terraform-state-backend.TerraformStateBackendStackSetProps'];
    const backendType = stackSetProps.properties.find((p: { name: string }) => p.name === 'backend').type.fqn;
    expect(backendType).toBe('cdk-terraform-state-backend.TerraformStateBackendOptions');
    // A struct's properties, its bases' included (jsii lists inherited ones on the base).
    const propertiesOf = (fqn: string): string[] => [
      ...(jsii.types[fqn].properties ?? []).map((p: { name: string }) => p.name),
      ...(jsii.types[fqn].interfaces ?? []).flatMap(propertiesOf),
    ];
    const offered = propertiesOf(backendType);
    expect(offered).toEqual(expect.arrayContaining(['locking', 'encryption', 'stateKey', 'organizationId', 'removalPolicy']));
    for (const name of ['bucketName', 'encryptionKey', 'serverAccessLogsBucket', 'replication']) {
      expect(offered).not.toContain(name);
    }
    // A JavaScript caller can still pass them: refused, never silently applied to every account.
    expect(synthErrors(new TerraformStateBackendStackSet(stack, 'A', bucketName))).toContain('`backend.bucketName` is not a StackSet backend option');
    expect(synthErrors(new TerraformStateBackendStackSet(stack, 'B', encryptionKey))).toContain('`backend.encryptionKey` is not a StackSet backend option');
    expect(synthErrors(new TerraformStateBackendStackSet(stack, 'C', logs))).toContain('`backend.serverAccessLogsBucket` is not a StackSet backend option');
    expect(synthErrors(new TerraformStateBackendStackSet(stack, 'D', replication))).toContain('`backend.replication` is not a StackSet backend option');
  });

  test('surfaces the backend template\'s warnings on the StackSet', () => {
    const { stack } = stackSet({ backend: { removalPolicy: RemovalPolicy.DESTROY, serverAccessLogs: false } });
    const annotations = Annotations.fromStack(stack);
    annotations.hasWarning('/Org/StackSet', Match.stringLikeRegexp('^removalPolicy is DESTROY: deleting the stack deletes the lock table'));
    annotations.hasWarning('/Org/StackSet', Match.stringLikeRegexp('^serverAccessLogs is false'));
    expect(annotations.findWarning('*', Match.anyValue())).toHaveLength(2);
  });

  test('a default StackSet has no warning', () => {
    Annotations.fromStack(stackSet().stack).hasNoWarning('*', Match.anyValue());
  });

  test('carries the app\'s feature flags into the backend template, not the CDK CLI\'s aws:cdk:* switches', () => {
    const withPaths = new Stack(new App({ context: { 'aws:cdk:enable-path-metadata': true, 'aws:cdk:version-reporting': true } }), 'Org');
    const set = new TerraformStateBackendStackSet(withPaths, 'StackSet', { organizationalUnitIds: ['ou-ab12-cd34ef56'], regions: ['eu-west-1'] });
    // Path metadata and version reporting would make the body differ from the published template.
    expect(set.templateBody).not.toContain('aws:cdk:path');
    expect(set.templateBody).not.toContain('AWS::CDK::Metadata');
    // The feature flags apply: with this one, a resource count over the limit fails the synth.
    const limited = new Stack(new App({ context: { '@aws-cdk/core:stackResourceLimit': 5 } }), 'Org');
    expect(() => new TerraformStateBackendStackSet(limited, 'StackSet', { organizationalUnitIds: ['ou-ab12-cd34ef56'], regions: ['eu-west-1'] }))
      .toThrow(/greater than allowed maximum of 5/);
  });

  test('the backend template, its parameters resolved, is TerraformStateBackendStack\'s for the same props, under the app\'s context', () => {
    const context = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')).context;
    const backend = { encryption: StateEncryption.KMS, organizationId: ORG };
    const set = new TerraformStateBackendStackSet(new Stack(new App({ context }), 'Org'), 'StackSet', {
      organizationalUnitIds: ['ou-ab12-cd34ef56'], regions: ['eu-west-1'], backend,
    });
    const plain = new TerraformStateBackendStack(new App({ context }), 'TerraformStateBackend', { backend });
    const plainTemplate = Template.fromStack(plain).toJSON();
    const resolved = resolveTemplate(JSON.parse(set.templateBody)) as any;
    expect(Object.keys(resolved.Resources)).toEqual(Object.keys(plainTemplate.Resources));
    expect(withoutNagMetadata(resolved.Resources)).toEqual(withoutNagMetadata(normalize(plainTemplate.Resources)));
  });
});

/** A request as the boundary's conditions see it. */
interface Caller {
  readonly orgId?: string;
  readonly account?: string;
  readonly service?: boolean;
}

/** IAM's wildcard match of an action against a pattern (`*` any run, `?` one character; case-insensitive). */
function actionMatches(pattern: string, action: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(action);
}

/**
 * Whether any of `statements` (Deny statements with the boundary's condition
 * operators only) denies `action` on `resource` to `caller`. Enough for the
 * boundary, which is all it is used on: any other operator fails the test.
 */
function denied(statements: any[], action: string, resource: 'bucket' | 'object', caller: Caller): boolean {
  const list = (v: unknown) => (Array.isArray(v) ? v : [v]) as any[];
  return statements.filter((s) => s.Effect === 'Deny').some((s) => {
    const inAction = s.Action !== undefined
      ? list(s.Action).some((p) => actionMatches(p, action))
      : !list(s.NotAction).some((p) => actionMatches(p, action));
    const onResource = list(s.Resource).some((r) => JSON.stringify(r).includes('/*') === (resource === 'object'));
    const context: Record<string, string | undefined> = {
      'aws:PrincipalOrgID': caller.orgId, 'aws:PrincipalAccount': caller.account, 'aws:PrincipalIsAWSService': caller.service ? 'true' : 'false',
    };
    const holds = (operator: string, key: string, value: unknown) => {
      const actual = context[key];
      switch (operator) {
        case 'StringNotEqualsIfExists': return actual === undefined || !list(value).includes(actual);
        case 'StringNotEquals': return actual === undefined || !list(value).includes(actual);
        case 'BoolIfExists': return actual === undefined || actual === value;
        default: throw new Error(`the test's evaluator does not know ${operator}`);
      }
    };
    const conditions = Object.entries<Record<string, unknown>>(s.Condition ?? {})
      .every(([operator, keys]) => Object.entries(keys).every(([key, value]) => holds(operator, key, value)));
    return inAction && onResource && conditions;
  });
}

describe('organizationId', () => {
  const outside = {
    StringNotEqualsIfExists: { 'aws:PrincipalOrgID': ORG },
    BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' },
  };

  test('an unresolved organizationId puts the deny statements under a condition: empty means no boundary', () => {
    const stack = new Stack(new App(), 'Stack', { env: ENV });
    const orgId = new CfnParameter(stack, 'OrgId', { type: 'String', default: '' });
    new TerraformStateBackend(stack, 'Backend', { organizationId: orgId.valueAsString, encryption: StateEncryption.KMS });
    const template = Template.fromStack(stack).toJSON();
    const [condition] = Object.entries<any>(template.Conditions);
    expect(condition[1]).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'OrgId' }, ''] }] });
    // Every statement of every bucket and key policy, with the condition it is under (if any).
    const statements = Object.values<any>(template.Resources)
      .flatMap((r) => (r.Properties?.PolicyDocument ?? r.Properties?.KeyPolicy)?.Statement ?? [])
      .map((st: any) => {
        const [when, statement, otherwise] = st['Fn::If'] ?? [undefined, st, undefined];
        return { sid: statement.Sid as string | undefined, when, otherwise };
      });
    const boundary = ['DenyOutsideOrganization', 'DenyBucketAdministrationOutsideOrganizationAndAccount'];
    // The state bucket's and the log bucket's two statements each, and the key's one: each under the condition,
    // with nothing in its place when it is false; no other statement under it, and none of them without it.
    expect(statements.filter((st) => st.when !== undefined).map((st) => st.sid).sort()).toEqual([
      'DenyBucketAdministrationOutsideOrganizationAndAccount', 'DenyBucketAdministrationOutsideOrganizationAndAccount',
      'DenyOutsideOrganization', 'DenyOutsideOrganization', 'DenyOutsideOrganization',
    ]);
    for (const st of statements.filter((x) => x.when !== undefined)) {
      expect({ sid: st.sid, when: st.when, otherwise: st.otherwise }).toEqual({ sid: st.sid, when: condition[0], otherwise: { Ref: 'AWS::NoValue' } });
    }
    expect(statements.filter((st) => st.when === undefined && boundary.includes(st.sid ?? ''))).toEqual([]);
    // Plain statements are there too (TLS only, history protection): the walk saw the whole policies.
    expect(statements.filter((st) => st.when === undefined).length).toBeGreaterThan(0);
  });

  const denyOutside = (resources: unknown) => ({
    Sid: 'DenyOutsideOrganization',
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: 's3:*',
    Resource: resources,
    Condition: outside,
  });
  /** What the bucket boundary leaves to the bucket's account: the administration of the bucket's configuration. */
  const ADMINISTRATION = ['s3:GetBucket*', 's3:PutBucket*', 's3:DeleteBucketPolicy', 's3:DeleteBucketWebsite',
    's3:Get*Configuration', 's3:Put*Configuration', 's3:Delete*Configuration'];

  test('the state and log bucket policies deny principals outside the organization, but not AWS services', () => {
    const { stack, backend } = synth({ organizationId: ORG });
    const template = Template.fromStack(stack);
    for (const bucket of [backend.bucket, backend.logBucket!]) {
      const id = stack.getLogicalId(bucket.node.defaultChild as any);
      const arn = { 'Fn::GetAtt': [id, 'Arn'] };
      const { Action: _all, ...dataDeny } = denyOutside([arn, { 'Fn::Join': ['', [arn, '/*']] }]);
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([{ ...dataDeny, NotAction: ADMINISTRATION }, {
            Sid: 'DenyBucketAdministrationOutsideOrganizationAndAccount',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: ADMINISTRATION,
            Resource: arn,
            Condition: { ...outside, StringNotEquals: { 'aws:PrincipalAccount': ENV.account } },
          }]),
        },
      });
    }
    // log delivery, a service principal, is still allowed
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'logging.s3.amazonaws.com' }, Effect: 'Allow' })]) },
    });
  });

  describe('what the bucket boundary denies', () => {
    const statements = () => {
      const { stack, backend } = synth({ organizationId: ORG });
      const id = stack.getLogicalId(backend.bucket.node.defaultChild as any);
      const policy = Object.values<any>(Template.fromStack(stack).findResources('AWS::S3::BucketPolicy'))
        .find((p) => p.Properties.Bucket.Ref === id);
      // The boundary's statements: those conditioned on the organization.
      return policy.Properties.PolicyDocument.Statement.filter((st: any) => JSON.stringify(st.Condition ?? {}).includes('aws:PrincipalOrgID'));
    };
    /** Everything Terraform, tfstate-ops and an attacker do with state; `s3:RenameObject` stands for a data action S3 adds later. */
    const DATA: Array<[string, 'bucket' | 'object']> = [
      ['s3:GetObject', 'object'], ['s3:GetObjectVersion', 'object'], ['s3:PutObject', 'object'], ['s3:DeleteObject', 'object'],
      ['s3:DeleteObjectVersion', 'object'], ['s3:PutObjectTagging', 'object'], ['s3:RestoreObject', 'object'],
      ['s3:ReplicateObject', 'object'], ['s3:RenameObject', 'object'],
      ['s3:ListBucket', 'bucket'], ['s3:ListBucketVersions', 'bucket'], ['s3:ListBucketMultipartUploads', 'bucket'], ['s3:DeleteBucket', 'bucket'],
    ];
    /** What CloudFormation calls to update and roll back the bucket and its policy, and what lifts the boundary. */
    const ADMIN = ['s3:PutBucketPolicy', 's3:DeleteBucketPolicy', 's3:GetBucketPolicy', 's3:PutBucketVersioning', 's3:GetBucketVersioning',
      's3:PutEncryptionConfiguration', 's3:PutLifecycleConfiguration', 's3:PutReplicationConfiguration', 's3:PutBucketLogging',
      's3:PutBucketPublicAccessBlock', 's3:PutBucketOwnershipControls', 's3:PutBucketTagging', 's3:GetBucketTagging', 's3:GetEncryptionConfiguration'];
    const member = { orgId: ORG, account: ENV.account };
    const ownAccountOutside = { orgId: 'o-zzzzzzzzzz', account: ENV.account };
    const stranger = { orgId: 'o-zzzzzzzzzz', account: '999999999999' };

    test.each(DATA)('%s stays denied to every principal outside the organization, of this account or not', (action, resource) => {
      const s = statements();
      expect([denied(s, action, resource, ownAccountOutside), denied(s, action, resource, stranger), denied(s, action, resource, {})])
        .toEqual([true, true, true]);
      expect(denied(s, action, resource, member)).toBe(false);
      expect(denied(s, action, resource, { service: true })).toBe(false);
    });

    test.each(ADMIN)('%s is left to the bucket\'s own account outside the organization (a wrong ID, a move), denied to other accounts', (action) => {
      const s = statements();
      expect([denied(s, action, 'bucket', ownAccountOutside), denied(s, action, 'bucket', member)]).toEqual([false, false]);
      expect([denied(s, action, 'bucket', stranger), denied(s, action, 'bucket', {})]).toEqual([true, true]);
    });
  });

  test('the policy of a key the construct makes denies principals outside the organization its use, never its administration', () => {
    const { stack } = synth({ organizationId: ORG, encryption: StateEncryption.KMS });
    const statements = Object.values<any>(Template.fromStack(stack).findResources('AWS::KMS::Key'))[0].Properties.KeyPolicy.Statement;
    const deny = statements.filter((st: any) => st.Effect === 'Deny');
    expect(deny).toEqual([{ ...denyOutside('*'), Action: KEY_USE_ACTIONS }]);
    // After the account moves to another organization, its administrators can still manage the key.
    for (const action of ['kms:*', 'kms:PutKeyPolicy', 'kms:DescribeKey', 'kms:EnableKeyRotation', 'kms:ScheduleKeyDeletion', 'kms:TagResource', 'kms:UpdateAlias']) {
      expect(deny[0].Action).not.toContain(action);
    }
  });

  test('adds nothing without an organization', () => {
    const { stack } = synth({ encryption: StateEncryption.KMS });
    expect(JSON.stringify(Template.fromStack(stack).toJSON())).not.toContain('aws:PrincipalOrgID');
  });
});

describe('cross-account grants', () => {
  test.each([
    ['an AccountPrincipal', new iam.AccountPrincipal('222222222222'), { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::222222222222:root']] }],
    ['an ArnPrincipal of another account', new iam.ArnPrincipal('arn:aws:iam::222222222222:role/ci'), 'arn:aws:iam::222222222222:role/ci'],
  ])('to %s land in the bucket policy, the table policy and the key policy', (_name, principal, principalJson) => {
    const { stack, backend } = synth({ encryption: StateEncryption.KMS, locking: LockingMode.DYNAMODB_AND_S3_LOCKFILE });
    backend.grants.readWrite(principal);
    const template = Template.fromStack(stack);
    const bucketId = stack.getLogicalId(backend.bucket.node.defaultChild as any);
    // ARNs from names (see 'grants into another stack' in locking-encryption.test.ts)
    const objectArn = (key: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::${BUCKET}/${key}`]] });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Effect: 'Allow', Principal: { AWS: principalJson }, Action: 's3:ListBucket', Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::${BUCKET}`]] } },
          { Effect: 'Allow', Principal: { AWS: principalJson }, Action: ['s3:GetObject', 's3:PutObject'], Resource: objectArn('terraform.tfstate') },
          { Effect: 'Allow', Principal: { AWS: principalJson }, Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: objectArn('terraform.tfstate.tflock') },
        ]),
      },
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      ResourcePolicy: {
        PolicyDocument: {
          Statement: [{
            Effect: 'Allow',
            Principal: { AWS: principalJson },
            Action: ['dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
            Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':dynamodb:eu-west-1:111111111111:table/terraform-lock']] },
            Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${BUCKET}/terraform.tfstate`, `${BUCKET}/terraform.tfstate-md5`] } },
          }],
        },
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: { Statement: Match.arrayWith([{ Effect: 'Allow', Principal: { AWS: principalJson }, Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'], Resource: '*' }]) },
    });
    template.resourceCountIs('AWS::IAM::Policy', 0);
  });
});

describe('discovery', () => {
  test('publishes bucket, region, lock table and the backend config file under /terraform/backend/', () => {
    const { stack, backend } = synth();
    const template = Template.fromStack(stack);
    const parameters = Object.values<any>(template.findResources('AWS::SSM::Parameter')).map((p) => [p.Properties.Name, p.Properties.Value]);
    expect(parameters).toEqual([
      ['/terraform/backend/bucket', BUCKET],
      ['/terraform/backend/region', 'eu-west-1'],
      ['/terraform/backend/lock-table', 'terraform-lock'],
      ['/terraform/backend/backend-config', backend.renderBackendConfigFile()],
    ]);
    template.hasResourceProperties('AWS::SSM::Parameter', { Type: 'String', Tier: 'Standard' });
  });

  test('adds the key ARN with a customer key, and leaves out the table without one', () => {
    const { stack, backend } = synth({ encryption: StateEncryption.KMS, locking: LockingMode.S3_LOCKFILE });
    const names = Object.values<any>(Template.fromStack(stack).findResources('AWS::SSM::Parameter')).map((p) => p.Properties.Name);
    expect(names).toEqual(['/terraform/backend/bucket', '/terraform/backend/region', '/terraform/backend/kms-key-arn', '/terraform/backend/backend-config']);
    Template.fromStack(stack).hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/terraform/backend/kms-key-arn',
      Value: { 'Fn::GetAtt': [stack.getLogicalId(backend.encryptionKey!.node.defaultChild as any), 'Arn'] },
    });
  });

  test('takes a prefix, or can be turned off', () => {
    const custom = synth({ discoveryPrefix: '/platform/tf-state/' });
    expect(custom.backend.discoveryPrefix).toBe('/platform/tf-state/');
    Template.fromStack(custom.stack).hasResourceProperties('AWS::SSM::Parameter', { Name: '/platform/tf-state/bucket' });
    const off = synth({ discovery: false });
    Template.fromStack(off.stack).resourceCountIs('AWS::SSM::Parameter', 0);
    expect(off.backend.discoveryPrefix).toBeUndefined();
  });

  test('grants.discoveryRead gives GetParameter(s) on exactly those parameters', () => {
    const { stack, backend } = synth();
    const role = new iam.Role(stack, 'Pipeline', { assumedBy: new iam.AccountPrincipal('111111111111') });
    backend.grants.discoveryRead(role);
    const policy = Object.values<any>(Template.fromStack(stack).findResources('AWS::IAM::Policy'))[0];
    const [statement] = policy.Properties.PolicyDocument.Statement;
    expect(statement.Action).toEqual(['ssm:GetParameter', 'ssm:GetParameters']);
    const parameterNames = Object.values<any>(Template.fromStack(stack).findResources('AWS::SSM::Parameter')).map((p) => p.Properties.Name);
    expect(parameterNames).toHaveLength(4);
    expect(statement.Resource).toEqual(parameterNames.map((name) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:ssm:eu-west-1:111111111111:parameter${name}`]],
    })));
  });

  test.each<[string, TerraformStateBackendProps, string]>([
    ['a prefix without the trailing slash', { discoveryPrefix: '/terraform' }, '`discoveryPrefix` must start and end with "/"'],
    ['a reserved prefix', { discoveryPrefix: '/aws/terraform/' }, 'not start with "/aws" or "/ssm", got "/aws/terraform/"'],
    ['a prefix with discovery off', { discovery: false, discoveryPrefix: '/x/' }, '`discoveryPrefix` is set to "/x/", but `discovery` is false'],
  ])('rejects %s', (_name, props, message) => {
    expect(synthErrors(synth(props).backend)).toContain(message);
  });

  test('grants.discoveryRead without discovery is an error', () => {
    const { stack, backend } = synth({ discovery: false });
    expect(() => backend.grants.discoveryRead(new iam.Role(stack, 'R', { assumedBy: new iam.AccountPrincipal('111111111111') }))).toThrow(
      'discoveryRead() needs the discovery parameters: `discovery` is false');
  });
});

describe('app, mode org', () => {
  test('synthesizes only the StackSet stack, from context', () => {
    const app = new App({ context: { mode: 'org', organizationalUnits: 'ou-ab12-cd34ef56, ou-ab12-gh78ij90', regions: 'eu-west-1,us-east-1', organizationId: ORG } });
    const stacks = buildBootstrapApp(app);
    expect(stacks.backend).toBeUndefined();
    expect(app.synth().stacks.map((s) => s.stackName)).toEqual(['TerraformStateBackendStackSet']);
    Template.fromStack(stacks.stackSet!).hasResourceProperties('AWS::CloudFormation::StackSet', {
      StackInstancesGroup: [{ DeploymentTargets: { OrganizationalUnitIds: ['ou-ab12-cd34ef56', 'ou-ab12-gh78ij90'] }, Regions: ['eu-west-1', 'us-east-1'] }],
      TemplateBody: Match.stringLikeRegexp('aws:PrincipalOrgID'),
    });
  });

  test('needs organizationalUnits and regions', () => {
    expect(() => buildBootstrapApp(new App({ context: { mode: 'org', regions: 'eu-west-1' } }))).toThrow(
      '`mode=org` needs `organizationalUnits` and `regions`');
  });
});

test('the StateKey pattern enforces Terraform\'s key rules', () => {
  const { body } = stackSet();
  // CloudFormation evaluates it as a Java regex; these constructs read the same in JavaScript with the u flag.
  const pattern = new RegExp(body.Parameters.StateKey.AllowedPattern.replace('\\p{Cntrl}', '\\p{Cc}'), 'u');
  for (const good of ['terraform.tfstate', 'network/prod/terraform.tfstate', 'a']) {
    expect(pattern.test(good)).toBe(true);
  }
  for (const bad of ['/a', 'a/', 'a//b', 'a"b', 'a\\b', '${x}', '%{x}', 'a\nb']) {
    expect(pattern.test(bad)).toBe(false);
  }
});

describe('KMS_MANAGED and other accounts', () => {
  test('a grant to another account is an error: the aws/s3 key cannot be used across accounts', () => {
    const { backend } = synth({ encryption: StateEncryption.KMS_MANAGED });
    expect(() => backend.grants.readWrite(new iam.AccountPrincipal('222222222222'))).toThrow(
      'the grantee is in account 222222222222, but `encryption` is KMS_MANAGED: the aws/s3 key cannot be used from another account');
  });

  test('S3_LOCKFILE with SSE-S3 can be granted to another account (no table, no key)', () => {
    const { stack, backend } = synth({ locking: LockingMode.S3_LOCKFILE });
    expect(backend.grants.readWrite(new iam.AccountPrincipal('222222222222')).success).toBe(true);
    Template.fromStack(stack).hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'] })]) },
    });
  });

  test('a grant within the account is fine', () => {
    const { stack, backend } = synth({ encryption: StateEncryption.KMS_MANAGED });
    expect(backend.grants.read(new iam.Role(stack, 'R', { assumedBy: new iam.AccountPrincipal('111111111111') })).success).toBe(true);
  });
});

describe('the lock table on the AWS owned key serves other accounts', () => {
  test.each([
    ['an AccountPrincipal', new iam.AccountPrincipal('222222222222')],
    ['an ArnPrincipal of another account', new iam.ArnPrincipal('arn:aws:iam::222222222222:role/ci')],
  ])('a default backend (SSE-S3, DYNAMODB) grants %s read-write through the bucket and table policies', (_name, principal) => {
    const { stack, backend } = synth();
    expect(backend.grants.readWrite(principal).success).toBe(true);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: false },
      ResourcePolicy: { PolicyDocument: { Statement: [Match.objectLike({
        Action: ['dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
      })] } },
    });
  });

  test('grants.read never refuses because of the digest item: another account gets GetItem on <key>-md5', () => {
    const { stack, backend } = synth();
    expect(backend.grants.read(new iam.AccountPrincipal('222222222222')).success).toBe(true);
    Template.fromStack(stack).hasResourceProperties('AWS::DynamoDB::Table', {
      ResourcePolicy: { PolicyDocument: { Statement: [Match.objectLike({
        Action: 'dynamodb:GetItem',
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${BUCKET}/terraform.tfstate-md5`] } },
      })] } },
    });
  });
});

describe('cross-account checks read the account from an ArnPrincipal too', () => {
  test('KMS_MANAGED refuses an ArnPrincipal of another account', () => {
    const { backend } = synth({ encryption: StateEncryption.KMS_MANAGED, locking: LockingMode.S3_LOCKFILE });
    expect(() => backend.grants.read(new iam.ArnPrincipal('arn:aws:iam::222222222222:role/ci'))).toThrow(
      'the grantee is in account 222222222222, but `encryption` is KMS_MANAGED');
  });

  test('an ArnPrincipal of the same account is no cross-account grant', () => {
    const { backend } = synth();
    expect(backend.grants.read(new iam.ArnPrincipal('arn:aws:iam::111111111111:role/reader')).success).toBe(true);
  });

  test('grants.discoveryRead refuses another account: standard SSM parameters cannot be shared', () => {
    const { backend } = synth();
    expect(() => backend.grants.discoveryRead(new iam.AccountPrincipal('222222222222'))).toThrow(
      'the grantee is in account 222222222222, but standard SSM parameters cannot be read from another account');
  });
});

describe('cross-account checks cannot be bypassed', () => {
  const anyone: Array<[string, () => iam.IPrincipal]> = [
    ['AnyPrincipal', () => new iam.AnyPrincipal()],
    ['StarPrincipal', () => new iam.StarPrincipal()],
    ['ArnPrincipal(\'*\')', () => new iam.ArnPrincipal('*')],
  ];
  const anyoneMessage = 'the grantee is a `*` principal without conditions (AnyPrincipal, StarPrincipal or ArnPrincipal(\'*\'))';

  test.each(anyone)('%s is refused by every grant, also in an environment-agnostic stack', (_name, principal) => {
    for (const stack of [synth().stack, new Stack(new App(), 'Agnostic')]) {
      const backend = stack.node.tryFindChild('Backend') as TerraformStateBackend ?? new TerraformStateBackend(stack, 'Backend');
      expect(() => backend.grants.readWrite(principal())).toThrow(anyoneMessage);
      expect(() => backend.grants.read(principal())).toThrow(anyoneMessage);
      expect(() => backend.grants.discoveryRead(principal())).toThrow(anyoneMessage);
    }
  });

  const beyond: Array<[string, (stack: Stack) => iam.IPrincipal, string]> = [
    ['an OrganizationPrincipal', () => new iam.OrganizationPrincipal(ORG), 'any principal that meets its conditions on aws:PrincipalOrgID'],
    ['a ServicePrincipal', () => new iam.ServicePrincipal('codebuild.amazonaws.com'), 'the service principal codebuild.amazonaws.com'],
    ['a ServicePrincipal with conditions', () => new iam.ServicePrincipal('codebuild.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': '111111111111' } },
    }), 'the service principal codebuild.amazonaws.com'],
    ['a CompositePrincipal with a member of another account', () => new iam.CompositePrincipal(
      new iam.AccountPrincipal('111111111111'), new iam.AccountPrincipal('222222222222')), 'is in account 222222222222'],
    ['a role of a stack in another account', (stack) => {
      const other = new Stack(stack.node.root as App, 'Other', { env: { account: '333333333333', region: 'eu-west-1' } });
      return new iam.Role(other, 'Pipeline', { assumedBy: new iam.AccountRootPrincipal() });
    }, 'is in account 333333333333'],
    ['a WebIdentityPrincipal', () => new iam.WebIdentityPrincipal('token.actions.githubusercontent.com'), 'the federated principal token.actions.githubusercontent.com'],
  ];

  test.each(beyond)('%s is judged as reaching beyond this account (refused with KMS_MANAGED)', (_name, principal, who) => {
    const { stack, backend } = synth({ encryption: StateEncryption.KMS_MANAGED });
    const grantee = principal(stack);
    expect(() => backend.grants.read(grantee)).toThrow(who);
    expect(() => backend.grants.read(grantee)).toThrow('but `encryption` is KMS_MANAGED: the aws/s3 key cannot be used from another account');
  });

  test.each(beyond)('grants.discoveryRead refuses %s', (_name, principal, who) => {
    const { stack, backend } = synth();
    expect(() => backend.grants.discoveryRead(principal(stack))).toThrow(who);
  });

  test('principals of this account are not cross-account, however they are written', () => {
    const { stack, backend } = synth({ encryption: StateEncryption.KMS_MANAGED });
    for (const principal of [
      new iam.AccountRootPrincipal(),
      new iam.Role(stack, 'Ci', { assumedBy: new iam.AccountRootPrincipal() }),
      new iam.ArnPrincipal('arn:aws:iam::111111111111:role/ci'),
      new iam.CompositePrincipal(new iam.AccountPrincipal('111111111111'), new iam.ArnPrincipal('arn:aws:iam::111111111111:role/ci')),
      new iam.AccountPrincipal('111111111111').withConditions({ StringEquals: { 'aws:PrincipalTag/team': 'platform' } }),
    ]) {
      expect(backend.grants.readWrite(principal).success).toBe(true);
    }
  });
});
