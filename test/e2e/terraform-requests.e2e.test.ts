/**
 * Terraform's real requests, recorded: the Terraform binary runs every operation a
 * grant is for (init, plan with and without locking, apply, output,
 * terraform_remote_state, force-unlock, workspace new/select/delete), in every locking
 * mode with every encryption, through a recording proxy in front of one moto_server
 * (test/support/request-recorder.ts). The requests, normalised, must equal the
 * committed fixtures in test/fixtures/terraform-requests/, which
 * test/grant-evaluation.test.ts evaluates against the grants' policies. So a Terraform
 * that starts sending another request fails here, and a grant that stops allowing a
 * recorded request fails there.
 *
 * `npm run record:terraform-requests` runs this file with UPDATE_TERRAFORM_REQUESTS=1,
 * which writes the fixtures instead of comparing them.
 *
 * Each combination gets a bucket of its own (and the table modes one lock table), made
 * directly in moto: Terraform's requests depend on the backend config it is given, which
 * is the construct's own `renderBackendConfigFile()` for that locking mode and
 * encryption, not on how the bucket was deployed (moto applies no policy, and
 * CloudFormation adds nothing Terraform sees; `cdk deploy` is proven by the other e2e
 * files). The KMS key is a literal ARN: moto stores the key ID with the object and
 * encrypts nothing (TRAPS.md 11), so no key needs to exist.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { GetParameterCommand, GetParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { App, Stack } from 'aws-cdk-lib/core';
import * as iam from 'aws-cdk-lib/aws-iam';
import { LockingMode, StateEncryption, TerraformStateBackend, TerraformStateBackendStack } from '../../lib';
import { E2E_REGION, emulatorEnv, REPO_ROOT } from '../support/cdk-cli';
import { evaluateInStack } from '../support/cfn-eval';
import { awsManagedS3KeyArn, backendPolicies, cfnValues, evaluate, Grantee, identityPolicies } from '../support/grant-evaluator';
import { MOTO_ACCOUNT, MotoServer, startMotoServer } from '../support/moto-server';
import { ProcessResult, runProcess } from '../support/processes';
import { RecordedRequest, RecordingProxy, startRecordingProxy } from '../support/request-recorder';
import { emulatorBackendConfig, TerraformDir } from '../support/terraform';
import {
  FixtureNames, iamRequestsOf, normaliseRequests, readFixture, RecordedOperation, RequestFixture, substitute, writeFixture,
} from '../support/terraform-requests';
import { TFSTATE_OPS_BIN } from '../support/tfstate-ops';
import { describeWithTools, E2E_TOOLS } from '../support/tools';
import { Backend, emulatorClients, EmulatorClients, killWhileLocked, Locks, locks, must, ScenarioRuns, tearDown } from './scenarios';

const UPDATE = process.env.UPDATE_TERRAFORM_REQUESTS === '1';
const KEY = 'terraform.tfstate';
const TABLE = 'terraform-lock';
const WORKSPACE = 'ws';
/** A well-formed key ARN of moto's account (Terraform validates the form; moto never looks the key up). */
const KEY_ARN = `arn:aws:kms:${E2E_REGION}:${MOTO_ACCOUNT}:key/c8f6e8a2-5b1d-4e0f-9a3b-2d7c1e4f6a80`;
const DISCOVERY_PREFIX = '/terraform/backend/';

export const LOCKINGS = [LockingMode.DYNAMODB, LockingMode.S3_LOCKFILE, LockingMode.DYNAMODB_AND_S3_LOCKFILE];
export const ENCRYPTIONS = [StateEncryption.S3_MANAGED, StateEncryption.KMS, StateEncryption.KMS_MANAGED];

/** What the producer's state shows (`terraform output`, and the consumer's `terraform_remote_state`). */
const OUTPUTS_TF = 'output "id" {\n  value = terraform_data.this.id\n}\n';

/**
 * A configuration without a backend (local state) that reads the producer's state
 * with `terraform_remote_state`, configured with the same settings as the producer.
 */
function consumerTf(backendConfig: string, emulatorConfig: string): string {
  const settings = `${backendConfig}${emulatorConfig}`.trim().split('\n').map((l) => `    ${l}`).join('\n');
  return `data "terraform_remote_state" "producer" {\n  backend = "s3"\n  config = {\n${settings}\n  }\n}\n\n` +
    'output "producer_id" {\n  value = data.terraform_remote_state.producer.outputs.id\n}\n';
}

interface Combination {
  readonly locking: LockingMode;
  readonly encryption: StateEncryption;
  readonly bucket: string;
  readonly accessKeyId: string;
  /** The construct's config file for this locking mode and encryption, with the bucket's and key's names. */
  readonly backendConfig: string;
}

function combination(locking: LockingMode, encryption: StateEncryption, n: number): Combination {
  const bucket = `e2e-requests-${locking}-${encryption}`.toLowerCase().replace(/_/g, '-');
  const stack = new TerraformStateBackendStack(new App(), `Requests${n}`, {
    backend: { locking, encryption, bucketName: bucket, lockTableName: locking === LockingMode.S3_LOCKFILE ? undefined : TABLE },
  });
  const backendConfig = evaluateInStack(stack, stack.backend.renderBackendConfigFile(), {
    pseudo: { 'AWS::AccountId': MOTO_ACCOUNT, 'AWS::Region': E2E_REGION, 'AWS::Partition': 'aws' },
    getAtt: () => KEY_ARN,
  });
  return { locking, encryption, bucket, accessKeyId: `rec${n}`, backendConfig };
}

/** The fixtures' names for `c`'s requests. */
function namesOf(c: Combination): FixtureNames {
  return { bucket: c.bucket, table: c.locking === LockingMode.S3_LOCKFILE ? undefined : TABLE, keyArn: KEY_ARN, account: MOTO_ACCOUNT };
}

interface Recorded {
  readonly fixture: RequestFixture;
  readonly durationMs: number;
}

/** Runs the operations of one combination in order, each recorded under its name. */
async function record(proxy: RecordingProxy, aws: EmulatorClients, root: string, c: Combination): Promise<Recorded> {
  const t0 = Date.now();
  const emulatorConfig = emulatorBackendConfig({ s3: proxy.endpoint, dynamodb: proxy.endpoint });
  const table = c.locking === LockingMode.S3_LOCKFILE ? undefined : TABLE;
  const b: Backend = {
    label: c.accessKeyId, bucket: c.bucket, table, lockfile: c.locking !== LockingMode.DYNAMODB, s3: aws.s3, ddb: aws.ddb,
    root, backendConfig: c.backendConfig, emulatorConfig, accessKeyId: c.accessKeyId,
  };
  const dir = TerraformDir.create({ root, name: `${c.accessKeyId}-producer`, backendConfig: c.backendConfig, emulatorConfig, accessKeyId: c.accessKeyId });
  fs.writeFileSync(path.join(dir.dir, 'outputs.tf'), OUTPUTS_TF);
  const consumer = TerraformDir.create({ root, name: `${c.accessKeyId}-consumer`, backendConfig: '', emulatorConfig: '', accessKeyId: c.accessKeyId });
  fs.writeFileSync(path.join(consumer.dir, 'main.tf'), consumerTf(`${c.backendConfig}`, emulatorConfig));

  const spans: Array<{ name: string; command: string; label: string }> = [];
  const op = async (name: string, args: readonly string[], run: () => Promise<ProcessResult> = () => dir.run(args)) => {
    const label = `op${spans.length}`;
    // Every request of the processes before this one is read, and recorded under their label.
    await proxy.settled(c.accessKeyId);
    proxy.label(c.accessKeyId, label);
    spans.push({ name, command: `terraform ${args.join(' ')}`, label });
    const r = must(await run());
    proxy.label(c.accessKeyId, '');
    return r;
  };
  const untracked = async (p: Promise<ProcessResult>) => must(await p);

  await op('init', ['init', '-input=false', '-backend-config=backend.hcl', '-backend-config=emulator.hcl'], () => dir.init());
  await op('plan, no state yet', ['plan', '-input=false']);
  await op('apply, no state yet', ['apply', '-auto-approve', '-input=false', '-var', 'run=first']);
  await op('plan', ['plan', '-input=false']);
  await op('plan -lock=false', ['plan', '-input=false', '-lock=false']);
  await op('apply', ['apply', '-auto-approve', '-input=false', '-var', 'run=second']);
  await op('output', ['output', '-json']);
  await untracked(consumer.run(['init', '-input=false']));
  await op('terraform_remote_state', ['plan', '-input=false'], () => consumer.run(['plan', '-input=false']));
  // A stale lock: an apply killed while it holds the lock (not recorded), then force-unlock with its ID.
  const { left } = await killWhileLocked(b, KEY, dir);
  const id = left.item?.ID ?? left.file?.ID ?? 'no-lock-left';
  await op('force-unlock', ['force-unlock', '-force', '{lockId}'], () => dir.run(['force-unlock', '-force', id]));
  await op('workspace new', ['workspace', 'new', WORKSPACE]);
  await op('workspace select', ['workspace', 'select', 'default']);
  await op('workspace delete', ['workspace', 'delete', WORKSPACE]);

  const entries = proxy.entries().filter((e) => e.accessKeyId === c.accessKeyId);
  const operations: RecordedOperation[] = spans.map((s) => ({
    name: s.name,
    command: s.command,
    requests: normaliseRequests(entries.filter((e) => e.label === s.label).map((e) => e.request), namesOf(c)),
  }));
  const fixture: RequestFixture = {
    terraformVersion: terraformVersionOf(await dir.run(['version'])),
    locking: c.locking,
    encryption: c.encryption,
    backendConfig: substitute(c.backendConfig, namesOf(c), true),
    operations,
  };
  return { fixture, durationMs: Date.now() - t0 };
}

function terraformVersionOf(r?: ProcessResult): string {
  return /Terraform v(\S+)/.exec(r?.stdout ?? '')?.[1] ?? 'unknown';
}

/**
 * The discovery parameters read as a pipeline reads them: the README's
 * `aws ssm get-parameter` step (sent by the AWS SDK for JavaScript: the AWS CLI is
 * not on this machine), and `tfstate-ops --discovery` (`GetParameters` of every name).
 */
async function recordDiscovery(proxy: RecordingProxy): Promise<Recorded> {
  const t0 = Date.now();
  const sdk = 'rec-discovery-sdk';
  const cli = 'rec-discovery-cli';
  const ssm = new SSMClient({ endpoint: proxy.endpoint, region: E2E_REGION, credentials: { accessKeyId: sdk, secretAccessKey: 'e2e' } });
  proxy.label(sdk, 'op0');
  await ssm.send(new GetParameterCommand({ Name: `${DISCOVERY_PREFIX}backend-config` }));
  proxy.label(sdk, 'op1');
  await ssm.send(new GetParametersCommand({ Names: [`${DISCOVERY_PREFIX}backend-config`, `${DISCOVERY_PREFIX}bucket`] }));
  ssm.destroy();
  proxy.label(cli, 'op2');
  const r = await runProcess(process.execPath, [TFSTATE_OPS_BIN, 'locks', '--discovery', DISCOVERY_PREFIX], {
    cwd: REPO_ROOT, env: { ...emulatorEnv(proxy.endpoint), AWS_ACCESS_KEY_ID: cli }, timeoutMs: 60_000,
  });
  if (r.code !== 0) throw new Error(`tfstate-ops locks --discovery failed:\n${r.output}`);
  const names: FixtureNames = { bucket: 'e2e-requests-dynamodb-kms', table: TABLE, account: MOTO_ACCOUNT };
  const ssmOnly = (label: string) => normaliseRequests(proxy.entries().filter((e) => e.label === label && e.request.service === 'ssm')
    .map((e) => e.request), names);
  const fixture: RequestFixture = {
    terraformVersion: 'n/a',
    locking: 'DISCOVERY',
    encryption: 'ANY',
    backendConfig: '',
    operations: [
      { name: 'aws ssm get-parameter', command: `aws ssm get-parameter --name ${DISCOVERY_PREFIX}backend-config`, requests: ssmOnly('op0') },
      { name: 'aws ssm get-parameters', command: `aws ssm get-parameters --names ${DISCOVERY_PREFIX}backend-config ${DISCOVERY_PREFIX}bucket`,
        requests: ssmOnly('op1') },
      { name: 'tfstate-ops --discovery', command: `tfstate-ops locks --discovery ${DISCOVERY_PREFIX}`, requests: ssmOnly('op2') },
    ],
  };
  return { fixture, durationMs: Date.now() - t0 };
}

/** What the plan role's runs did, with the grant's policies enforced. */
interface PlanRole {
  readonly plan: ProcessResult;
  readonly apply: ProcessResult;
  readonly afterApply: Locks;
  readonly workspaceNew: ProcessResult;
  /** The requests the proxy denied, as `action resource`. */
  readonly denied: string[];
  readonly durationMs: number;
}

const PLAN_BUCKET = 'e2e-requests-plan-role';
const PLAN_ROLE = 'tf-plan';

/**
 * The plan grant end to end: a backend stack (DYNAMODB_AND_S3_LOCKFILE, KMS) and a
 * pipeline stack whose role holds `grants.plan()`, synthesized here; the proxy
 * evaluates every request signed with the plan role's access key against the
 * policies of those templates and answers AccessDenied where the evaluator denies,
 * as AWS would. An unenforced apply role writes the state first. So Terraform
 * itself shows what a plan role can and cannot do, and how it says so.
 */
async function planRole(upstream: string, aws: EmulatorClients, root: string): Promise<{ result: PlanRole; proxy: RecordingProxy }> {
  const t0 = Date.now();
  const app = new App();
  const backendStack = new Stack(app, 'Backend', { env: { account: MOTO_ACCOUNT, region: E2E_REGION } });
  const backend = new TerraformStateBackend(backendStack, 'State', {
    locking: LockingMode.DYNAMODB_AND_S3_LOCKFILE, encryption: StateEncryption.KMS, bucketName: PLAN_BUCKET, lockTableName: TABLE,
  });
  const pipeline = new Stack(app, 'Pipeline', { env: { account: MOTO_ACCOUNT, region: E2E_REGION } });
  backend.grants.plan(new iam.Role(pipeline, 'Plan', { roleName: PLAN_ROLE, assumedBy: new iam.AccountRootPrincipal() }), { workspaces: true });
  const assembly = app.synth();
  const template = assembly.getStackByName('Backend').template;
  const values = cfnValues(template, MOTO_ACCOUNT, E2E_REGION);
  const policies = backendPolicies(template, MOTO_ACCOUNT, E2E_REGION, PLAN_BUCKET, TABLE);
  const grantee: Grantee = {
    account: MOTO_ACCOUNT, roleName: PLAN_ROLE,
    identityPolicies: identityPolicies(assembly.getStackByName('Pipeline').template, MOTO_ACCOUNT, E2E_REGION, PLAN_ROLE),
  };
  const place = { region: E2E_REGION, account: MOTO_ACCOUNT, awsManagedS3KeyArn: awsManagedS3KeyArn(MOTO_ACCOUNT, E2E_REGION) };
  const denied: string[] = [];
  const proxy = await startRecordingProxy(upstream, async (accessKeyId, request) => {
    if (accessKeyId !== 'rec-plan') return undefined;
    for (const r of iamRequestsOf(request, place)) {
      const decision = await evaluate(r, grantee, policies);
      if (decision.result !== 'Allowed') {
        denied.push(`${r.action} ${r.resource}`);
        return `User: arn:aws:sts::${MOTO_ACCOUNT}:assumed-role/${PLAN_ROLE}/terraform is not authorized to perform: ${r.action} on resource: `
          + `"${r.resource}" because no identity-based policy allows the ${r.action} action`;
      }
    }
    return undefined;
  });
  const config = evaluateInStack(backendStack, backend.renderBackendConfigFile(), values);
  const emulatorConfig = emulatorBackendConfig({ s3: proxy.endpoint, dynamodb: proxy.endpoint });
  await aws.s3.send(new CreateBucketCommand({ Bucket: PLAN_BUCKET }));
  await aws.s3.send(new PutBucketVersioningCommand({ Bucket: PLAN_BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
  const applier = TerraformDir.create({ root, name: 'apply-role', backendConfig: config, emulatorConfig, accessKeyId: 'rec-apply' });
  const planner = TerraformDir.create({ root, name: 'plan-role', backendConfig: config, emulatorConfig, accessKeyId: 'rec-plan' });
  must(await applier.init());
  must(await applier.apply({ run: 'by-the-apply-role' }));
  must(await planner.init());
  const plan = await planner.run(['plan', '-input=false', '-lock-timeout=0s', '-var', 'run=proposed']);
  const apply = await planner.apply({ run: 'proposed' });
  const b = { bucket: PLAN_BUCKET, table: TABLE, s3: aws.s3, ddb: aws.ddb } as Backend;
  const afterApply = await locks(b, KEY);
  const workspaceNew = await planner.run(['workspace', 'new', 'pr-123']);
  return { result: { plan, apply, afterApply, workspaceNew, denied, durationMs: Date.now() - t0 }, proxy };
}

/** Runs `tasks` with at most `limit` at a time (Terraform runs are CPU-bound on the 2-core machine). */
function limited<T>(limit: number, tasks: Array<() => Promise<T>>): Array<Promise<T>> {
  let running = 0;
  const queue: Array<() => void> = [];
  const next = () => {
    running--;
    queue.shift()?.();
  };
  return tasks.map((task) => new Promise<T>((resolve, reject) => {
    const start = () => {
      running++;
      task().then(resolve, reject).finally(next);
    };
    if (running < limit) start(); else queue.push(start);
  }));
}

jest.setTimeout(120_000);

describeWithTools(E2E_TOOLS, 'Terraform\'s requests in every locking mode and encryption, recorded (moto_server behind a recording proxy)', () => {
  let moto: MotoServer;
  let proxy: RecordingProxy;
  let aws: EmulatorClients;
  let root: string;
  const runs = new ScenarioRuns();
  const recordings = new Map<string, Promise<Recorded>>();
  let planProxy: RecordingProxy | undefined;
  let planRun: Promise<PlanRole>;
  const combinations = LOCKINGS.flatMap((l) => ENCRYPTIONS.map((e) => [l, e] as const)).map(([l, e], n) => combination(l, e, n));

  beforeAll(async () => {
    const t0 = Date.now();
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-requests-'));
    moto = await startMotoServer();
    runs.timings.motoStart = Date.now() - t0;
    proxy = await startRecordingProxy(moto.endpoint);
    aws = emulatorClients(moto.endpoint);
    await aws.ddb.send(new CreateTableCommand({
      TableName: TABLE, KeySchema: [{ AttributeName: 'LockID', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'LockID', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST',
    }));
    for (const c of combinations) {
      await aws.s3.send(new CreateBucketCommand({ Bucket: c.bucket }));
      await aws.s3.send(new PutBucketVersioningCommand({ Bucket: c.bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    }
    for (const [name, value] of [['backend-config', combinations[0].backendConfig], ['bucket', combinations[0].bucket], ['region', E2E_REGION],
      ['lock-table', TABLE]]) {
      await aws.ssm.send(new PutParameterCommand({ Name: `${DISCOVERY_PREFIX}${name}`, Value: value, Type: 'String' }));
    }
    const tasks = combinations.map((c) => () => record(proxy, aws, root, c));
    limited(3, tasks).forEach((p, i) => {
      const c = combinations[i];
      recordings.set(`${c.locking}/${c.encryption}`, runs.begin(`requests-${c.locking}-${c.encryption}`, p));
    });
    recordings.set('DISCOVERY/ANY', runs.begin('requests-discovery', recordDiscovery(proxy)));
    planRun = runs.begin('plan-role-enforced', planRole(moto.endpoint, aws, root).then(({ result, proxy: p }) => {
      planProxy = p;
      return result;
    }));
  }, 60_000);

  afterAll(async () => {
    await runs.settled();
    await proxy?.stop();
    await planProxy?.stop();
    await tearDown('terraform-requests.e2e.test.ts', { runs, clients: [aws], moto, root, timings: runs.timings });
  }, 60_000);

  const cases = [...LOCKINGS.flatMap((l) => ENCRYPTIONS.map((e) => [l, e] as [string, string])), ['DISCOVERY', 'ANY'] as [string, string]];
  test.each(cases)('%s, %s: the requests equal the committed fixture', async (locking, encryption) => {
    const { fixture } = await recordings.get(`${locking}/${encryption}`)!;
    // Every operation sent requests, and none was lost (a lost answer would show as a missing request).
    for (const o of fixture.operations) expect({ op: o.name, sent: o.requests.length > 0 }).toEqual({ op: o.name, sent: true });
    if (UPDATE) {
      writeFixture(fixture);
      return;
    }
    const committed = readFixture(locking, encryption);
    expect(fixture.operations.map((o) => o.name)).toEqual(committed.operations.map((o) => o.name));
    for (const [i, o] of fixture.operations.entries()) {
      // One operation at a time, so a difference names the operation.
      expect({ operation: o.name, requests: o.requests as RecordedRequest[] })
        .toEqual({ operation: committed.operations[i].name, requests: committed.operations[i].requests });
    }
    expect(fixture).toEqual(committed);
  });

  test('the plan grant, enforced: a plan role plans; its apply and workspace new are denied on the state write, and the lock is released', async () => {
    const r = await planRun;
    must(r.plan);
    expect(r.plan.output).toContain('Plan: 1 to add, 0 to change, 1 to destroy.');
    expect(r.apply.code).toBe(1);
    // Terraform applies first and fails only when it saves the state (it keeps it in errored.tfstate): what
    // stops a plan role from changing infrastructure is its own permissions on that infrastructure, not the state.
    expect(r.apply.output).toContain('Creation complete');
    expect(r.apply.output).toContain('Error: Failed to save state');
    expect(r.apply.output).toMatch(/operation error S3: PutObject,\s+https response error StatusCode: 403[\s\S]*?api\s+error AccessDenied/);
    expect(r.apply.output).toContain('errored.tfstate');
    expect(r.afterApply).toEqual({ item: undefined, file: undefined });
    expect(r.workspaceNew.code).toBe(1);
    expect(r.workspaceNew.output).toContain('AccessDenied');
    // Only writes of state were denied: the state objects' PutObject (default workspace and `pr-123`).
    expect([...new Set(r.denied)].sort()).toEqual([
      `s3:PutObject arn:aws:s3:::${PLAN_BUCKET}/env:/pr-123/${KEY}`,
      `s3:PutObject arn:aws:s3:::${PLAN_BUCKET}/${KEY}`,
    ].sort());
  });
});
