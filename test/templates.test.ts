/**
 * The published templates (templates/, written by `npm run templates`): what
 * every file must be to serve a landing zone, that each is the app's stack
 * with parameters (same logical IDs; the same resources once CloudFormation
 * has resolved the parameters, default or not), that the StackSet inlines the
 * same text, and that each passes its cdk-nag packs. cfn-lint runs on them in
 * cfn-lint.test.ts, and the e2e suite deploys each (templates.e2e.test.ts).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Aspects, Duration, Stack } from 'aws-cdk-lib/core';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks } from 'cdk-nag';
import { buildBootstrapApp, nagFindings } from '../bin/app';
import { LockingMode, StateEncryption, TerraformStateBackendStack, TerraformStateBackendStackSet } from '../lib';
import { addBackendTemplateStack, synthesizeTemplate, templateApp } from '../lib/backend-template';
import { CATALOGUE, CatalogueTemplate, NagPack, templateFile } from '../scripts/templates/catalogue';
import { evaluate } from './support/cfn-eval';
import { normalize, ParameterValues, resolveTemplate, withoutNagMetadata } from './support/template-eval';

const ROOT = path.join(__dirname, '..');
const TEMPLATES = path.join(ROOT, 'templates');
const TEMPLATE_BODY_LIMIT = 51_200;

const text = (t: CatalogueTemplate) => fs.readFileSync(path.join(TEMPLATES, templateFile(t.id)), 'utf8');
const parsed = (t: CatalogueTemplate) => JSON.parse(text(t));
const backends = CATALOGUE.filter((t) => t.kind === 'backend');
const standalone = backends.filter((t) => !t.replicated);
const hardened = backends.filter((t) => t.replicated);
const replicaTemplate = CATALOGUE.find((t) => t.kind === 'replica')!;

/** Non-default values for every parameter a template has. */
const OTHER_VALUES = {
  BucketName: 'acme-tf-state',
  LockTableName: 'acme-tf-lock',
  StateKey: 'core/network.tfstate',
  NoncurrentVersionExpirationDays: 30,
  NoncurrentVersionsToRetain: 5,
  OrganizationId: 'o-a1b2c3d4e5',
  DiscoveryPrefix: '/acme/terraform/',
  ReplicaRegion: 'eu-central-1',
  SourceRegion: 'eu-west-1',
  SourceBucketName: 'acme-tf-state',
};

/** `OTHER_VALUES` for the parameters of `template`. */
function otherValues(template: { Parameters: Record<string, unknown> }): ParameterValues {
  return Object.fromEntries(Object.keys(template.Parameters).map((name) => [name, OTHER_VALUES[name as keyof typeof OTHER_VALUES]]));
}

/** The same non-default settings, as the construct's props. */
const OTHER_PROPS = {
  bucketName: 'acme-tf-state',
  stateKey: 'core/network.tfstate',
  noncurrentVersionExpiration: Duration.days(30),
  noncurrentVersionsToRetain: 5,
  organizationId: 'o-a1b2c3d4e5',
  discoveryPrefix: '/acme/terraform/',
};

/** The app's backend stack for a standalone template's choices, as `-c locking=... -c encryption=...` builds it. */
function appStack(t: CatalogueTemplate, extra: object = {}): Record<string, any> {
  const app = new App();
  const stack = new TerraformStateBackendStack(app, 'TerraformStateBackend', {
    backend: { locking: t.locking, encryption: t.encryption, ...extra },
  });
  return app.synth().getStackArtifact(stack.artifactId).template;
}

/** The app's stacks for `-c profile=hardened -c replicaRegion=eu-central-1 -c locking=...` in eu-west-1: [replica, backend]. */
function hardenedAppStacks(locking: LockingMode, context: Record<string, string> = {}): Array<Record<string, any>> {
  const app = new App({ context: { profile: 'hardened', replicaRegion: 'eu-central-1', locking, ...context } });
  const stacks = buildBootstrapApp(app, { CDK_DEFAULT_REGION: 'eu-west-1' });
  const assembly = app.synth();
  return [stacks.replica!, stacks.backend!].map((s) => assembly.getStackArtifact(s.artifactId).template);
}

const comparable = (resolved: { Resources: unknown; Outputs: unknown }) => ({
  Resources: withoutNagMetadata(resolved.Resources), Outputs: resolved.Outputs,
});
const appComparable = (template: Record<string, any>) =>
  comparable(normalize({ Resources: template.Resources, Outputs: template.Outputs ?? {} }) as any);

describe('every published template', () => {
  test('index.json lists every template of the catalogue, each file is there, and nothing else is', () => {
    const index = JSON.parse(fs.readFileSync(path.join(TEMPLATES, 'index.json'), 'utf8'));
    expect(index.templates.map((e: { file: string }) => e.file)).toEqual(CATALOGUE.map((t) => templateFile(t.id)));
    expect(fs.readdirSync(TEMPLATES).filter((f) => f.endsWith('.json') && f !== 'index.json').sort())
      .toEqual(CATALOGUE.map((t) => templateFile(t.id)).sort());
    // 3 locking modes x 2 encryptions, the replica, and a hardened backend per locking mode.
    expect(CATALOGUE).toHaveLength(10);
    for (const t of CATALOGUE) {
      const entry = index.templates.find((e: { file: string }) => e.file === templateFile(t.id));
      const template = parsed(t);
      expect(entry.bytes).toBe(Buffer.byteLength(text(t), 'utf8'));
      expect(entry.parameters.map((p: { name: string }) => p.name)).toEqual(Object.keys(template.Parameters));
      expect(entry.parameters.map((p: { default?: unknown }) => p.default)).toEqual(Object.values<any>(template.Parameters).map((p) => p.Default));
      for (const id of Object.values<string>(entry.outputs)) expect(template.Outputs[id]).toBeDefined();
      expect(Object.keys(entry.outputs)).toEqual(t.kind === 'replica' ? ['ReplicaBucketName']
        : ['BackendBlock', 'BackendConfigFile', 'StateBucketName', ...(t.locking === LockingMode.S3_LOCKFILE ? [] : ['LockTableName'])]);
    }
  });

  test.each(CATALOGUE.map((t) => [t.id, t] as const))('%s: at most 51,200 bytes, no assets, Lambda, custom resource, bootstrap rule or CDK metadata', (_id, t) => {
    const body = text(t);
    const template = parsed(t);
    expect(Buffer.byteLength(body, 'utf8')).toBeLessThanOrEqual(TEMPLATE_BODY_LIMIT);
    // Rules of the backend's own (assertions on parameters) would be welcome; the CDK bootstrap's check is not.
    const sections = ['AWSTemplateFormatVersion', 'Conditions', 'Description', 'Metadata', 'Outputs', 'Parameters', 'Resources', 'Rules'];
    expect(Object.keys(template).filter((k) => !sections.includes(k))).toEqual([]);
    expect(Object.keys(template.Rules ?? {})).not.toContain('CheckBootstrapVersion');
    expect(template.Transform).toBeUndefined();
    expect(body).not.toMatch(/BootstrapVersion|AssetParameters|cdk-hnb659fds|Fn::ImportValue|aws:cdk:path|aws:asset/);
    const types = Object.values<any>(template.Resources).map((r) => r.Type);
    expect(types.filter((type) => /^Custom::|^AWS::Lambda::|^AWS::CloudFormation::CustomResource$|^AWS::CDK::Metadata$/.test(type))).toEqual([]);
    // The text is the JSON, two-space indented: what the StackSet inlines and a CLI passes as TemplateBody.
    expect(body).toBe(`${JSON.stringify(template, undefined, 2)}\n`);
  });

  test.each(CATALOGUE.map((t) => [t.id, t] as const))('%s: every parameter has a description and a constraint', (_id, t) => {
    for (const [name, p] of Object.entries<any>(parsed(t).Parameters)) {
      expect({ name, description: typeof p.Description }).toEqual({ name, description: 'string' });
      const constrained = p.AllowedPattern !== undefined || p.AllowedValues !== undefined || p.MinValue !== undefined || p.MaxValue !== undefined;
      expect({ name, constrained }).toEqual({ name, constrained: true });
    }
  });
});

describe('each template is the app\'s stack with parameters', () => {
  test.each(standalone.map((t) => [t.id, t] as const))('%s: the same logical IDs, and the same resources and outputs with the defaults', (_id, t) => {
    const template = parsed(t);
    const app = appStack(t);
    expect(Object.keys(template.Resources)).toEqual(Object.keys(app.Resources));
    expect(Object.keys(template.Outputs)).toEqual(Object.keys(app.Outputs));
    expect(comparable(resolveTemplate(template))).toEqual(appComparable(app));
  });

  test.each(standalone.map((t) => [t.id, t] as const))('%s: with other values, the resources of the app\'s stack with the same props', (_id, t) => {
    const template = parsed(t);
    const app = appStack(t, { ...OTHER_PROPS, ...(t.locking === LockingMode.S3_LOCKFILE ? {} : { lockTableName: 'acme-tf-lock' }) });
    expect(comparable(resolveTemplate(template, otherValues(template)))).toEqual(appComparable(app));
  });

  /** The boundary's statements of a resolved template, by Sid and count: two per bucket, one on the key. */
  const boundary = (resolved: any) => {
    const sids = Object.values<any>(resolved.Resources)
      .filter((r) => r.Type === 'AWS::S3::BucketPolicy' || r.Type === 'AWS::KMS::Key')
      .flatMap((r) => (r.Properties.PolicyDocument ?? r.Properties.KeyPolicy).Statement.map((s: { Sid?: string }) => s.Sid))
      .filter((sid: string) => ['DenyOutsideOrganization', 'DenyBucketAdministrationOutsideOrganizationAndAccount'].includes(sid));
    return Object.fromEntries([...new Set<string>(sids)].map((sid) => [sid, sids.filter((x: string) => x === sid).length]));
  };
  const BOUNDARY = { DenyOutsideOrganization: 3, DenyBucketAdministrationOutsideOrganizationAndAccount: 2 };

  test('OrganizationId empty leaves the boundary out; set, it is the construct\'s boundary', () => {
    const template = parsed(standalone.find((t) => t.encryption === StateEncryption.KMS)!);
    expect(boundary(resolveTemplate(template))).toEqual({});
    expect(boundary(resolveTemplate(template, { OrganizationId: 'o-a1b2c3d4e5' }))).toEqual(BOUNDARY);
    // The replica's too: its bucket, its log bucket and its key.
    expect(boundary(resolveTemplate(parsed(replicaTemplate), { SourceRegion: 'eu-west-1' }))).toEqual({});
    expect(boundary(resolveTemplate(parsed(replicaTemplate), { SourceRegion: 'eu-west-1', OrganizationId: 'o-a1b2c3d4e5' }))).toEqual(BOUNDARY);
  });

  test('the condition holds under policy minimization too (a merged statement would lose it and deny everyone)', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'templates-minimize-'));
    try {
      const stack = addBackendTemplateStack(templateApp(outdir, { '@aws-cdk/aws-iam:minimizePolicies': true }), { backend: { encryption: StateEncryption.KMS } });
      const minimized = synthesizeTemplate(stack).template;
      expect(boundary(resolveTemplate(minimized))).toEqual({});
      expect(boundary(resolveTemplate(minimized, { OrganizationId: 'o-a1b2c3d4e5' }))).toEqual(BOUNDARY);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });

  test.each(hardened.map((t) => [t.id, t] as const))('%s and the replica: the app\'s hardened stacks, with the defaults and with other values', (_id, t) => {
    const replica = parsed(replicaTemplate);
    const template = parsed(t);
    const [appReplica, appBackend] = hardenedAppStacks(t.locking!);
    expect(Object.keys(template.Resources)).toEqual(Object.keys(appBackend.Resources));
    expect(Object.keys(replica.Resources)).toEqual(Object.keys(appReplica.Resources));
    expect(comparable(resolveTemplate(template, { ReplicaRegion: 'eu-central-1' }))).toEqual(appComparable(appBackend));
    // The app pins the replica stack to its region; the template takes the region it is deployed to.
    const inReplicaRegion = JSON.parse(JSON.stringify(replica).replace(/\{"Ref":"AWS::Region"\}/g, '"eu-central-1"'));
    // The app names the replica after the backend's region (CDK_DEFAULT_REGION), the template after SourceRegion.
    expect(comparable(resolveTemplate(inReplicaRegion, { SourceRegion: 'eu-west-1' }))).toEqual(appComparable(appReplica));

    const [otherReplica, otherBackend] = hardenedAppStacks(t.locking!, {
      bucketName: 'acme-tf-state', stateKey: 'core/network.tfstate', organizationId: 'o-a1b2c3d4e5', discoveryPrefix: '/acme/terraform/',
      ...(t.locking === LockingMode.S3_LOCKFILE ? {} : { lockTableName: 'acme-tf-lock' }),
    });
    const values = { ...otherValues(template), NoncurrentVersionExpirationDays: 90, NoncurrentVersionsToRetain: 10 };
    expect(comparable(resolveTemplate(template, values))).toEqual(appComparable(otherBackend));
    expect(comparable(resolveTemplate(inReplicaRegion, { SourceRegion: 'eu-west-1', SourceBucketName: 'acme-tf-state', OrganizationId: 'o-a1b2c3d4e5' })))
      .toEqual(appComparable(otherReplica));
  });

  /** A resolved value in `region` of account 123456789012 (the pseudo parameters CloudFormation gives a stack there). */
  const inRegion = (value: unknown, region: string) => evaluate(value, {
    pseudo: { 'AWS::AccountId': '123456789012', 'AWS::Region': region, 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com' },
  });

  test.each(hardened.map((t) => [t.id, t] as const))('%s replicates into the bucket and key the replica template makes for the same values', (_id, t) => {
    const backend = parsed(t);
    for (const [backendValues, replicaValues] of [
      // The defaults: both derive the names from the account and the backend's region.
      [{ ReplicaRegion: 'eu-central-1' }, { SourceRegion: 'eu-west-1' }],
      [{ ReplicaRegion: 'eu-central-1', BucketName: 'acme-tf-state' }, { SourceRegion: 'eu-west-1', SourceBucketName: 'acme-tf-state' }],
    ] as const) {
      const bucket = Object.values<any>((resolveTemplate(backend, backendValues).Resources as object))
        .find((r) => r.Properties?.ReplicationConfiguration)!.Properties;
      const destination = bucket.ReplicationConfiguration.Rules[0].Destination;
      // By their logical IDs, pinned: the app's replica stack has the same.
      const made = resolveTemplate(parsed(replicaTemplate), replicaValues).Resources as Record<string, any>;
      const replicaBucket = inRegion(made.ReplicaReplicaBucketAC938BE0.Properties.BucketName, 'eu-central-1');
      const alias = inRegion(made.ReplicaReplicaKeyAlias0C8414EB.Properties.AliasName, 'eu-central-1');
      const sourceName = backendValues.BucketName ?? 'terraform-state-123456789012-eu-west-1';
      expect(replicaBucket).toBe(`${sourceName}-replica`);
      expect(alias).toBe(`alias/${sourceName}-replica`);
      expect(inRegion(destination.Bucket, 'eu-west-1')).toBe(`arn:aws:s3:::${replicaBucket}`);
      expect(inRegion(destination.EncryptionConfiguration.ReplicaKmsKeyID, 'eu-west-1')).toBe(`arn:aws:kms:eu-central-1:123456789012:${alias}`);
    }
  });

  /** Whether a rule's assertion holds for these parameter values, in `region`. */
  function holds(assert: unknown, values: Record<string, string>, region: string): boolean {
    const value = (v: any): string => (v?.Ref === 'AWS::Region' ? region : v?.Ref !== undefined ? values[v.Ref] : v);
    const [[fn, args]] = Object.entries<any>(assert as object);
    if (fn === 'Fn::Not') return !holds(args[0], values, region);
    if (fn === 'Fn::Equals') return value(args[0]) === value(args[1]);
    throw new Error(`cannot evaluate ${fn}`);
  }

  test('the replica template refuses SourceRegion equal to the region it is deployed to; the backend, ReplicaRegion equal to its own', () => {
    const [replicaRule] = Object.values<any>(parsed(replicaTemplate).Rules);
    expect(replicaRule.Assertions).toHaveLength(1);
    expect(holds(replicaRule.Assertions[0].Assert, { SourceRegion: 'eu-west-1' }, 'eu-central-1')).toBe(true);
    expect(holds(replicaRule.Assertions[0].Assert, { SourceRegion: 'eu-central-1' }, 'eu-central-1')).toBe(false);
    expect(replicaRule.Assertions[0].AssertDescription).toMatch(/^SourceRegion \(the backend's region\) is the region this replica stack is being deployed to/);
    for (const t of hardened) {
      const [rule] = Object.values<any>(parsed(t).Rules);
      expect(holds(rule.Assertions[0].Assert, { ReplicaRegion: 'eu-central-1' }, 'eu-west-1')).toBe(true);
      expect(holds(rule.Assertions[0].Assert, { ReplicaRegion: 'eu-west-1' }, 'eu-west-1')).toBe(false);
    }
  });
});

describe('TerraformStateBackendStackSet inlines the published template', () => {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;
  // What `cdk synth` of the app adds to the context: cdk.json's feature flags and the CLI's switches.
  const cliContext = { ...cdkJson, 'aws:cdk:enable-path-metadata': true, 'aws:cdk:enable-asset-metadata': true, 'aws:cdk:version-reporting': true };

  test.each(standalone.map((t) => [t.id, t] as const))('%s: byte for byte, for the same settings, also under the CLI\'s context', (_id, t) => {
    const body = (context: Record<string, unknown>) => new TerraformStateBackendStackSet(new Stack(new App({ context }), 'Org'), 'StackSet', {
      organizationalUnitIds: ['ou-ab12-cd34ef56'], regions: ['eu-west-1'], backend: { locking: t.locking, encryption: t.encryption },
    }).templateBody;
    expect(body({})).toBe(text(t));
    expect(body(cliContext)).toBe(text(t));
  });

  test('the app\'s mode=org stack inlines it, and stays under the inline template limit itself', () => {
    const app = new App({ context: { ...cliContext, mode: 'org', organizationalUnits: 'ou-ab12-cd34ef56', regions: 'eu-west-1', encryption: 'KMS', locking: 'DYNAMODB_AND_S3_LOCKFILE' } });
    const stacks = buildBootstrapApp(app);
    const outer = app.synth().getStackArtifact(stacks.stackSet!.artifactId).template;
    const set = Object.values<any>(outer.Resources).find((r) => r.Type === 'AWS::CloudFormation::StackSet');
    expect(set.Properties.TemplateBody).toBe(text(CATALOGUE.find((t) => t.id === 'backend-dynamodb-and-s3-lockfile-kms')!));
    expect(Buffer.byteLength(JSON.stringify(outer), 'utf8')).toBeLessThanOrEqual(TEMPLATE_BODY_LIMIT);
  });
});

describe('cdk-nag', () => {
  const PACKS: Record<NagPack, () => object> = {
    'AwsSolutions': () => new AwsSolutionsChecks(),
    'HIPAA.Security': () => new HIPAASecurityChecks(),
    'NIST.800.53.R5': () => new NIST80053R5Checks(),
    'PCI.DSS.321': () => new PCIDSS321Checks(),
  };
  let outdir: string;
  beforeAll(() => {
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'templates-nag-'));
  });
  afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

  function findings(build: (app: App) => Stack, packs: NagPack[]): string[] {
    const app = templateApp(fs.mkdtempSync(path.join(outdir, 'app-')));
    build(app);
    for (const pack of packs) Aspects.of(app).add(PACKS[pack]() as any);
    return nagFindings(app.synth());
  }

  test.each(CATALOGUE.map((t) => [t.id, t.nagPacks.join(', '), t] as const))('%s: no finding of %s', (_id, _packs, t) => {
    expect(findings((app) => t.build(app), t.nagPacks)).toEqual([]);
  });

  test('the check can fail: a template without access logs is reported (AwsSolutions-S1)', () => {
    expect(findings((app) => addBackendTemplateStack(app, { backend: { serverAccessLogs: false } }), ['AwsSolutions'])).toEqual([
      expect.stringMatching(/AwsSolutions-S1: /),
    ]);
  });
});
