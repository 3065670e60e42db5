/**
 * End to end, the published templates (templates/) as a landing zone deploys
 * them, on moto_server:
 *
 * 1. Every template is created with CreateStack (the replicas first, in their
 *    region: one per hardened backend, each its own) with a non-default value
 *    for every parameter; each stack publishes (SSM `backend-config`, since
 *    moto's CloudFormation returns no stack outputs, TRAPS.md 11) exactly what
 *    its template's BackendConfigFile output evaluates to for those values, and
 *    the replication destination each hardened backend's template names for
 *    its values is the bucket and key alias its replica's stack made.
 * 2. The real Terraform runs `init` and `apply` on every backend with the
 *    published config, and lock contention on one backend per locking mode
 *    (what a contention shows depends on the locking mode only; the other
 *    backends' applies prove their encryption reaches Terraform's writes).
 * 3. A rollout's AWS CLI script, run by the real `aws` CLI against moto's
 *    Organizations and service-managed StackSets: a replica per backend region
 *    and the hardened backends land in a member account of the OU (replicas
 *    first), with the names derived from that account and region, and
 *    Terraform uses the backend with its published config. The AWS CLI is an
 *    optional tool (test/support/tools.ts): without it, this test alone is
 *    skipped.
 *
 * What moto cannot prove: IAM and policy evaluation (bucket and key policies,
 * the organization boundary), replication itself (moto's CloudFormation does
 * not apply ReplicationConfiguration: the destination is read from the
 * template, resolved for the stack's values, and found made), and a stack moving between the app's
 * template and the published one (moto's stack updates lose resources:
 * test/templates.test.ts proves the resolved resources equal instead).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  CloudFormationClient, CreateStackCommand, DescribeStacksCommand, ListStackResourcesCommand, StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateAccountCommand, CreateOrganizationalUnitCommand, CreateOrganizationCommand, ListAccountsCommand, ListRootsCommand, MoveAccountCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { LockingMode, StateEncryption } from '../../lib';
import { CATALOGUE, CatalogueTemplate, catalogueTemplate, ROLLOUTS, templateFile } from '../../scripts/templates/catalogue';
import { LANDING_ZONE_FILES, landingZoneDir } from '../../scripts/templates/landing-zone';
import { E2E_REGION, emulatorEnv, REPO_ROOT } from '../support/cdk-cli';
import { evaluate } from '../support/cfn-eval';
import { MotoServer, startMotoServer } from '../support/moto-server';
import { ProcessResult, runProcess } from '../support/processes';
import { ParameterValues, resolveTemplate } from '../support/template-eval';
import { describeRun, emulatorBackendConfig } from '../support/terraform';
import { describeWithTools, E2E_TOOLS, missingTools, testWithTools } from '../support/tools';
import {
  Backend, Contention, contention, discoveryParameters, emulatorClients, EmulatorClients, getObject, must, recordedRun, runners,
  ScenarioRuns, tearDown,
} from './scenarios';

const REPLICA_REGION = 'eu-central-1';
const ORGANIZATION_ID = 'o-e2etemplates1';
const TEMPLATES = path.join(REPO_ROOT, 'templates');
const template = (t: CatalogueTemplate) => JSON.parse(fs.readFileSync(path.join(TEMPLATES, templateFile(t.id)), 'utf8'));
const REPLICA = CATALOGUE.find((t) => t.kind === 'replica')!;
const BACKENDS = CATALOGUE.filter((t) => t.kind === 'backend');

/** A stack to create: a backend (named after its template), or the replica of a hardened backend (each its own). */
interface StackSpec {
  readonly t: CatalogueTemplate;
  readonly stackName: string;
  /** For a replica: the backend that replicates into it. */
  readonly backend?: CatalogueTemplate;
}
const REPLICA_STACKS: StackSpec[] = BACKENDS.filter((b) => b.replicated).map((b) => ({ t: REPLICA, stackName: `${REPLICA.id}-of-${b.id}`, backend: b }));

/** A non-default value for every parameter a template has, unique to it (a replica's source: its backend's). */
function valuesFor(t: CatalogueTemplate, backend?: CatalogueTemplate): ParameterValues {
  const all: ParameterValues = {
    BucketName: `e2e-${t.id}`,
    LockTableName: `e2e-${t.id}-lock`,
    StateKey: `e2e/${t.id}/terraform.tfstate`,
    NoncurrentVersionExpirationDays: 30,
    NoncurrentVersionsToRetain: 5,
    OrganizationId: ORGANIZATION_ID,
    DiscoveryPrefix: `/e2e/${t.id}/`,
    ReplicaRegion: REPLICA_REGION,
    SourceRegion: E2E_REGION,
    SourceBucketName: backend ? `e2e-${backend.id}` : '',
  };
  return Object.fromEntries(Object.keys(template(t).Parameters).map((name) => [name, all[name]]));
}

/** The replication destination a hardened backend's template names for `values`, in `account` and `region`: the bucket and the key. */
function replicationDestination(t: CatalogueTemplate, values: ParameterValues, account: string, region: string) {
  const bucket = Object.values<any>(resolveTemplate(template(t), values).Resources as object).find((r) => r.Properties?.ReplicationConfiguration);
  const destination = bucket.Properties.ReplicationConfiguration.Rules[0].Destination;
  const pseudo = { 'AWS::AccountId': account, 'AWS::Region': region, 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com' };
  return { bucketArn: evaluate(destination.Bucket, { pseudo }), keyArn: evaluate(destination.EncryptionConfiguration.ReplicaKmsKeyID, { pseudo }) };
}

/** One backend per locking mode gets the contention scenario. */
const CONTENDED = ['backend-dynamodb-s3-managed', 'backend-s3-lockfile-kms', 'hardened-backend-dynamodb-and-s3-lockfile'];
/** The rollout whose AWS CLI script runs against moto's Organizations. */
const CLI_ROLLOUT = ROLLOUTS.find((r) => r.id === 'hardened-backend-s3-lockfile')!;
const CLI_REGIONS = [E2E_REGION, 'eu-west-1'];

interface Made {
  readonly t: CatalogueTemplate;
  readonly stackName: string;
  readonly status: string;
  readonly resources: StackResourceSummary[];
  readonly published?: Record<string, string>;
  readonly expected?: string;
}

interface Applied {
  readonly init: ProcessResult;
  readonly apply: ProcessResult;
  readonly state?: { body: string; sse?: string; kmsKeyId?: string };
  readonly durationMs: number;
}

interface CliRollout {
  readonly script: ProcessResult;
  readonly memberAccount: string;
  /** The member account's discovery parameters, by region. */
  readonly published: Record<string, Record<string, string>>;
  /** Whether the bucket each region's backend replicates into (its template, for the script's values) is there, by region. */
  readonly replicaBuckets: Record<string, { name: string; exists: boolean }>;
  readonly applied?: Applied;
  readonly durationMs: number;
}

// Tests await what beforeAll started side by side; on a loaded machine that takes a while.
jest.setTimeout(120_000);

describeWithTools(E2E_TOOLS, 'the published templates, created with non-default parameters and used by Terraform (moto_server)', () => {
  let moto: MotoServer;
  let aws: EmulatorClients;
  let root: string;
  const made: Record<string, Made> = {};
  const applied: Record<string, Promise<Applied>> = {};
  const contended: Record<string, Promise<Contention>> = {};
  let cliRollout: Promise<CliRollout> | undefined;
  const runs = new ScenarioRuns();
  const timings = runs.timings;
  const account = '123456789012';

  async function createStack({ t, stackName, backend }: StackSpec): Promise<Made> {
    const region = t.kind === 'replica' ? REPLICA_REGION : E2E_REGION;
    const cfn = new CloudFormationClient({ endpoint: moto.endpoint, region, credentials: { accessKeyId: 'e2e', secretAccessKey: 'e2e' } });
    try {
      const values = valuesFor(t, backend);
      await cfn.send(new CreateStackCommand({
        StackName: stackName,
        TemplateBody: fs.readFileSync(path.join(TEMPLATES, templateFile(t.id)), 'utf8'),
        Parameters: Object.entries(values).map(([ParameterKey, v]) => ({ ParameterKey, ParameterValue: String(v) })),
        Capabilities: ['CAPABILITY_IAM'],
      }));
      let status = '';
      for (let i = 0; i < 300 && !/_COMPLETE$|_FAILED$/.test(status); i++) {
        status = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0]?.StackStatus ?? '';
        if (!/_COMPLETE$|_FAILED$/.test(status)) await new Promise((r) => setTimeout(r, 200));
      }
      const resources = (await cfn.send(new ListStackResourcesCommand({ StackName: stackName }))).StackResourceSummaries ?? [];
      if (t.kind === 'replica') return { t, stackName, status, resources };
      const published = await discoveryParameters(aws.ssm, String(values.DiscoveryPrefix));
      // What the template's BackendConfigFile output is, for these values, in this account and region.
      const outputs = resolveTemplate(template(t), values).Outputs as Record<string, { Value: unknown }>;
      const physical = (id: string) => resources.find((r) => r.LogicalResourceId === id)?.PhysicalResourceId ?? `<no ${id}>`;
      const expected = evaluate(Object.entries(outputs).find(([id]) => id.startsWith('BackendBackendConfigFile'))![1].Value, {
        pseudo: { 'AWS::AccountId': account, 'AWS::Region': E2E_REGION, 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com' },
        ref: physical,
        getAtt: (id, attribute) => {
          if (attribute !== 'Arn') throw new Error(`cannot evaluate Fn::GetAtt ${id}.${attribute}`);
          return `arn:aws:kms:${E2E_REGION}:${account}:key/${physical(id)}`;
        },
      });
      return { t, stackName, status, resources, published, expected };
    } finally {
      cfn.destroy();
    }
  }

  function backendOf(m: Made, config: string, label: string, accessKeyId?: string): Backend {
    return {
      label,
      bucket: m.published!.bucket,
      table: m.published!['lock-table'],
      lockfile: m.t.locking !== LockingMode.DYNAMODB,
      s3: aws.s3,
      ddb: aws.ddb,
      root,
      backendConfig: config,
      emulatorConfig: emulatorBackendConfig({ s3: moto.endpoint, dynamodb: moto.endpoint, sts: moto.endpoint }),
      accessKeyId,
    };
  }

  async function initAndApply(b: Backend, key: string, readWith: EmulatorClients = aws): Promise<Applied> {
    const t0 = Date.now();
    const [dir] = runners(b, 'apply', ['runner']);
    const init = must(await dir.init());
    const apply = must(await dir.apply({ run: 'templates' }));
    const state = await getObject({ ...b, s3: readWith.s3 }, key);
    return { init, apply, state, durationMs: Date.now() - t0 };
  }

  /** Organizations with an OU holding one member account; the rollout's script run for that OU; what landed there. */
  async function runCliRollout(): Promise<CliRollout> {
    const t0 = Date.now();
    // The organization the script is run for, made with the SDK (each `aws` start costs
    // about 0.5 s of CPU here): only the script itself is the user's, run with the real CLI.
    const common = { endpoint: moto.endpoint, region: E2E_REGION, credentials: { accessKeyId: 'e2e', secretAccessKey: 'e2e' } };
    const org = new OrganizationsClient(common);
    const sts = new STSClient(common);
    let rootId: string;
    let ou: string;
    let memberAccount: string;
    let keyId: string;
    let script: ProcessResult;
    try {
      await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
      rootId = (await org.send(new ListRootsCommand({}))).Roots![0].Id!;
      ou = (await org.send(new CreateOrganizationalUnitCommand({ ParentId: rootId, Name: 'Workloads' }))).OrganizationalUnit!.Id!;
      await org.send(new CreateAccountCommand({ Email: 'member@example.com', AccountName: 'member' }));
      memberAccount = (await org.send(new ListAccountsCommand({}))).Accounts!.find((a) => a.Name === 'member')!.Id!;
      await org.send(new MoveAccountCommand({ AccountId: memberAccount, SourceParentId: rootId, DestinationParentId: ou }));

      // The script as a user runs it: from another directory, with the real CLI.
      script = await runProcess('sh', [path.join(TEMPLATES, landingZoneDir(CLI_ROLLOUT), LANDING_ZONE_FILES.awsCli)], {
        cwd: os.tmpdir(),
        env: {
          ...emulatorEnv(moto.endpoint), AWS_DEFAULT_REGION: E2E_REGION,
          ORGANIZATIONAL_UNIT_IDS: ou, REGIONS: CLI_REGIONS.join(' '), REPLICA_REGION, ORGANIZATION_ID,
        },
        timeoutMs: 120_000,
      });
      if (script.code !== 0) throw new Error(`the AWS CLI script failed\n${describeRun(script)}`);

      // In the member account (moto gives assumed-role keys that account).
      keyId = (await sts.send(new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${memberAccount}:role/OrganizationAccountAccessRole`, RoleSessionName: 'e2e',
      }))).Credentials!.AccessKeyId!;
    } finally {
      org.destroy();
      sts.destroy();
    }
    const member = emulatorClients(moto.endpoint, keyId);
    try {
      const published: Record<string, Record<string, string>> = {};
      for (const region of CLI_REGIONS) {
        // The discovery parameters of the region's backend: the default prefix, in that region.
        const ssm = new SSMClient({ endpoint: moto.endpoint, region, credentials: { accessKeyId: keyId, secretAccessKey: 'e2e' } });
        published[region] = await discoveryParameters(ssm, '/terraform/backend/');
        ssm.destroy();
      }
      // Each region's backend replicates into the bucket its template names there (BucketName empty, as the script leaves it).
      const backend = catalogueTemplate(CLI_ROLLOUT.id);
      const replicaBuckets: CliRollout['replicaBuckets'] = {};
      for (const region of CLI_REGIONS) {
        const name = replicationDestination(backend, { ReplicaRegion: REPLICA_REGION }, memberAccount, region).bucketArn.replace(/^arn:aws:s3:::/, '');
        replicaBuckets[region] = { name, exists: await member.s3.send(new HeadBucketCommand({ Bucket: name })).then(() => true, () => false) };
      }
      const config = published[E2E_REGION]['backend-config'];
      const b = backendOf({ t: backend, stackName: '', status: '', resources: [], published: published[E2E_REGION] }, config, 'cli-member', keyId);
      const appliedThere = config === undefined ? undefined : await initAndApply({ ...b, s3: member.s3, ddb: member.ddb }, 'terraform.tfstate', member);
      return { script, memberAccount, published, replicaBuckets, applied: appliedThere, durationMs: Date.now() - t0 };
    } finally {
      member.destroy();
    }
  }

  beforeAll(async () => {
    const t0 = Date.now();
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-templates-'));
    moto = await startMotoServer();
    timings.motoStart = Date.now() - t0;
    aws = emulatorClients(moto.endpoint);

    const t1 = Date.now();
    // The replicas first (each hardened backend replicates into its own), then every backend side by side.
    for (const m of await Promise.all(REPLICA_STACKS.map(createStack))) made[m.stackName] = m;
    for (const m of await Promise.all(BACKENDS.map((t) => createStack({ t, stackName: t.id })))) made[m.stackName] = m;
    timings.createStacks = Date.now() - t1;

    // The AWS CLI is optional (not on the machine image): without it, only its test is skipped.
    if (missingTools(['aws']) === undefined) cliRollout = runs.begin('cli-rollout', runCliRollout());
    // At most three backends' Terraform runs at once: the machine has two cores.
    const queue = BACKENDS.filter((t) => made[t.id].published?.['backend-config'] !== undefined);
    const lanes = Array.from({ length: 3 }, () => Promise.resolve());
    queue.forEach((t, i) => {
      const m = made[t.id];
      const b = backendOf(m, m.published!['backend-config'], t.id);
      const key = String(valuesFor(t).StateKey);
      const lane = lanes[i % lanes.length].then(async () => {
        applied[t.id] = runs.begin(`apply-${t.id}`, initAndApply(b, key));
        await applied[t.id].catch(() => undefined);
        if (CONTENDED.includes(t.id)) {
          contended[t.id] = runs.begin(`contention-${t.id}`, contention(b, key));
          await contended[t.id].catch(() => undefined);
        }
      });
      lanes[i % lanes.length] = lane;
    });
    await Promise.all(lanes);
  }, 300_000);

  afterAll(() => tearDown('templates.e2e.test.ts', { runs, clients: [aws], moto, root, timings }), 60_000);

  test('every template is created with a non-default value for every parameter, the replicas first', async () => {
    const stacks = [...REPLICA_STACKS.map((r) => r.stackName), ...BACKENDS.map((t) => t.id)];
    expect(stacks.map((name) => [name, made[name]?.status])).toEqual(stacks.map((name) => [name, 'CREATE_COMPLETE']));
    // Every template is among them: the replica once per hardened backend.
    expect(new Set(Object.values(made).map((m) => m.t.id))).toEqual(new Set(CATALOGUE.map((t) => t.id)));
    for (const t of BACKENDS) {
      const values = valuesFor(t);
      // The names given, not the derived ones.
      await expect(aws.s3.send(new HeadBucketCommand({ Bucket: String(values.BucketName) }))).resolves.toBeDefined();
      if (values.LockTableName !== undefined) {
        const table = await aws.ddb.send(new DescribeTableCommand({ TableName: String(values.LockTableName) }));
        expect(table.Table?.KeySchema).toEqual([{ AttributeName: 'LockID', KeyType: 'HASH' }]);
      }
      expect(made[t.id].resources.some((r) => r.ResourceType === 'AWS::DynamoDB::Table')).toBe(t.locking !== LockingMode.S3_LOCKFILE);
      expect(made[t.id].resources.some((r) => r.ResourceType === 'AWS::KMS::Key')).toBe(t.encryption === StateEncryption.KMS);
      expect(made[t.id].resources.some((r) => r.ResourceType === 'AWS::IAM::Role')).toBe(t.replicated);
    }
  });

  test.each(REPLICA_STACKS.map((r) => [r.backend!.id, r] as const))('%s replicates into its own replica: the bucket and key alias its template names for its values, made by that replica\'s stack', async (_id, r) => {
    const { bucketArn, keyArn } = replicationDestination(r.backend!, valuesFor(r.backend!), account, E2E_REGION);
    const physical = (id: string) => made[r.stackName].resources.find((x) => x.LogicalResourceId === id)?.PhysicalResourceId;
    // Named after the backend's bucket (SourceBucketName), in the replica region; logical IDs as the app's replica stack.
    expect(bucketArn).toBe(`arn:aws:s3:::e2e-${r.backend!.id}-replica`);
    expect(physical('ReplicaReplicaBucketAC938BE0')).toBe(bucketArn.replace(/^arn:aws:s3:::/, ''));
    await expect(aws.s3.send(new HeadBucketCommand({ Bucket: `e2e-${r.backend!.id}-replica` }))).resolves.toBeDefined();
    expect(keyArn).toBe(`arn:aws:kms:${REPLICA_REGION}:${account}:alias/e2e-${r.backend!.id}-replica`);
    expect(`arn:aws:kms:${REPLICA_REGION}:${account}:${physical('ReplicaReplicaKeyAlias0C8414EB')}`).toBe(keyArn);
  });

  test('each backend publishes exactly what its template\'s BackendConfigFile output is for those values', () => {
    for (const m of Object.values(made).filter((x) => x.t.kind === 'backend')) {
      expect({ id: m.t.id, config: m.published?.['backend-config'] }).toEqual({ id: m.t.id, config: m.expected });
      expect(m.published?.['backend-config']).toMatch(new RegExp(`^key +=\\s"e2e/${m.t.id}/terraform\\.tfstate"$`, 'm'));
      expect(m.published?.bucket).toBe(`e2e-${m.t.id}`);
    }
  });

  test('Terraform init and apply on every backend, with its published config: state at the key, encrypted as the template says', async () => {
    for (const t of BACKENDS) {
      const a = await applied[t.id];
      expect({ id: t.id, run: recordedRun(a.state?.body) }).toEqual({ id: t.id, run: 'templates' });
      const keyArn = made[t.id].published!['kms-key-arn'];
      expect({ id: t.id, sse: a.state?.sse, key: a.state?.kmsKeyId }).toEqual(t.encryption === StateEncryption.KMS
        ? { id: t.id, sse: 'aws:kms', key: keyArn }
        : { id: t.id, sse: 'AES256', key: undefined });
    }
  });

  test.each(CONTENDED)('%s: a second Terraform fails on the held lock, naming the holder; a waiting one gets it after', async (id) => {
    const t = catalogueTemplate(id);
    const r = await contended[id];
    must(r.holder);
    const held = r.held.file ?? r.held.item!;
    expect(r.held.item !== undefined).toBe(t.locking !== LockingMode.S3_LOCKFILE);
    expect(r.held.file !== undefined).toBe(t.locking !== LockingMode.DYNAMODB);
    expect(held.Path).toBe(`e2e-${id}/e2e/${id}/terraform.tfstate`);
    expect(r.late.code).toBe(1);
    expect(r.late.output).toContain('Error acquiring the state lock');
    expect(r.late.output).toMatch(new RegExp(`ID:\\s+${held.ID}`));
    must(r.waiter, [held.ID]);
    expect(recordedRun(r.finalState)).toBe('waiter');
    expect(r.after).toEqual({ item: undefined, file: undefined });
  });

  testWithTools(['aws'], `the AWS CLI script of ${CLI_ROLLOUT.id} rolls a replica per backend region and the backends out to the OU's account: replicas first, derived names, Terraform on it`, async () => {
    const r = (await cliRollout)!;
    for (const region of CLI_REGIONS) {
      expect(r.script.output).toContain(`StackSet terraform-state-replica-${region}: stack instances made`);
      expect(r.script.output.indexOf(`terraform-state-replica-${region}: stack instances made`))
        .toBeLessThan(r.script.output.indexOf('terraform-state-backend: stack instances made'));
      // Each region's backend has its own replica, named after its bucket, where its replication points.
      expect(r.replicaBuckets[region]).toEqual({ name: `terraform-state-${r.memberAccount}-${region}-replica`, exists: true });
    }
    for (const region of CLI_REGIONS) {
      // Each account and region derives its own bucket name; the script set OrganizationId for all.
      expect(r.published[region].bucket).toBe(`terraform-state-${r.memberAccount}-${region}`);
      expect(r.published[region]['backend-config']).toContain(`region       = "${region}"`);
      expect(r.published[region]['backend-config']).toContain('use_lockfile = true');
    }
    expect(r.memberAccount).not.toBe(account);
    expect(recordedRun(r.applied?.state?.body)).toBe('templates');
    expect(r.applied?.state?.sse).toBe('aws:kms');
    expect(r.applied?.state?.kmsKeyId).toBe(r.published[E2E_REGION]['kms-key-arn']);
  });
});
