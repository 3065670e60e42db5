import * as fs from 'fs';
import * as path from 'path';
import { App, LegacyStackSynthesizer, Token } from 'aws-cdk-lib/core';
import { Template } from 'aws-cdk-lib/assertions';
import { CfnBucket } from 'aws-cdk-lib/aws-s3';
import { buildBootstrapApp, ContextError, nagFindings, nextSteps, readBootstrapContext } from '../bin/app';

/** What the CDK CLI gives the app: the region it deploys to. */
const CLI_ENV = { CDK_DEFAULT_REGION: 'eu-west-1' };

function synthApp(context: Record<string, string> = {}) {
  const app = new App({ context });
  const stack = buildBootstrapApp(app, CLI_ENV).backend!;
  const assembly = app.synth();
  return { app, stack, assembly, artifact: assembly.getStackArtifact(stack.artifactId) };
}

describe('bootstrap app', () => {
  test('with no context: one environment-agnostic stack named TerraformStateBackend', () => {
    const { assembly, artifact } = synthApp();
    expect(assembly.stacks.map((s) => s.stackName)).toEqual(['TerraformStateBackend']);
    expect(artifact.environment).toEqual({ account: 'unknown-account', region: 'unknown-region', name: 'aws://unknown-account/unknown-region' });
  });

  test('needs no CDK bootstrap: no assets, no bootstrap version, no deploy role, an inline template', () => {
    const { assembly, artifact, stack } = synthApp();
    expect(stack.synthesizer).toBeInstanceOf(LegacyStackSynthesizer);
    expect(artifact.assets).toEqual([]);
    expect(assembly.artifacts.filter((a) => a.constructor.name === 'AssetManifestArtifact')).toEqual([]);
    expect(artifact.requiresBootstrapStackVersion).toBeUndefined();
    expect(artifact.assumeRoleArn).toBeUndefined();
    expect(artifact.cloudFormationExecutionRoleArn).toBeUndefined();
    expect(artifact.stackTemplateAssetObjectUrl).toBeUndefined();
    const bytes = fs.statSync(path.join(assembly.directory, artifact.templateFile)).size;
    expect(bytes).toBeLessThan(51_200);
  });

  test('has no custom resources, Lambda functions or parameters', () => {
    const { artifact } = synthApp();
    const template = artifact.template;
    const types = Object.values<{ Type: string }>(template.Resources).map((r) => r.Type);
    expect(types.filter((t) => t.startsWith('Custom::') || t.startsWith('AWS::Lambda::') || t === 'AWS::CloudFormation::CustomResource')).toEqual([]);
    expect(template.Parameters).toBeUndefined();
  });

  test('runs cdk-nag AwsSolutions and finds nothing', () => {
    const { assembly, artifact } = synthApp();
    expect(nagFindings(assembly)).toEqual([]);
    // The pack did run: cdk-nag's report lists the rules it checked.
    const reports = fs.readdirSync(assembly.directory).filter((f) => /^AwsSolutions-.*NagReport\.csv$/.test(f));
    expect(reports).toHaveLength(1);
    const report = fs.readFileSync(path.join(assembly.directory, reports[0]), 'utf8');
    expect(report).toContain(`"AwsSolutions-S1","${artifact.stackName}/Backend/StateBucket/Resource","Compliant"`);
  });

  test('reads bucketName, lockTableName, stateKey, workspaceKeyPrefix and stackName from context', () => {
    const { assembly, stack } = synthApp({
      stackName: 'TfBackend', bucketName: 'acme-tf-state', lockTableName: 'acme-locks', stateKey: 'core/terraform.tfstate', workspaceKeyPrefix: 'ws',
    });
    expect(assembly.stacks.map((s) => s.stackName)).toEqual(['TfBackend']);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'acme-tf-state' });
    template.hasResourceProperties('AWS::DynamoDB::Table', { TableName: 'acme-locks' });
    expect(stack.backend.stateKey).toBe('core/terraform.tfstate');
    expect(stack.backend.workspaceKeyPrefix).toBe('ws');
  });

  test.each([
    ['S3_LOCKFILE', 'KMS'],
    ['DYNAMODB_AND_S3_LOCKFILE', 'KMS_MANAGED'],
  ])('reads locking=%s and encryption=%s from context, still with zero cdk-nag findings', (locking, encryption) => {
    const { assembly, stack } = synthApp({ locking, encryption });
    expect(stack.backend.locking).toBe(locking);
    expect(stack.backend.encryption).toBe(encryption);
    expect(nagFindings(assembly)).toEqual([]);
  });

  test('rejects an unknown locking or encryption value, naming the context key', () => {
    expect(() => synthApp({ locking: 'FILE' })).toThrow('`locking` must be one of DYNAMODB, S3_LOCKFILE, DYNAMODB_AND_S3_LOCKFILE, got "FILE"');
    expect(() => synthApp({ encryption: 'sse' })).toThrow('`encryption` must be one of S3_MANAGED, KMS_MANAGED, KMS, got "sse"');
  });

  test('the feature flags in cdk.json leave the templates as the tests see them', () => {
    const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8'));
    expect(Object.keys(cdkJson.context).length).toBeGreaterThan(80);
    const templates = (flags: Record<string, unknown>) => {
      const app = new App({ context: { ...flags, replicaRegion: 'eu-central-1', encryption: 'KMS' } });
      const stacks = buildBootstrapApp(app, CLI_ENV);
      const assembly = app.synth();
      return [stacks.backend!, stacks.replica!].map((stack) => assembly.getStackArtifact(stack.artifactId).template);
    };
    expect(templates(cdkJson.context)).toEqual(templates({}));
  });
});

/** The faults a context gives, or [] when it is fine. */
function contextFaults(context: Record<string, unknown>, env: Record<string, string> = CLI_ENV): string[] {
  try {
    readBootstrapContext(new App({ context }), env);
    return [];
  } catch (e) {
    expect(e).toBeInstanceOf(ContextError);
    expect((e as Error).message.split('\n')[0]).toBe('Invalid context for the bootstrap app (-c key=value):');
    return (e as Error).message.split('\n').slice(1).map((line) => line.replace(/^ {2}- /, ''));
  }
}

describe('bootstrap app context', () => {
  test.each([
    ['bucketname', 'bucketName'],
    ['BucketName', 'bucketName'],
    ['lockTable', 'lockTableName'],
    ['replica-region', 'replicaRegion'],
    ['region', 'regions'],
    ['organisationId', 'organizationId'],
  ])('refuses the unknown key %s, suggesting %s', (key, closest) => {
    expect(contextFaults({ [key]: 'x' })).toEqual([`\`${key}\` is not a context key of this app; did you mean \`${closest}\`?`]);
  });

  test('refuses an unknown key with nothing close, listing the keys', () => {
    expect(contextFaults({ flavour: 'vanilla' })).toEqual([
      '`flavour` is not a context key of this app, which reads stackName, bucketName, lockTableName, stateKey, workspaceKeyPrefix, '
      + 'locking, encryption, stateHistoryAdmins, replicaRegion, profile, organizationId, discoveryPrefix, mode, organizationalUnits, regions',
    ]);
  });

  test('does not judge the keys of the CDK CLI, aws-cdk-lib and cdk.json (they hold ":" or "/")', () => {
    expect(contextFaults({
      'aws:cdk:version-reporting': false,
      'aws:cdk:bundling-stacks': ['**'],
      '@aws-cdk/core:failSynthOnValidationErrors': true,
      '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
      'availability-zones:account=123456789012:region=eu-west-1': ['eu-west-1a'],
      ...JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')).context,
    })).toEqual([]);
  });

  test('names the key the user typed: replicaRegion, not replication.region', () => {
    expect(contextFaults({ replicaRegion: 'eu-central1' })).toEqual(['`replicaRegion` must be an AWS region name such as "eu-central-1", got "eu-central1"']);
  });

  test('names organizationalUnits, and says root IDs are accepted too', () => {
    expect(contextFaults({ mode: 'org', organizationalUnits: 'abcd', regions: 'eu-west-1' })).toEqual([
      '`organizationalUnits` must hold organizational unit IDs such as "ou-ab12-cd34ef56" or the root\'s ID such as "r-ab12", got "abcd"',
    ]);
    expect(contextFaults({ mode: 'org', organizationalUnits: 'r-ab12, ou-ab12-cd34ef56', regions: 'eu-west-1' })).toEqual([]);
  });

  test.each<[string, Record<string, string>, string]>([
    ['bucketName', { bucketName: 'acme_state' }, '`bucketName` may contain only lowercase letters, digits, "." and "-", got "_" in "acme_state"'],
    ['lockTableName', { lockTableName: 'tf lock' }, '`lockTableName` may contain only letters, digits, "_", "." and "-", got " " in "tf lock"'],
    ['stateKey', { stateKey: '/terraform.tfstate' }, '`stateKey` must not start or end with "/", got "/terraform.tfstate"'],
    ['workspaceKeyPrefix', { workspaceKeyPrefix: 'env/' }, '`workspaceKeyPrefix` must not start or end with "/", got "env/"'],
    ['stateHistoryAdmins', { stateHistoryAdmins: 'arn:aws:iam::123456789012:role/Admin,admin' },
      '`stateHistoryAdmins` must hold IAM principal ARNs such as "arn:aws:iam::123456789012:role/StateAdmin", got "admin"'],
    ['organizationId', { organizationId: 'o-123' }, '`organizationId` must be "o-" and 10 to 32 lowercase letters or digits, got "o-123"'],
    ['discoveryPrefix', { discoveryPrefix: 'terraform' }, '`discoveryPrefix` must start and end with "/"'],
  ])('checks %s by the construct\'s rule, naming the key', (_key, context, fault) => {
    const faults = contextFaults(context);
    expect(faults).toHaveLength(1);
    expect(faults[0]).toContain(fault);
  });

  test.each<[string, Record<string, string>]>([
    ['organizationalUnits', { organizationalUnits: 'ou-ab12-cd34ef56' }],
    ['regions', { regions: 'eu-west-1' }],
  ])('refuses %s without mode=org', (key, context) => {
    expect(contextFaults(context)).toEqual([`\`${key}\` applies only with \`mode=org\`: it names where the StackSet deploys`]);
  });

  test.each<[string, string]>([
    ['replicaRegion', 'replicate with per-account stacks (`mode=account`)'],
    ['bucketName', 'bucket names are global'],
  ])('refuses %s with mode=org', (key, why) => {
    const faults = contextFaults({ mode: 'org', organizationalUnits: 'ou-ab12-cd34ef56', regions: 'eu-west-1', [key]: 'eu-central-1' });
    expect(faults).toHaveLength(1);
    expect(faults[0]).toMatch(new RegExp(`^\`${key}\` applies only with \`mode=account\`: `));
    expect(faults[0]).toContain(why);
  });

  test('reads enum values in any case', () => {
    const ctx = readBootstrapContext(new App({
      context: { mode: 'ORG', profile: 'Default', locking: 'dynamodb', encryption: 'kms_managed', organizationalUnits: 'r-ab12', regions: 'eu-west-1' },
    }));
    expect(ctx).toMatchObject({ mode: 'org', profile: 'default', locking: 'DYNAMODB', encryption: 'KMS_MANAGED' });
    const { stack } = synthApp({ locking: 's3_lockfile', encryption: 'Kms' });
    expect(stack.backend.locking).toBe('S3_LOCKFILE');
    expect(stack.backend.encryption).toBe('KMS');
  });

  test('mode=org with profile=hardened says once that the hardened profile is account mode only', () => {
    expect(contextFaults({ mode: 'org', profile: 'hardened', organizationalUnits: 'ou-ab12-cd34ef56', regions: 'eu-west-1' })).toEqual([
      '`profile=hardened` is for `mode=account` only: it adds a replica stack, which a StackSet cannot deploy before each backend',
    ]);
  });

  test('refuses repeated OU IDs like repeated regions', () => {
    expect(contextFaults({ mode: 'org', organizationalUnits: 'ou-ab12-cd34ef56,r-ab12,ou-ab12-cd34ef56', regions: 'eu-west-1,us-east-1,eu-west-1' })).toEqual([
      '`organizationalUnits` must not repeat an organizational unit, got "ou-ab12-cd34ef56" twice',
      '`regions` must not repeat a region, got "eu-west-1" twice',
    ]);
  });

  test('reports every fault at once, before building anything', () => {
    const app = new App({ context: { bucketname: 'x', replicaRegion: 'mars', regions: 'eu-west-1', locking: 'FILE' } });
    expect(() => buildBootstrapApp(app, CLI_ENV)).toThrow(ContextError);
    expect(app.node.children).toEqual([]);
    expect(contextFaults({ bucketname: 'x', replicaRegion: 'mars', regions: 'eu-west-1', locking: 'FILE' })).toHaveLength(4);
  });
});

describe('a replicated backend and its replica', () => {
  /** The backend's and the replica's stacks of the app with `context`, as the CLI would run it in eu-west-1. */
  function replicated(context: Record<string, string>) {
    const app = new App({ context: { replicaRegion: 'eu-central-1', ...context } });
    const { backend, replica } = buildBootstrapApp(app, CLI_ENV);
    app.synth();
    return { backend: backend!, replica: replica!, app };
  }

  test('refuses a replicaRegion that is the backend\'s own region, at synth time', () => {
    expect(contextFaults({ replicaRegion: 'eu-west-1' })).toEqual([
      '`replicaRegion` must differ from the backend\'s region, got "eu-west-1" for both (the backend\'s region is the one the CDK CLI deploys to, ' +
      'CDK_DEFAULT_REGION, from AWS_REGION or your profile): replication within one region does not survive the loss of that region; ' +
      'choose another `replicaRegion`',
    ]);
  });

  test('needs the region the CLI deploys to, and says how to give it', () => {
    expect(contextFaults({ replicaRegion: 'eu-central-1' }, {})).toEqual([expect.stringContaining(
      '`replicaRegion` needs the region the backend stack is deployed to, to name its replica after it, and CDK_DEFAULT_REGION is not set')]);
    expect(contextFaults({}, {})).toEqual([]);
  });

  test('the replica is the backend\'s own: named after its bucket, in a stack named after its region', () => {
    const { backend, replica } = replicated({});
    expect(replica.stackName).toBe('TerraformStateBackendReplica-eu-west-1');
    const resolved = (value: string) => JSON.stringify(replica.resolve(value));
    expect(resolved(replica.replica.bucketName)).toBe(JSON.stringify({ 'Fn::Join': ['', ['terraform-state-', { Ref: 'AWS::AccountId' }, '-eu-west-1-replica']] }));
    // The backend stack stays environment-agnostic: its names still come from AWS::Region, and resolve to the same name.
    expect(Token.isUnresolved(backend.region)).toBe(true);
    const stateBucket = backend.resolve((backend.backend.bucket.node.defaultChild as CfnBucket).bucketName);
    expect(stateBucket).toEqual({ 'Fn::Join': ['', ['terraform-state-', { Ref: 'AWS::AccountId' }, '-', { Ref: 'AWS::Region' }]] });
    // With a bucketName, the replica is named after it.
    expect(replicated({ bucketName: 'acme-tf-state' }).replica.replica.bucketName).toBe('acme-tf-state-replica');
  });

  test('the backend refuses at deploy time a region other than the one its replica was made for, and its own replica region', () => {
    const { backend } = replicated({});
    const rules = Template.fromStack(backend).toJSON().Rules;
    expect(Object.values<any>(rules).map((r) => r.Assertions[0].Assert)).toEqual([
      { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-central-1'] }] },
      { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] },
    ]);
    expect(Object.values<any>(rules)[1].Assertions[0].AssertDescription).toBe('This stack was synthesized for eu-west-1 (CDK_DEFAULT_REGION), ' +
      'and its replica stack TerraformStateBackendReplica-eu-west-1 is named for it: deploy it to eu-west-1, or synthesize again with ' +
      'AWS_REGION set to the region you deploy to.');
  });

  test('two backends in two regions replicating into one region get two replica stacks and buckets', () => {
    const names = ['eu-west-1', 'us-east-1'].map((region) => {
      const app = new App({ context: { replicaRegion: 'eu-central-1' } });
      const { replica } = buildBootstrapApp(app, { CDK_DEFAULT_REGION: region });
      return [replica!.stackName, JSON.stringify(replica!.resolve(replica!.replica.bucketName))];
    });
    expect(names[0][0]).not.toBe(names[1][0]);
    expect(names[0][1]).not.toBe(names[1][1]);
  });
});

describe('next steps after a synth', () => {
  test('name the deploy command with the context given, the output holding the block, and the discovery parameters', () => {
    const context = { bucketName: 'acme-tf-state', stateHistoryAdmins: 'arn:aws:iam::123456789012:role/Admin' };
    const { app, stack, assembly, artifact } = synthApp(context);
    const text = nextSteps(app, { backend: stack }, assembly, CLI_ENV);
    const output = Object.keys(artifact.template.Outputs).find((id) => id.startsWith('BackendBackendBlock'))!;
    expect(JSON.stringify(artifact.template.Outputs[output].Value)).toContain('backend \\"s3\\"');
    expect(text).toContain('npx cdk deploy TerraformStateBackend -c bucketName=acme-tf-state -c stateHistoryAdmins=arn:aws:iam::123456789012:role/Admin\n');
    expect(text).toContain(`The stack output ${output} holds the`);
    expect(text).toContain(`--query "Stacks[0].Outputs[?OutputKey=='${output}'].OutputValue" --output text > backend.tf`);
    expect(text).toContain('SSM parameters /terraform/backend/bucket, /terraform/backend/region, /terraform/backend/lock-table and /terraform/backend/backend-config.');
  });

  test('deploy --all with a replica, and the StackSet\'s targets in mode org', () => {
    const withReplica = new App({ context: { replicaRegion: 'eu-central-1' } });
    const replicaStacks = buildBootstrapApp(withReplica, CLI_ENV);
    expect(nextSteps(withReplica, replicaStacks, withReplica.synth(), CLI_ENV))
      .toContain('npx cdk deploy --all -c replicaRegion=eu-central-1      # TerraformStateBackendReplica-eu-west-1 (in eu-central-1) first\n');

    const org = new App({ context: { mode: 'org', organizationalUnits: 'ou-ab12-cd34ef56', regions: 'eu-west-1,us-east-1' } });
    const stacks = buildBootstrapApp(org, CLI_ENV);
    const text = nextSteps(org, stacks, org.synth(), CLI_ENV);
    expect(text).toContain('npx cdk deploy TerraformStateBackendStackSet -c mode=org -c organizationalUnits=ou-ab12-cd34ef56 -c regions=eu-west-1,us-east-1\n');
    expect(text).toContain('into every account of ou-ab12-cd34ef56, in eu-west-1 and us-east-1.');
    expect(text).toMatch(/the stack output BackendBackendBlock[0-9A-F]{8} holds the/);
  });
});
