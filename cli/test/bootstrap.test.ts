/**
 * `tfstate-ops bootstrap` in-process, on a fake CloudFormation (fake-cloudformation.ts):
 * flag validation, the judging of change sets, and the paths moto_server cannot show
 * (test/e2e/bootstrap.e2e.test.ts runs the real thing there). moto's DescribeChangeSet
 * gives no Replacement and no PhysicalResourceId, and lists no change at all for a
 * changed BucketName parameter; its CloudFormation makes resources inside
 * ExecuteChangeSet, so a failed resource is an error of that call, not a stack event
 * (BucketAlreadyExists, a refused action); and it enforces no IAM on CloudFormation.
 * So a Replacement, a stack event's failure reason and a refused action are proven here.
 */
import * as fs from 'fs';
import * as path from 'path';
import { changeLine, judgeChanges, ResourceChange } from '../src/change-set';
import { backendFromResources, backendLines, CloudFormationLike } from '../src/cmd-bootstrap';
import { ExitCode } from '../src/errors';
import { main } from '../src/main';
import { checkRegion } from '../src/regions';
import { backendTemplate, templatesDir } from '../src/templates';
import { awsFault } from './fake-aws';
import { FAKE_ACCOUNT, FakeCloudFormation } from './fake-cloudformation';
import { NOW } from './helpers';

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
  readonly files: Record<string, string>;
}

interface RunOptions {
  readonly interactive?: boolean;
  readonly answer?: boolean;
  readonly files?: Record<string, string>;
}

async function bootstrap(argv: string[], cfn = new FakeCloudFormation(), options: RunOptions = {}): Promise<Run> {
  let out = '';
  let err = '';
  const files: Record<string, string> = { ...(options.files ?? {}) };
  const code = await main(['bootstrap', ...argv], {
    stdout: (t) => { out += t; },
    stderr: (t) => { err += t; },
    env: {},
    now: () => NOW,
    who: 'runner@ci',
    cloudformation: () => cfn as unknown as CloudFormationLike,
    interactive: options.interactive ?? false,
    confirm: async () => options.answer ?? false,
    fileExists: (f) => f in files,
    writeNewFile: (f, text) => {
      if (f in files) throw Object.assign(new Error(`EEXIST: file already exists, open '${f}'`), { code: 'EEXIST' });
      files[f] = text;
    },
    sleep: async () => undefined,
  });
  return { code, out, err, files };
}

const TEMPLATE = backendTemplate('DYNAMODB', 'S3_MANAGED');
const STATE_BUCKET = 'BackendStateBucketBF5F84A2';
const TABLE = 'BackendLockTable5C1C0CEA';

/** A stack an earlier bootstrap made from the DYNAMODB / S3_MANAGED template. */
function existingStack(cfn: FakeCloudFormation, bucket = 'my-state', table = 'my-lock') {
  return cfn.addStack({
    name: 'TerraformStateBackend',
    template: TEMPLATE.body,
    parameters: Object.keys(TEMPLATE.parameters).map((k) => ({
      ParameterKey: k, ParameterValue: k === 'BucketName' ? bucket : k === 'LockTableName' ? table : String(TEMPLATE.parameters[k].Default),
    })),
    resources: Object.entries(TEMPLATE.resources).map(([id, r]) => ({
      LogicalResourceId: id, ResourceType: r.Type, PhysicalResourceId: id === STATE_BUCKET ? bucket : id === TABLE ? table : `${id}-physical`,
    })),
  });
}

describe('flags are checked before any AWS call, each naming the flag, the value, the rule and the likely one', () => {
  test.each([
    [['--locking', 'dynamo'], '--locking must be one of DYNAMODB, S3_LOCKFILE, DYNAMODB_AND_S3_LOCKFILE, got "dynamo"; did you mean --locking DYNAMODB?'],
    [['--locking', 's3-lockfile'], '--locking must be one of DYNAMODB, S3_LOCKFILE, DYNAMODB_AND_S3_LOCKFILE, got "s3-lockfile"; did you mean --locking S3_LOCKFILE?'],
    [['--encryption', 'kms'], '--encryption must be one of S3_MANAGED, KMS, got "kms"; did you mean --encryption KMS?'],
    [['--encryption', 'S3_MANAGD'], '--encryption must be one of S3_MANAGED, KMS, got "S3_MANAGD"; did you mean --encryption S3_MANAGED?'],
    [['--bucket', 'My_Bucket'], '--bucket must be an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens, a letter or digit at both ends, '
    + 'no reserved prefix or suffix), or empty for the default, got "My_Bucket"'],
    [['--locking', 'S3_LOCKFILE', '--table', 'locks'], '--table does not apply to --locking S3_LOCKFILE: S3 lock files need no table'],
    [['--noncurrent-versions-to-retain', '500'], '--noncurrent-versions-to-retain must be at most 100, got "500"'],
    [['--stack-name', '1stack'], '--stack-name must be a CloudFormation stack name (a letter, then up to 127 letters, digits and "-"), got "1stack"'],
  ])('%j', async (argv, message) => {
    const cfn = new FakeCloudFormation();
    const r = await bootstrap(argv, cfn);
    expect({ code: r.code, err: r.err }).toEqual({ code: ExitCode.USAGE, err: `tfstate-ops: ${message}\n` });
    expect(cfn.sent).toEqual([]);
  });

  test('a region no partition has: the closest real one', async () => {
    const cfn = new FakeCloudFormation();
    const r = await bootstrap(['--region', 'us-est-1'], cfn);
    expect(r.code).toBe(ExitCode.USAGE);
    expect(r.err).toMatch(/^tfstate-ops: --region "us-est-1" is not an AWS region; did you mean us-east-1\? \(the regions of the AWS SDK 3\.1162\.0's partitions; in aws: af-south-1, /);
    expect(r.err).toContain('aws-us-gov: us-gov-east-1, us-gov-west-1)');
    expect(cfn.sent).toEqual([]);
    // From the environment or the profile, the same check, naming where it came from.
    const fromProfile = await bootstrap([], new FakeCloudFormation('eu-wets-1'));
    expect(fromProfile.err).toMatch(/the profile's region "eu-wets-1" is not an AWS region; did you mean eu-west-1\?/);
    expect(() => checkRegion('cn-north-1', '--region')).not.toThrow();
    expect(() => checkRegion('us-gov-west-1', '--region')).not.toThrow();
  });

  test('every fault at once; an existing file to write is refused before anything is done', async () => {
    const cfn = new FakeCloudFormation();
    const r = await bootstrap(['--locking', 'BOTH', '--write-backend-tf', 'backend.tf'], cfn, { files: { 'backend.tf': 'terraform {}\n' } });
    expect(r.code).toBe(ExitCode.USAGE);
    expect(r.err).toBe('tfstate-ops: bootstrap: 2 problems; nothing was done:\n'
      + '  - --locking must be one of DYNAMODB, S3_LOCKFILE, DYNAMODB_AND_S3_LOCKFILE, got "BOTH"\n'
      + '  - --write-backend-tf backend.tf: the file exists; it is never overwritten: remove it or name another file\n');
    expect(cfn.sent).toEqual([]);
  });

  test('an unknown option: the closest of bootstrap\'s own; the backend options of the other commands are not bootstrap\'s', async () => {
    expect((await bootstrap(['--lock', 'DYNAMODB'])).err).toBe('tfstate-ops: unknown option --lock for bootstrap; did you mean --locking? See tfstate-ops bootstrap --help\n');
    expect((await bootstrap(['--backend-config', 'x.hcl'])).err).toMatch(/^tfstate-ops: unknown option --backend-config for bootstrap/);
  });
});

describe('change sets are judged: a replacement or removal of a named resource, or of the state bucket, is refused', () => {
  const oldResources = TEMPLATE.resources;
  const judge = (c: ResourceChange) => judgeChanges([c], { ...oldResources, CDKMetadata: { Type: 'AWS::CDK::Metadata' } }, TEMPLATE.resources)[0].refused;

  test.each([
    [{ Action: 'Modify', LogicalResourceId: STATE_BUCKET, ResourceType: 'AWS::S3::Bucket', Replacement: 'True' }, 'it would replace the state bucket'],
    [{ Action: 'Modify', LogicalResourceId: STATE_BUCKET, ResourceType: 'AWS::S3::Bucket', Replacement: 'Conditional' }, 'it may replace (Replacement: Conditional) the state bucket'],
    [{ Action: 'Modify', LogicalResourceId: TABLE, ResourceType: 'AWS::DynamoDB::Table', Replacement: 'Conditional' }, 'it may replace (Replacement: Conditional) AWS::DynamoDB::Table'],
    [{ Action: 'Remove', LogicalResourceId: TABLE, ResourceType: 'AWS::DynamoDB::Table' }, 'it would remove AWS::DynamoDB::Table BackendLockTable5C1C0CEA'],
    [{ Action: 'Remove', LogicalResourceId: 'BackendDiscoveryLockTable0D95C37A', ResourceType: 'AWS::SSM::Parameter' }, 'it would remove AWS::SSM::Parameter'],
    // A resource of a nameable type the old template does not show: judged named (the safe answer).
    [{ Action: 'Remove', LogicalResourceId: 'Unknown', ResourceType: 'AWS::S3::Bucket' }, 'it would remove AWS::S3::Bucket Unknown'],
  ])('refused: %j', (change, why) => {
    expect(judge(change)).toContain(why);
  });

  test.each([
    [{ Action: 'Modify', LogicalResourceId: STATE_BUCKET, ResourceType: 'AWS::S3::Bucket', Replacement: 'False' }],
    [{ Action: 'Modify', LogicalResourceId: 'BackendDiscoveryBackendConfigA7FBF82F', ResourceType: 'AWS::SSM::Parameter', Replacement: 'False' }],
    // The access-log bucket has no fixed name: CloudFormation names it.
    [{ Action: 'Modify', LogicalResourceId: 'BackendAccessLogBucket27A12841', ResourceType: 'AWS::S3::Bucket', Replacement: 'True' }],
    [{ Action: 'Modify', LogicalResourceId: 'BackendStateBucketPolicy07398176', ResourceType: 'AWS::S3::BucketPolicy', Replacement: 'True' }],
    // What a stack made by `cdk deploy` of the app loses when the template takes it over.
    [{ Action: 'Remove', LogicalResourceId: 'CDKMetadata', ResourceType: 'AWS::CDK::Metadata' }],
    [{ Action: 'Add', LogicalResourceId: 'BackendStateKey59881BAE', ResourceType: 'AWS::KMS::Key' }],
  ])('allowed: %j', (change) => {
    expect(judge(change)).toBeUndefined();
  });

  test('a change as a line', () => {
    expect(changeLine({ change: { Action: 'Modify', LogicalResourceId: STATE_BUCKET, ResourceType: 'AWS::S3::Bucket', PhysicalResourceId: 'my-state', Replacement: 'True' }, refused: 'x' }))
      .toBe('Modify  AWS::S3::Bucket         BackendStateBucketBF5F84A2  (my-state)  replacement: True    REFUSED');
  });
});

describe('bootstrap on the fake CloudFormation', () => {
  test('a new stack: a CREATE change set with a name unique to the run, shown, executed with --yes, events on stderr, the backend from the outputs', async () => {
    const cfn = new FakeCloudFormation();
    cfn.onExecute = (stack) => {
      stack.outputs = [
        { OutputKey: 'BackendBackendBlockEE9B57AD', OutputValue: 'terraform {\n  backend "s3" {\n    bucket = "from-outputs"\n  }\n}\n' },
        { OutputKey: 'BackendBackendConfigFileE5DE80EC', OutputValue: 'bucket = "from-outputs"\n' },
      ];
      return { events: [{ LogicalResourceId: STATE_BUCKET, ResourceType: 'AWS::S3::Bucket', ResourceStatus: 'CREATE_COMPLETE' }], status: 'CREATE_COMPLETE' };
    };
    const r = await bootstrap(['--bucket', 'my-state', '--yes', '--write-backend-config', 'backend.hcl'], cfn);
    expect(r.code).toBe(ExitCode.OK);
    const [create] = cfn.calls('CreateChangeSetCommand');
    expect(create.input).toMatchObject({ StackName: 'TerraformStateBackend', ChangeSetType: 'CREATE', Parameters: [{ ParameterKey: 'BucketName', ParameterValue: 'my-state' }] });
    expect(create.input.ChangeSetName).toMatch(/^tfstate-ops-bootstrap-20261126120000-[0-9a-f]{8}$/);
    expect(create.input.TemplateBody).toBe(fs.readFileSync(path.join(templatesDir(), 'backend-dynamodb-s3-managed.template.json'), 'utf8'));
    expect(cfn.calls('ExecuteChangeSetCommand').map((c) => c.input.ChangeSetName)).toEqual([create.input.ChangeSetName]);
    expect(r.out).toContain(`Change set ${create.input.ChangeSetName} (CREATE) for stack TerraformStateBackend in eu-west-1:\n  Add     AWS::S3::Bucket`);
    expect(r.err).toContain('tfstate-ops:   12:00:02  CREATE_COMPLETE  AWS::S3::Bucket  BackendStateBucketBF5F84A2\n');
    expect(r.out).toContain('Stack TerraformStateBackend is CREATE_COMPLETE in eu-west-1.\n\nterraform {\n  backend "s3" {\n    bucket = "from-outputs"');
    expect(r.err).not.toContain('returned no outputs');
    expect(r.files).toEqual({ 'backend.hcl': 'bucket = "from-outputs"\n' });
  });

  test('a stack without outputs (as moto\'s): the backend is built from its parameters and physical IDs, and says so', async () => {
    const cfn = new FakeCloudFormation();
    const r = await bootstrap(['--bucket', 'my-state', '--table', 'my-lock', '--locking', 'DYNAMODB_AND_S3_LOCKFILE', '--yes', '--write-backend-tf', 'backend.tf'], cfn);
    expect(r.code).toBe(ExitCode.OK);
    expect(r.err).toContain('stack TerraformStateBackend returned no outputs: the backend below is built from its parameters and physical resource IDs');
    expect(r.files['backend.tf']).toBe('terraform {\n  backend "s3" {\n    bucket         = "my-state"\n    key            = "terraform.tfstate"\n'
      + '    region         = "eu-west-1"\n    dynamodb_table = "my-lock"\n    use_lockfile   = true\n    encrypt        = true\n  }\n}\n');
  });

  test('built from resources, a KMS key is named by its ARN, in the stack\'s account and partition', () => {
    const out = backendFromResources(
      { StackName: 's', StackId: `arn:aws-cn:cloudformation:cn-north-1:${FAKE_ACCOUNT}:stack/s/1`, Parameters: [{ ParameterKey: 'StateKey', ParameterValue: 'a/b.tfstate' }] } as any,
      [{ LogicalResourceId: STATE_BUCKET, ResourceType: 'AWS::S3::Bucket', PhysicalResourceId: 'b' },
        { LogicalResourceId: 'BackendStateKey59881BAE', ResourceType: 'AWS::KMS::Key', PhysicalResourceId: 'k-1' }] as any,
      'S3_LOCKFILE', 'cn-north-1');
    expect(out.backendConfig).toBe(backendLines([['bucket', 'b'], ['key', 'a/b.tfstate'], ['region', 'cn-north-1'], ['use_lockfile', true], ['encrypt', true],
      ['kms_key_id', `arn:aws-cn:kms:cn-north-1:${FAKE_ACCOUNT}:key/k-1`]]));
    // Aligned as the templates' BackendConfigFile output aligns it.
    expect(out.backendConfig).toBe(`bucket       = "b"\nkey          = "a/b.tfstate"\nregion       = "cn-north-1"\nuse_lockfile = true\nencrypt      = true\n`
      + `kms_key_id   = "arn:aws-cn:kms:cn-north-1:${FAKE_ACCOUNT}:key/k-1"\n`);
  });

  test('a Replacement of the state bucket in the change set (moto cannot list one) is refused: nothing executed, the change set deleted', async () => {
    const cfn = new FakeCloudFormation();
    existingStack(cfn);
    cfn.changesFor = () => [
      { Action: 'Modify', LogicalResourceId: STATE_BUCKET, ResourceType: 'AWS::S3::Bucket', PhysicalResourceId: 'my-state', Replacement: 'True' },
      { Action: 'Modify', LogicalResourceId: 'BackendDiscoveryBucket99E798E6', ResourceType: 'AWS::SSM::Parameter', Replacement: 'False' },
    ];
    const r = await bootstrap(['--encryption', 'KMS', '--yes'], cfn);
    expect(r.code).toBe(ExitCode.REFUSED);
    expect(r.out).toContain('  Modify  AWS::S3::Bucket         BackendStateBucketBF5F84A2  (my-state)  replacement: True    REFUSED\n');
    expect(r.err).toContain('tfstate-ops: refused, nothing was changed (the change set was deleted): it would replace the state bucket (my-state), which has a fixed name');
    expect(r.err).toContain('deploy a new stack (--stack-name) and move the state with `terraform init -migrate-state`');
    expect(cfn.calls('ExecuteChangeSetCommand')).toEqual([]);
    expect(cfn.calls('DeleteChangeSetCommand')).toHaveLength(1);
    // An existing stack is never deleted.
    expect(cfn.calls('DeleteStackCommand')).toEqual([]);
  });

  test('a --bucket other than the stack\'s is refused before any change set (moto\'s change set would list nothing for it)', async () => {
    const cfn = new FakeCloudFormation();
    existingStack(cfn);
    const r = await bootstrap(['--bucket', 'other-state', '--yes'], cfn);
    expect(r.code).toBe(ExitCode.REFUSED);
    expect(r.err).toBe('tfstate-ops: refused, nothing was changed: --bucket other-state: the stack\'s state bucket is my-state; a new name would replace it '
      + '(the state in it would be left behind or deleted). Leave the flag out (the stack\'s name is kept) or pass the current name; for a backend under another name, '
      + 'deploy a new stack (--stack-name) and move the state with `terraform init -migrate-state`\n');
    expect(cfn.calls('CreateChangeSetCommand')).toEqual([]);
  });

  test('an existing stack: flags left out keep its values; the same flags again change nothing and say so', async () => {
    const cfn = new FakeCloudFormation();
    existingStack(cfn);
    const r = await bootstrap(['--yes', '--json'], cfn);
    expect(r.code).toBe(ExitCode.OK);
    const [create] = cfn.calls('CreateChangeSetCommand');
    expect(create.input.ChangeSetType).toBe('UPDATE');
    expect(create.input.Parameters).toEqual(Object.keys(TEMPLATE.parameters).map((k) => ({ ParameterKey: k, UsePreviousValue: true })));
    expect(r.err).toContain('stack TerraformStateBackend is up to date: nothing to change (The submitted information didn\'t contain changes.');
    expect(cfn.calls('ExecuteChangeSetCommand')).toEqual([]);
    expect(cfn.calls('DeleteChangeSetCommand')).toHaveLength(1);
    expect(JSON.parse(r.out)).toMatchObject({ executed: false, upToDate: true, changeSetType: 'UPDATE', backend: { from: 'resources' } });
  });

  test('a stack made by `cdk deploy` of the app: updated in place, its names kept from its resources, CDKMetadata removed', async () => {
    const cfn = new FakeCloudFormation();
    const app = JSON.parse(TEMPLATE.body);
    delete app.Parameters;
    app.Resources.CDKMetadata = { Type: 'AWS::CDK::Metadata', Properties: { Analytics: 'v2:deflate64:...' } };
    existingStack(cfn, `terraform-state-${FAKE_ACCOUNT}-eu-west-1`, 'terraform-lock');
    const stack = cfn.stacks.get('TerraformStateBackend')!;
    stack.template = JSON.stringify(app);
    stack.parameters = [{ ParameterKey: 'BootstrapVersion', ParameterValue: '/cdk-bootstrap/hnb659fds/version' }];
    cfn.changesFor = () => [
      { Action: 'Remove', LogicalResourceId: 'CDKMetadata', ResourceType: 'AWS::CDK::Metadata' },
      { Action: 'Modify', LogicalResourceId: 'BackendDiscoveryBackendConfigA7FBF82F', ResourceType: 'AWS::SSM::Parameter', Replacement: 'False' },
    ];
    const r = await bootstrap(['--yes'], cfn);
    expect(r.code).toBe(ExitCode.OK);
    const [create] = cfn.calls('CreateChangeSetCommand');
    expect(create.input.StackName).toBe('TerraformStateBackend');
    expect(create.input.ChangeSetType).toBe('UPDATE');
    expect(create.input.Parameters).toEqual([
      { ParameterKey: 'BucketName', ParameterValue: `terraform-state-${FAKE_ACCOUNT}-eu-west-1` },
      { ParameterKey: 'LockTableName', ParameterValue: 'terraform-lock' },
    ]);
    expect(r.err).toContain(`(a stack made by cdk deploy); kept from the stack: BucketName (terraform-state-${FAKE_ACCOUNT}-eu-west-1), LockTableName (terraform-lock)`);
    expect(cfn.calls('ExecuteChangeSetCommand')).toHaveLength(1);
    expect(r.out).toContain('Stack TerraformStateBackend is UPDATE_COMPLETE in eu-west-1.');
  });

  test('a removal of the lock table (DYNAMODB to S3_LOCKFILE) is refused', async () => {
    const cfn = new FakeCloudFormation();
    existingStack(cfn);
    cfn.changesFor = () => [{ Action: 'Remove', LogicalResourceId: TABLE, ResourceType: 'AWS::DynamoDB::Table', PhysicalResourceId: 'my-lock' }];
    const r = await bootstrap(['--locking', 'S3_LOCKFILE', '--yes'], cfn);
    expect(r.code).toBe(ExitCode.REFUSED);
    expect(r.err).toContain('it would remove AWS::DynamoDB::Table BackendLockTable5C1C0CEA (my-lock), which has a fixed name');
    expect(cfn.calls('ExecuteChangeSetCommand')).toEqual([]);
  });

  test('no terminal and no --yes: not executed, says to pass --yes; on a terminal, "no" executes nothing', async () => {
    const cfn = new FakeCloudFormation();
    const r = await bootstrap([], cfn);
    expect(r.code).toBe(ExitCode.USAGE);
    expect(r.err).toContain('tfstate-ops: not executed (the change set was deleted): there is no terminal to ask on; pass --yes to execute the changes above without a prompt\n');
    expect(cfn.calls('ExecuteChangeSetCommand')).toEqual([]);
    // The empty stack a CREATE change set leaves (REVIEW_IN_PROGRESS) is deleted too.
    expect(cfn.calls('DeleteStackCommand')).toHaveLength(1);
    expect(cfn.stacks.size).toBe(0);

    const asked = new FakeCloudFormation();
    const no = await bootstrap([], asked, { interactive: true, answer: false });
    expect(no.code).toBe(ExitCode.REFUSED);
    expect(asked.calls('ExecuteChangeSetCommand')).toEqual([]);
    const yes = await bootstrap([], new FakeCloudFormation(), { interactive: true, answer: true });
    expect(yes.code).toBe(ExitCode.OK);
  });

  test('--dry-run: the change set made, shown and deleted; nothing executed, nothing left', async () => {
    const cfn = new FakeCloudFormation();
    const r = await bootstrap(['--dry-run', '--yes'], cfn);
    expect(r.code).toBe(ExitCode.OK);
    expect(r.out).toContain('(CREATE) for stack TerraformStateBackend');
    expect(r.err).toContain('dry run: change set tfstate-ops-bootstrap-');
    expect(cfn.calls('ExecuteChangeSetCommand')).toEqual([]);
    expect(cfn.changeSets.size).toBe(0);
    expect(cfn.stacks.size).toBe(0);
  });

  test('a stack already in REVIEW_IN_PROGRESS (someone else\'s CREATE change set): a CREATE change set, and the stack is not deleted after a dry run', async () => {
    const cfn = new FakeCloudFormation();
    cfn.addStack({ name: 'TerraformStateBackend', template: '{}', status: 'REVIEW_IN_PROGRESS' });
    const r = await bootstrap(['--dry-run'], cfn);
    expect(r.code).toBe(ExitCode.OK);
    expect(cfn.calls('CreateChangeSetCommand')[0].input.ChangeSetType).toBe('CREATE');
    expect(cfn.calls('DeleteStackCommand')).toEqual([]);
    expect(cfn.stacks.has('TerraformStateBackend')).toBe(true);
  });

  test('a stack left in ROLLBACK_COMPLETE: refused, with the command that deletes it', async () => {
    const cfn = new FakeCloudFormation();
    cfn.addStack({ name: 'TerraformStateBackend', template: '{}', status: 'ROLLBACK_COMPLETE' });
    const r = await bootstrap(['--yes'], cfn);
    expect(r.code).toBe(ExitCode.REFUSED);
    expect(r.err).toContain('stack TerraformStateBackend (eu-west-1) is in ROLLBACK_COMPLETE: its creation failed and was rolled back, and CloudFormation cannot update it. '
      + 'Delete it, then run this again: aws cloudformation delete-stack --stack-name TerraformStateBackend --region eu-west-1');
    expect(cfn.calls('CreateChangeSetCommand')).toEqual([]);
  });

  test('a bucket name taken (S3 BucketAlreadyExists in the stack events): named, with what to do and the rolled-back stack\'s delete command', async () => {
    const cfn = new FakeCloudFormation();
    cfn.onExecute = () => ({
      events: [
        { LogicalResourceId: STATE_BUCKET, ResourceType: 'AWS::S3::Bucket', ResourceStatus: 'CREATE_FAILED',
          ResourceStatusReason: 'Resource handler returned message: "taken-name already exists (Service: S3, Status Code: 409, Request ID: X)" '
            + '(RequestToken: t, HandlerErrorCode: AlreadyExists)' },
        { LogicalResourceId: STATE_BUCKET, ResourceType: 'AWS::S3::Bucket', ResourceStatus: 'DELETE_COMPLETE' },
      ],
      status: 'ROLLBACK_COMPLETE',
    });
    const r = await bootstrap(['--bucket', 'taken-name', '--yes'], cfn);
    expect(r.code).toBe(ExitCode.FAILURE);
    expect(r.err).toContain('CREATE_FAILED  AWS::S3::Bucket  BackendStateBucketBF5F84A2  Resource handler returned message');
    expect(r.err).toContain('tfstate-ops: stack TerraformStateBackend failed (ROLLBACK_COMPLETE): the bucket name taken-name is already taken (S3 BucketAlreadyExists: '
      + 'bucket names are global, across all AWS accounts). Pass another name with --bucket. The stack is left in ROLLBACK_COMPLETE: delete it before running this again: '
      + 'aws cloudformation delete-stack --stack-name TerraformStateBackend --region eu-west-1.\n');
  });

  test('an action CloudFormation was refused with the caller\'s credentials is named', async () => {
    const cfn = new FakeCloudFormation();
    cfn.onExecute = () => ({
      events: [{ LogicalResourceId: TABLE, ResourceType: 'AWS::DynamoDB::Table', ResourceStatus: 'CREATE_FAILED',
        ResourceStatusReason: `Resource handler returned message: "User: arn:aws:iam::${FAKE_ACCOUNT}:user/ci is not authorized to perform: dynamodb:CreateTable `
          + `on resource: arn:aws:dynamodb:eu-west-1:${FAKE_ACCOUNT}:table/terraform-lock because no identity-based policy allows the dynamodb:CreateTable action"` }],
      status: 'ROLLBACK_COMPLETE',
    });
    const r = await bootstrap(['--yes'], cfn);
    expect(r.code).toBe(ExitCode.FAILURE);
    expect(r.err).toContain('tfstate-ops: stack TerraformStateBackend failed (ROLLBACK_COMPLETE): dynamodb:CreateTable was refused: CloudFormation creates the backend '
      + 'with your credentials, so they need it (`tfstate-ops bootstrap --help` lists what bootstrap needs). Ask for dynamodb:CreateTable');
  });

  test('CloudFormation itself refused: the action named; no credentials: what to set', async () => {
    const cfn = new FakeCloudFormation();
    cfn.failWith.CreateChangeSetCommand = awsFault('AccessDenied', 403, `User: arn:aws:iam::${FAKE_ACCOUNT}:user/ci is not authorized to perform: `
    + `cloudformation:CreateChangeSet on resource: arn:aws:cloudformation:eu-west-1:${FAKE_ACCOUNT}:stack/TerraformStateBackend/*`);
    const r = await bootstrap(['--yes'], cfn);
    expect(r.code).toBe(ExitCode.FAILURE);
    expect(r.err).toContain('tfstate-ops: cloudformation:CreateChangeSet on arn:aws:cloudformation:eu-west-1:<account>:stack/TerraformStateBackend/* was refused (AccessDenied');
    expect(r.err).toContain('Ask for cloudformation:CreateChangeSet on that resource, or use credentials that have it (AWS_PROFILE).');

    const none = new FakeCloudFormation();
    none.failWith.DescribeStacksCommand = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    const n = await bootstrap(['--yes'], none);
    expect(n.code).toBe(ExitCode.FAILURE);
    expect(n.err).toMatch(/^tfstate-ops: no AWS credentials found: set AWS_PROFILE \(or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\)/);
  });

  test('a change set that fails for another reason: its reason, nothing executed', async () => {
    const cfn = new FakeCloudFormation();
    existingStack(cfn);
    cfn.changesFor = () => [];
    const orig = cfn.send.bind(cfn);
    cfn.send = async (c: any) => {
      const out = await orig(c);
      if (c.constructor.name === 'CreateChangeSetCommand') {
        const cs = cfn.changeSets.get(c.input.ChangeSetName)!;
        cs.reason = 'Parameters: [Foo] do not exist in the template';
      }
      return out;
    };
    const r = await bootstrap(['--yes'], cfn);
    expect(r.code).toBe(ExitCode.FAILURE);
    expect(r.err).toContain('the change set for stack TerraformStateBackend failed: Parameters: [Foo] do not exist in the template; nothing was changed');
    expect(cfn.calls('ExecuteChangeSetCommand')).toEqual([]);
  });
});
