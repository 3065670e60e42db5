/**
 * End to end, `tfstate-ops inventory`, `diff`, `restore --dry-run` and several backends at
 * once, with the real Terraform on one backend deployed into one moto_server: the default
 * `TerraformStateBackendStack` (DYNAMODB), created by moto's CloudFormation from its
 * template as cli.e2e.test.ts does, found through its discovery parameters.
 *
 * The backend holds, written by Terraform itself: configuration alpha applied twice (the
 * second apply replaces terraform_data.this and adds terraform_data.extra[0]) and in a
 * workspace (env:/staging/...); beta applied and destroyed (no resources); gamma locked by
 * a SIGKILLed apply; delta applied, then its digest item tampered with; and a digest item
 * whose state never existed. `inventory --json` must report each exactly.
 *
 * Several backends at once: moto's Organizations (an organization, one member account
 * made with CreateAccount) and STS (AssumeRole answers for any role ARN, and moto then
 * serves the role's account): the member account gets a backend of its own (a bucket,
 * its discovery parameter and a state object, written with the assumed role's
 * credentials); a second member has no backend at all, so it is reported not reached.
 * moto does not evaluate the role's trust policy or IAM: that a refused AssumeRole is a
 * line of the report is proven on fakes (cli/test/fleet.test.ts).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CreateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateAccountCommand, CreateOrganizationCommand, DescribeCreateAccountStatusCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { CreateBucketCommand, ListObjectVersionsCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { App } from 'aws-cdk-lib/core';
import { TerraformStateBackendStack } from '../../lib';
import { E2E_REGION } from '../support/cdk-cli';
import { MotoServer, MOTO_ACCOUNT, startMotoServer } from '../support/moto-server';
import { emulatorBackendConfig } from '../support/terraform';
import { mustExit, tfstateOps, ToolRun } from '../support/tfstate-ops';
import { describeWithTools } from '../support/tools';
import {
  Backend, digestItem, discoveryParameters, emulatorClients, EmulatorClients, getObject, killWhileLocked, md5, must, runners, ScenarioRuns, tearDown,
} from './scenarios';

jest.setTimeout(120_000);

const STACK = 'TerraformStateBackend';
const TAMPERED = md5('tampered by hand');
const ORPHAN = 'gone/terraform.tfstate';

interface Fleet {
  readonly inventory: ToolRun;
  readonly alphaVersions: string[];
  readonly diff: ToolRun;
  readonly diffJson: ToolRun;
  readonly dryRun: ToolRun;
  readonly versionsAfterDryRun: string[];
  readonly digestAfterDryRun?: string;
  readonly member: string;
  readonly empty: string;
  readonly organization: ToolRun;
  readonly durationMs: number;
}

describeWithTools(['terraform', 'moto_server'], 'tfstate-ops inventory, diff and several backends, with Terraform (moto_server)', () => {
  let moto: MotoServer;
  let aws: EmulatorClients;
  let root: string;
  let b: Backend & { discovery: string };
  const runs = new ScenarioRuns();
  const timings = runs.timings;
  let fleet: Promise<Fleet>;

  const ops = (argv: readonly string[]) => tfstateOps([...argv, '--discovery', b.discovery], { endpoint: moto.endpoint });

  async function versionIds(key: string): Promise<string[]> {
    const out = await b.s3.send(new ListObjectVersionsCommand({ Bucket: b.bucket, Prefix: key }));
    return (out.Versions ?? []).filter((v) => v.Key === key).map((v) => v.VersionId!);
  }

  /** A member account of moto's organization, and a role's credentials in it. */
  async function memberAccount(org: OrganizationsClient, name: string): Promise<string> {
    const made = await org.send(new CreateAccountCommand({ AccountName: name, Email: `${name}@example.com` }));
    const status = await org.send(new DescribeCreateAccountStatusCommand({ CreateAccountRequestId: made.CreateAccountStatus!.Id! }));
    return status.CreateAccountStatus!.AccountId!;
  }

  async function scenario(): Promise<Fleet> {
    const t0 = Date.now();
    const key = (name: string) => [`key=${name}/terraform.tfstate`];
    const [alpha] = runners(b, 'alpha', ['one'], key('alpha'));
    const [beta] = runners(b, 'beta', ['one'], key('beta'));
    const [gamma] = runners(b, 'gamma', ['one'], key('gamma'));
    const [delta] = runners(b, 'delta', ['one'], key('delta'));
    await Promise.all([alpha, beta, gamma, delta].map(async (d) => must(await d.init())));
    await Promise.all([
      (async () => {
        must(await alpha.apply({ run: 'first' }));
        must(await alpha.apply({ run: 'second', extraResources: 1 }));
        must(await alpha.run(['workspace', 'new', 'staging']));
        must(await alpha.apply({ run: 'staging' }));
        must(await alpha.run(['workspace', 'select', 'default']));
      })(),
      (async () => {
        must(await beta.apply());
        must(await beta.run(['destroy', '-auto-approve', '-input=false']));
      })(),
      (async () => {
        must(await gamma.apply());
        await killWhileLocked(b, 'gamma/terraform.tfstate', gamma);
      })(),
      (async () => {
        must(await delta.apply());
        await b.ddb!.send(new PutItemCommand({ TableName: b.table, Item: { LockID: { S: `${b.bucket}/delta/terraform.tfstate-md5` }, Digest: { S: TAMPERED } } }));
      })(),
      b.ddb!.send(new PutItemCommand({ TableName: b.table, Item: { LockID: { S: `${b.bucket}/${ORPHAN}-md5` }, Digest: { S: md5('gone') } } })),
    ]);
    const inventory = await ops(['inventory', '--json']);
    const alphaVersions = await versionIds('alpha/terraform.tfstate');
    const diff = await ops(['diff', 'alpha/terraform.tfstate']);
    const diffJson = await ops(['diff', 'alpha/terraform.tfstate', '--json']);
    const digestBefore = await digestItem(b, 'alpha/terraform.tfstate');
    const dryRun = await ops(['restore', 'alpha/terraform.tfstate', '--version-id', alphaVersions[alphaVersions.length - 1], '--dry-run']);
    const versionsAfterDryRun = await versionIds('alpha/terraform.tfstate');
    const digestAfterDryRun = await digestItem(b, 'alpha/terraform.tfstate');
    if (digestAfterDryRun !== digestBefore) throw new Error(`restore --dry-run changed the digest: ${digestBefore} -> ${digestAfterDryRun}`);

    // Several backends: the organization (moto's: its management account is MOTO_ACCOUNT), a member with a backend, one without.
    const common = { endpoint: moto.endpoint, region: E2E_REGION, credentials: { accessKeyId: 'e2e', secretAccessKey: 'e2e' } };
    const org = new OrganizationsClient({ ...common, region: 'us-east-1' });
    await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    const member = await memberAccount(org, 'member');
    const empty = await memberAccount(org, 'empty');
    org.destroy();
    const sts = new STSClient(common);
    const assumed = await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${member}:role/OnCall`, RoleSessionName: 'e2e-setup' }));
    sts.destroy();
    const c = assumed.Credentials!;
    const as = { ...common, credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken } };
    const memberS3 = new S3Client({ ...as, forcePathStyle: true });
    const memberSsm = new SSMClient(as);
    const memberBucket = `terraform-state-${member}-${E2E_REGION}`;
    await memberS3.send(new CreateBucketCommand({ Bucket: memberBucket }));
    await memberS3.send(new PutObjectCommand({ Bucket: memberBucket, Key: 'app/terraform.tfstate', Body: (await getObject(b, 'alpha/terraform.tfstate'))!.body }));
    await memberSsm.send(new PutParameterCommand({
      Name: `${b.discovery}backend-config`, Type: 'String',
      Value: `bucket = "${memberBucket}"\nkey = "terraform.tfstate"\nregion = "${E2E_REGION}"\nuse_lockfile = true\n`,
    }));
    memberS3.destroy();
    memberSsm.destroy();
    const organization = await ops(['inventory', '--organization', '--role-name', 'OnCall', '--regions', E2E_REGION, '--json']);
    // The text outputs docs/on-call-fleet.md shows, written where FLEET_DOC_OUTPUT says (not asserted beyond their exit codes).
    if (process.env.FLEET_DOC_OUTPUT) {
      const texts: Array<[string, string[]]> = [
        ['inventory', ['inventory']],
        ['inventory-stale', ['inventory', '--stale-after', '1s', '--sort', 'modified']],
        ['diff', ['diff', 'alpha/terraform.tfstate']],
        ['diff-values', ['diff', 'alpha/terraform.tfstate', '--values']],
        ['locks-organization', ['locks', '--organization', '--role-name', 'OnCall', '--regions', E2E_REGION]],
        ['inventory-organization', ['inventory', '--organization', '--role-name', 'OnCall', '--regions', E2E_REGION, '--prefix', 'a']],
      ];
      fs.mkdirSync(process.env.FLEET_DOC_OUTPUT, { recursive: true });
      for (const [name, argv] of texts) {
        const t = await ops(argv);
        fs.writeFileSync(path.join(process.env.FLEET_DOC_OUTPUT, `${name}.txt`), `$ tfstate-ops ${argv.join(' ')} --discovery ${b.discovery}\n${t.stdout}${t.stderr ? `[stderr]\n${t.stderr}` : ''}[exit ${t.code}]\n`);
      }
      fs.writeFileSync(path.join(process.env.FLEET_DOC_OUTPUT, 'restore-dry-run.txt'), `${dryRun.stdout}[exit ${dryRun.code}]\n`);
    }
    return {
      inventory, alphaVersions, diff, diffJson, dryRun, versionsAfterDryRun, digestAfterDryRun, member, empty, organization,
      durationMs: Date.now() - t0,
    };
  }

  beforeAll(async () => {
    const t0 = Date.now();
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-fleet-'));
    const starting = startMotoServer();
    await new Promise((r) => setTimeout(r, 100));
    const app = new App();
    const stack = new TerraformStateBackendStack(app, STACK);
    const template = app.synth().getStackByName(STACK).template;
    moto = await starting;
    timings.motoStart = Date.now() - t0;
    aws = emulatorClients(moto.endpoint);
    await aws.cfn.send(new CreateStackCommand({ StackName: STACK, TemplateBody: JSON.stringify(template) }));
    for (;;) {
      const [s] = (await aws.cfn.send(new DescribeStacksCommand({ StackName: STACK }))).Stacks ?? [];
      if (s?.StackStatus === 'CREATE_COMPLETE') break;
      if (/FAILED|ROLLBACK/.test(s?.StackStatus ?? '') || Date.now() - t0 > 60_000) throw new Error(`moto could not create ${STACK}: ${s?.StackStatus}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const discovery = stack.backend.discoveryPrefix!;
    const params = await discoveryParameters(aws.ssm, discovery);
    await aws.s3.send(new PutBucketVersioningCommand({ Bucket: params.bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    b = {
      label: 'fleet', bucket: params.bucket, table: params['lock-table'], lockfile: false, s3: aws.s3, ddb: aws.ddb, root,
      backendConfig: params['backend-config'],
      emulatorConfig: emulatorBackendConfig({ s3: moto.endpoint, dynamodb: moto.endpoint, sts: moto.endpoint }),
      discovery,
    };
    timings.deploy = Date.now() - t0;
    fleet = runs.begin('fleet', scenario());
  }, 120_000);

  afterAll(() => tearDown('fleet.e2e.test.ts', { runs, clients: [aws], moto, root, timings }), 60_000);

  test('inventory --json reports each state, workspace, destroyed stack, stale lock, tampered digest and orphan digest exactly', async () => {
    const r = await fleet;
    const doc = JSON.parse(mustExit(r.inventory).stdout) as {
      states: Array<{ path: string; workspace: string; key: string; resources: number; digest: string; lock: Array<{ operation: string }> | null }>;
      anomalies: Array<{ kind: string; path: string }>;
    };
    expect(doc.states.map((s) => [s.path, s.workspace, s.key, s.resources, s.digest, s.lock?.map((l) => l.operation) ?? null])).toEqual([
      ['alpha/terraform.tfstate', 'default', 'alpha/terraform.tfstate', 2, 'match', null],
      ['beta/terraform.tfstate', 'default', 'beta/terraform.tfstate', 0, 'match', null],
      ['delta/terraform.tfstate', 'default', 'delta/terraform.tfstate', 1, 'mismatch', null],
      ['env:/staging/alpha/terraform.tfstate', 'staging', 'alpha/terraform.tfstate', 1, 'match', null],
      ['gamma/terraform.tfstate', 'default', 'gamma/terraform.tfstate', expect.any(Number), expect.stringMatching(/^(match|mismatch)$/), ['OperationTypeApply']],
    ]);
    expect(doc.anomalies).toEqual([
      { kind: 'orphan-digest', path: ORPHAN, detail: `digest item "${md5('gone')}" with no state object` },
      { kind: 'no-resources', path: 'beta/terraform.tfstate', detail: expect.stringMatching(/^serial \d+: no resources/) },
    ]);
  });

  test('diff between two real applies names the resource that changed and the one added', async () => {
    const r = await fleet;
    const out = mustExit(r.diff).stdout;
    expect(out).toMatch(/^~ terraform_data\.this: .*triggers_replace/m);
    expect(out).toMatch(/^\+ terraform_data\.extra\[0\]$/m);
    expect(out).toContain('1 added, 1 changed, 0 removed; 0 outputs changed.');
    const doc = JSON.parse(mustExit(r.diffJson).stdout) as { from: { versionId: string }; to: { versionId: string; current: boolean } };
    expect(doc.to).toMatchObject({ versionId: r.alphaVersions[0], current: true });
    expect(doc.from.versionId).toBe(r.alphaVersions[1]);
  });

  test('restore --dry-run prints what it would undo and changes no version, digest or lock', async () => {
    const r = await fleet;
    const out = mustExit(r.dryRun).stdout;
    expect(out).toMatch(/^- terraform_data\.extra\[0\]$/m);
    expect(out).toContain('Dry run: nothing was written and no lock was taken.');
    expect(r.versionsAfterDryRun).toEqual(r.alphaVersions);
  });

  test('--organization --role-name: one document per account; the member\'s backend read with the assumed role; one without a backend is reported, exit 1', async () => {
    const r = await fleet;
    expect(r.organization.code).toBe(1);
    type Doc = { backends: Array<{ account: string; ok: boolean; states?: Array<{ path: string }>; error?: { message: string } }>; failed: number };
    const doc = JSON.parse(r.organization.stdout) as Doc;
    const by = Object.fromEntries(doc.backends.map((x) => [x.account, x]));
    expect(Object.keys(by).sort()).toEqual([MOTO_ACCOUNT, r.member, r.empty].sort());
    expect(by[MOTO_ACCOUNT].states!.map((s) => s.path)).toContain('alpha/terraform.tfstate');
    expect(by[r.member].states!.map((s) => s.path)).toEqual(['app/terraform.tfstate']);
    expect(by[r.empty]).toMatchObject({ ok: false, error: { message: expect.stringContaining(`no discovery parameters under ${b.discovery}`) } });
    expect(doc.failed).toBe(1);
  });
});
