import { App, Stack } from 'aws-cdk-lib/core';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import {
  ITerraformStateBackend,
  LockingMode,
  StateEncryption,
  StateGrantOptions,
  TerraformStateBackend,
  TerraformStateBackendProps,
  TerraformStateBackendStack,
} from '../lib';
import { synthErrors } from './support/synth-errors';

const BACKEND_ACCOUNT = '111111111111';
const PIPELINE_ACCOUNT = '222222222222';
const REGION = 'eu-west-1';
const BUCKET = `terraform-state-${BACKEND_ACCOUNT}-${REGION}`;
const KEY_ARN = `arn:aws:kms:${REGION}:${BACKEND_ACCOUNT}:key/11111111-2222-3333-4444-555555555555`;

type Grant = (backend: ITerraformStateBackend, role: iam.IRole) => void;

/** The policy documents of a role's default policy, as the template has them. */
function rolePolicy(stack: Stack): unknown {
  const policies = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'));
  expect(policies).toHaveLength(1);
  return policies[0].Properties.PolicyDocument;
}

/** A role in a pipeline stack of `account`, granted on a backend the backend stack made. */
function grantOnOwned(props: TerraformStateBackendProps, account: string, grant: Grant): unknown {
  const app = new App();
  const backendStack = new Stack(app, 'Backend', { env: { account: BACKEND_ACCOUNT, region: REGION } });
  const backend = new TerraformStateBackend(backendStack, 'Backend', props);
  const pipeline = new Stack(app, 'Pipeline', { env: { account, region: REGION } });
  grant(backend, new iam.Role(pipeline, 'Ci', { roleName: 'ci', assumedBy: new iam.AccountRootPrincipal() }));
  return rolePolicy(pipeline);
}

/** The same role, granted on the same backend imported by its names in another app. */
function grantOnImported(props: TerraformStateBackendProps, account: string, grant: Grant): unknown {
  const pipeline = new Stack(new App(), 'Pipeline', { env: { account, region: REGION } });
  const backend = TerraformStateBackend.fromBackendAttributes(pipeline, 'Backend', {
    bucketName: BUCKET,
    account: BACKEND_ACCOUNT,
    region: REGION,
    locking: props.locking,
    lockTableName: props.lockTableName,
    encryption: props.encryption,
    encryptionKey: props.encryptionKey ? kms.Key.fromKeyArn(pipeline, 'Key', KEY_ARN) : undefined,
    stateKey: props.stateKey,
    workspaceKeyPrefix: props.workspaceKeyPrefix,
  });
  grant(backend, new iam.Role(pipeline, 'Ci', { roleName: 'ci', assumedBy: new iam.AccountRootPrincipal() }));
  return rolePolicy(pipeline);
}

/** Props whose key is given (an imported backend can name only a key that exists). */
function backendProps(
  locking: LockingMode, encryption: StateEncryption, extra: TerraformStateBackendProps = {},
): (stack?: Stack) => TerraformStateBackendProps {
  return (stack?: Stack) => ({
    locking,
    encryption,
    encryptionKey: encryption === StateEncryption.KMS && stack ? kms.Key.fromKeyArn(stack, 'GivenKey', KEY_ARN) : undefined,
    ...extra,
  });
}

describe('grants on an imported backend are the grants on the backend that made it', () => {
  const grants: Array<[string, Grant]> = [
    ['readWrite', (b, r) => b.grants.readWrite(r)],
    ['readWrite with workspaces and a key pattern', (b, r) => b.grants.readWrite(r, { keyPattern: 'network/*', workspaces: true })],
    ['readWrite, listing only the state keys', (b, r) => b.grants.readWrite(r, { listOnlyStateKeys: true, workspaceKeyPrefix: 'ws' })],
    ['read', (b, r) => b.grants.read(r, { workspaces: true } as StateGrantOptions)],
    ['plan', (b, r) => b.grants.plan(r, { workspaces: true })],
  ];
  const settings: Array<[LockingMode, StateEncryption]> = [
    [LockingMode.DYNAMODB, StateEncryption.S3_MANAGED],
    [LockingMode.S3_LOCKFILE, StateEncryption.KMS],
    [LockingMode.DYNAMODB_AND_S3_LOCKFILE, StateEncryption.KMS],
    [LockingMode.DYNAMODB_AND_S3_LOCKFILE, StateEncryption.KMS_MANAGED],
  ];
  for (const account of [BACKEND_ACCOUNT, PIPELINE_ACCOUNT]) {
    for (const [locking, encryption] of settings) {
      if (account === PIPELINE_ACCOUNT && encryption === StateEncryption.KMS_MANAGED) {
        continue; // refused for both: the aws/s3 key cannot be used from another account (tested below)
      }
      test.each(grants)(`%s, ${locking}, ${encryption}, pipeline in ${account}`, (_name, grant) => {
        const props = backendProps(locking, encryption, {
          lockTableName: locking === LockingMode.S3_LOCKFILE ? undefined : 'terraform-lock-2',
          stateKey: 'app/terraform.tfstate',
        });
        // The owned backend gets the key in its own stack; the import names it by ARN.
        const owned = (() => {
          const app = new App();
          const backendStack = new Stack(app, 'Backend', { env: { account: BACKEND_ACCOUNT, region: REGION } });
          const backend = new TerraformStateBackend(backendStack, 'Backend', props(backendStack));
          const pipeline = new Stack(app, 'Pipeline', { env: { account, region: REGION } });
          grant(backend, new iam.Role(pipeline, 'Ci', { roleName: 'ci', assumedBy: new iam.AccountRootPrincipal() }));
          return rolePolicy(pipeline);
        })();
        expect(grantOnImported(props(new Stack()), account, grant)).toEqual(owned);
      });
    }
  }

  test('a key made by the backend is granted by its alias into other stacks, an imported key by its ARN', () => {
    const owned = grantOnOwned({ encryption: StateEncryption.KMS }, BACKEND_ACCOUNT, (b, r) => b.grants.read(r));
    expect(JSON.stringify(owned)).toContain('kms:ResourceAliases');
    const imported = grantOnImported({ encryption: StateEncryption.KMS, encryptionKey: {} as kms.IKey }, BACKEND_ACCOUNT, (b, r) => b.grants.read(r));
    expect(JSON.stringify(imported)).toContain(KEY_ARN);
  });

  test('the cross-account rules hold on an import: KMS_MANAGED and a `*` principal are refused, SSM is same-account only', () => {
    const pipeline = new Stack(new App(), 'Pipeline', { env: { account: PIPELINE_ACCOUNT, region: REGION } });
    const role = new iam.Role(pipeline, 'Ci', { roleName: 'ci', assumedBy: new iam.AccountRootPrincipal() });
    const managed = TerraformStateBackend.fromBackendAttributes(pipeline, 'Managed', {
      bucketName: BUCKET, account: BACKEND_ACCOUNT, encryption: StateEncryption.KMS_MANAGED,
    });
    expect(() => managed.grants.readWrite(role)).toThrow(`the grantee is in account ${PIPELINE_ACCOUNT}, but \`encryption\` is KMS_MANAGED`);
    const plain = TerraformStateBackend.fromBackendAttributes(pipeline, 'Plain', {
      bucketName: BUCKET, account: BACKEND_ACCOUNT, discoveryPrefix: '/terraform/backend/',
    });
    expect(() => plain.grants.read(new iam.AnyPrincipal())).toThrow('the grantee is a `*` principal without conditions');
    expect(() => plain.grants.discoveryRead(role)).toThrow('standard SSM parameters cannot be read from another account');
  });

  test('the ARNs are built from names: the import makes no reference to another stack', () => {
    const policy = grantOnImported({}, BACKEND_ACCOUNT, (b, r) => b.grants.readWrite(r));
    const text = JSON.stringify(policy);
    expect(text).not.toContain('Fn::ImportValue');
    expect(text).toContain(`:dynamodb:${REGION}:${BACKEND_ACCOUNT}:table/terraform-lock`);
    expect(text).toContain(`:s3:::${BUCKET}/terraform.tfstate`);
  });
});

describe('plan', () => {
  type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };
  function statements(locking: LockingMode, encryption: StateEncryption): Statement[] {
    const policy = grantOnOwned({ locking, encryption }, BACKEND_ACCOUNT, (b, r) => b.grants.plan(r)) as { Statement: Statement[] };
    return policy.Statement;
  }
  const actions = (s: Statement) => [s.Action].flat();

  test('reads the state, takes and releases the lock item, reads the digest, and writes neither state nor digest', () => {
    const st = statements(LockingMode.DYNAMODB, StateEncryption.KMS);
    const text = (x: unknown) => JSON.stringify(x);
    // No write of any kind on the state object.
    const onState = st.filter((s) => text(s.Resource).includes('terraform.tfstate"') && !text(s.Resource).includes('.tflock'));
    expect(onState.flatMap(actions)).toEqual(['s3:GetObject']);
    // The lock item may be written; the digest item only read.
    const items = st.filter((s) => actions(s).some((a) => a.startsWith('dynamodb:')));
    expect(items.map((s) => ({ actions: actions(s), condition: s.Condition }))).toEqual([
      { actions: ['dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
        condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${BUCKET}/terraform.tfstate`] } } },
      { actions: ['dynamodb:GetItem'], condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${BUCKET}/terraform.tfstate-md5`] } } },
    ]);
    // Without lock files nothing is encrypted: the key only decrypts.
    expect(st.filter((s) => actions(s).some((a) => a.startsWith('kms:'))).flatMap(actions)).toEqual(['kms:Decrypt']);
  });

  test('with lock files: the .tflock may be written and encrypted, the state still not', () => {
    const st = statements(LockingMode.S3_LOCKFILE, StateEncryption.KMS);
    const lockFile = st.find((s) => JSON.stringify(s.Resource).includes('terraform.tfstate.tflock'));
    expect(actions(lockFile!)).toEqual(['s3:GetObject', 's3:PutObject', 's3:DeleteObject']);
    expect(st.filter((s) => actions(s).some((a) => a.startsWith('kms:'))).flatMap(actions)).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(st.filter((s) => actions(s).some((a) => a.startsWith('dynamodb:')))).toEqual([]);
  });
});

describe('fromBackendAttributes', () => {
  test('renders the block the deployed backend renders', () => {
    const app = new App();
    const owned = new TerraformStateBackend(new Stack(app, 'B', { env: { account: BACKEND_ACCOUNT, region: REGION } }), 'Backend', {
      locking: LockingMode.DYNAMODB_AND_S3_LOCKFILE, workspaceKeyPrefix: 'ws', stateKey: 'a/b.tfstate',
    });
    const imported = TerraformStateBackend.fromBackendAttributes(new Stack(app, 'P', { env: { account: BACKEND_ACCOUNT, region: 'us-east-1' } }), 'Backend', {
      bucketName: BUCKET, region: REGION, locking: LockingMode.DYNAMODB_AND_S3_LOCKFILE, workspaceKeyPrefix: 'ws', stateKey: 'a/b.tfstate',
    });
    expect(imported.renderBackendBlock()).toEqual(owned.renderBackendBlock());
    expect(imported.renderBackendConfigFile({ stateKey: 'c.tfstate' })).toEqual(owned.renderBackendConfigFile({ stateKey: 'c.tfstate' }));
    expect(imported.region).toBe(REGION);
  });

  test('reports bad attributes as one error annotation on the import, as the constructor does, naming each', () => {
    const stack = new Stack(new App(), 'P');
    const backend = TerraformStateBackend.fromBackendAttributes(stack, 'Backend', {
      bucketName: 'Bad_Bucket',
      account: '1234',
      region: 'Ireland',
      locking: LockingMode.S3_LOCKFILE,
      lockTableName: 'terraform-lock',
      encryption: StateEncryption.KMS,
      stateKey: '/x',
    });
    const errors = synthErrors(stack);
    expect(errors).toMatch(new RegExp(['[Error at /P/Backend] Invalid props for P/Backend:',
      '`bucketName` may contain only', '`region` must be an AWS region name', '`account` must be a 12-digit AWS account ID, got "1234"',
      '`stateKey` must not start or end with "/"', '`lockTableName` is set to "terraform-lock", but `locking` is S3_LOCKFILE',
      '`encryption` is KMS, but `encryptionKey` is not set',
    ].map((m) => m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^]*')));
    expect(errors.match(/\[Error at /g)).toHaveLength(1);
    // Nothing is imported; the grants and the rendering throw the same message.
    expect(backend.node.children).toHaveLength(0);
    const role = new iam.Role(stack, 'R', { assumedBy: new iam.AccountRootPrincipal() });
    expect(() => backend.grants.read(role)).toThrow('`bucketName` may contain only');
    expect(() => backend.renderBackendBlock()).toThrow('the backend\'s props are invalid');
  });

  test('discoveryRead() without a discoveryPrefix is a programming error', () => {
    const stack = new Stack(new App(), 'P');
    const backend = TerraformStateBackend.fromBackendAttributes(stack, 'Backend', { bucketName: BUCKET });
    expect(() => backend.grants.discoveryRead(new iam.Role(stack, 'R', { assumedBy: new iam.AccountRootPrincipal() })))
      .toThrow('discoveryRead() needs the discovery parameters');
  });
});

describe('fromDiscovery', () => {
  function discovered(options: Parameters<typeof TerraformStateBackend.fromDiscovery>[2] = {}) {
    const stack = new Stack(new App(), 'Pipeline', { env: { account: BACKEND_ACCOUNT, region: REGION } });
    const backend = TerraformStateBackend.fromDiscovery(stack, 'Backend', options);
    const role = new iam.Role(stack, 'Ci', { assumedBy: new iam.AccountRootPrincipal() });
    return { stack, backend, role };
  }

  function ssmParameters(stack: Stack): string[] {
    return Object.values(Template.fromStack(stack).toJSON().Parameters ?? {})
      .filter((p: any) => p.Type === 'AWS::SSM::Parameter::Value<String>')
      .map((p: any) => p.Default)
      .filter((name: string) => !name.startsWith('/cdk-bootstrap/'))
      .sort();
  }

  test('reads the bucket and the table name at deploy time, and grants on them', () => {
    const { stack, backend, role } = discovered();
    backend.grants.readWrite(role);
    backend.grants.discoveryRead(role);
    expect(ssmParameters(stack)).toEqual(['/terraform/backend/bucket', '/terraform/backend/lock-table']);
    const text = JSON.stringify(rolePolicy(stack));
    expect(text).toContain('"Ref":"SsmParameterValueterraformbackendbucket');
    expect(text).toContain(`:ssm:${REGION}:${BACKEND_ACCOUNT}:parameter/terraform/backend/backend-config`);
    expect(text).not.toContain('kms-key-arn');
  });

  test('reads only the parameters the deployed backend has: the key with KMS, no table with lock files', () => {
    const { stack, backend, role } = discovered({ prefix: '/tf/', locking: LockingMode.S3_LOCKFILE, encryption: StateEncryption.KMS });
    backend.grants.read(role);
    expect(ssmParameters(stack)).toEqual(['/tf/bucket', '/tf/kms-key-arn']);
    expect(backend.lockTableName).toBeUndefined();
    expect(JSON.stringify(rolePolicy(stack))).toContain('kms:Decrypt');
  });

  test('reports a bad prefix as an error annotation on the import, and reads no parameter', () => {
    const { stack, backend } = discovered({ prefix: 'tf' });
    expect(synthErrors(stack)).toContain('[Error at /Pipeline/Backend] Invalid props for Pipeline/Backend:\n  - `prefix` must start and end with "/"');
    expect(ssmParameters(stack)).toEqual([]);
    expect(() => backend.backendConfig()).toThrow('the backend\'s props are invalid');
  });
});

describe('the deprecated grant methods forward to grants', () => {
  test.each([
    ['grantStateReadWrite', (b: TerraformStateBackend, r: iam.IRole) => b.grantStateReadWrite(r, 'a/*', { workspaces: true }),
      (b: TerraformStateBackend, r: iam.IRole) => b.grants.readWrite(r, { keyPattern: 'a/*', workspaces: true })],
    ['grantStateRead', (b: TerraformStateBackend, r: iam.IRole) => b.grantStateRead(r),
      (b: TerraformStateBackend, r: iam.IRole) => b.grants.read(r)],
    ['grantDiscoveryRead', (b: TerraformStateBackend, r: iam.IRole) => b.grantDiscoveryRead(r),
      (b: TerraformStateBackend, r: iam.IRole) => b.grants.discoveryRead(r)],
  ])('%s', (_name, old, now) => {
    expect(grantOnOwned({}, BACKEND_ACCOUNT, (b, r) => old(b as TerraformStateBackend, r)))
      .toEqual(grantOnOwned({}, BACKEND_ACCOUNT, (b, r) => now(b as TerraformStateBackend, r)));
  });
});

test('TerraformStateBackendStack takes the backend props under `backend`', () => {
  const stack = new TerraformStateBackendStack(new App(), 'S', { backend: { lockTableName: 'other-lock' }, description: 'mine' });
  Template.fromStack(stack).hasResourceProperties('AWS::DynamoDB::Table', { TableName: 'other-lock' });
  expect(stack.templateOptions.description).toBe('mine');
  expect(stack.backend.lockTableName).toBe('other-lock');
});
