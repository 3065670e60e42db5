/**
 * End to end, every locking mode and every encryption, and the migration from
 * DynamoDB locking to lock files: the stacks of variants.ts, synthesized in this process
 * with the context the CLI would give them (cliAppContext: the same templates, byte for
 * byte, as `cdk synth --app "ts-node variants.ts"`) and deployed together by the real
 * CLI from that cloud assembly (`cdk deploy --app <assembly> --all --method=direct`)
 * into moto_server, then used by the real Terraform binary. The same stacks give what
 * their constructs render. The CLI synthesizing an app itself is proven by
 * app.e2e.test.ts (cdk.json's app); here it would cost two more ts-node and aws-cdk-lib
 * starts (about 6 s of CPU each) for the same templates.
 *
 * `--method=direct` because moto looks change sets up by name across all stacks and
 * every CDK change set has the same name: a second stack's change set, or a stack
 * update through one, hangs there (TRAPS.md 11). The default method is proven by
 * app.e2e.test.ts.
 *
 * What moto cannot prove: IAM evaluation (nothing runs with a narrowed role), the
 * bucket policy, public access block and versioning (moto's CloudFormation does not
 * apply them), S3's lifecycle rules (moto does not run them), and KMS itself: moto
 * stores the key ID with the object but encrypts nothing, and answers DescribeKey on
 * a CloudFormation-made key with a 500. What it does prove: which encryption headers
 * Terraform sends, which lock objects and items it writes, S3's `If-None-Match: *`
 * (412) on the lock file, and what locked runs leave of a lock file in a versioned
 * bucket (the test turns on the versioning the S3_LOCKFILE stack's template asks for,
 * with the SDK, before any scenario runs on that bucket).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ListStackResourcesCommand, StackResourceSummary } from '@aws-sdk/client-cloudformation';
import { ListObjectVersionsCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { App } from 'aws-cdk-lib/core';
import { LockingMode, TerraformStateBackendStack } from '../../lib';
import { cdk, cliAppContext, E2E_REGION } from '../support/cdk-cli';
import { evaluateInStack } from '../support/cfn-eval';
import { MotoServer, startMotoServer } from '../support/moto-server';
import { ProcessResult } from '../support/processes';
import { describeRun, emulatorBackendConfig, RESOURCE_ADDRESS } from '../support/terraform';
import { describeWithTools, E2E_TOOLS } from '../support/tools';
import {
  Backend, Contention, contention, digestItem, discoveryParameters, emulatorClients, EmulatorClients, getObject, Locks, locks, md5, must,
  recordedRun, runners, waitForLocks, ScenarioRuns, tearDown,
} from './scenarios';
import { addVariants, BOTH_KMS_MANAGED, LOCKFILE_KMS, MIGRATION, migrationProps } from './variants';

const KEY = 'terraform.tfstate';

interface Migration {
  readonly steps: Array<{ readonly config: string; readonly init: ProcessResult; readonly list: ProcessResult; readonly apply: ProcessResult }>;
  readonly update: ProcessResult;
  readonly publishedAfterUpdate: string;
  readonly expectedAfterUpdate: string;
  /** Step 2: an old-config run (table only) holds the lock; a new-config run (both) tries. */
  readonly exclusion: { readonly held: Locks; readonly newRun: ProcessResult; readonly holder: ProcessResult; readonly fileLeft?: unknown };
  readonly states: Array<string | undefined>;
  readonly digests: Array<string | undefined>;
  readonly digestBeforeStep3?: string;
  readonly lockFileAfter: Locks;
  /** `plan` by a runner still on the table-only config, after step 3 wrote state. */
  readonly oldAfterStep3: ProcessResult;
  readonly durationMs: number;
}

/** What a lock file holds in a versioned bucket: its versions and delete markers, and which is current. */
interface LockFileVersions {
  readonly versions: number;
  readonly deleteMarkers: number;
  readonly latestIsDeleteMarker: boolean;
}

/** 7c. What each locked run leaves of one lock file: counted after `init`, then after each `apply`. */
interface LockFileHistory {
  readonly counts: LockFileVersions[];
  readonly applies: ProcessResult[];
  readonly durationMs: number;
}

/** The locked runs of 7c. */
const LOCKED_RUNS = 3;

// Tests await scenarios that beforeAll started side by side; on a loaded machine they can take a while.
jest.setTimeout(90_000);

describeWithTools(E2E_TOOLS, 'every locking mode, every encryption, and the migration to lock files, with Terraform (moto_server)', () => {
  let moto: MotoServer;
  let aws: EmulatorClients;
  let root: string;
  let account: string;
  let deploy: ProcessResult;
  let stacks: Record<string, TerraformStateBackendStack>;
  const backends: Record<string, Backend> = {};
  const params: Record<string, Record<string, string>> = {};
  const resources: Record<string, StackResourceSummary[]> = {};
  const expected: Record<string, string> = {};
  const runs = new ScenarioRuns();
  const timings = runs.timings;
  let lockfileRun: Promise<Contention>;
  let lockFileRun: Promise<LockFileHistory>;
  let bothRun: Promise<Contention>;
  let migration: Promise<Migration>;

  /** The published config of stack `id` and what its construct renders, evaluated in moto's account and region. */
  async function readStack(id: string, stack: TerraformStateBackendStack): Promise<{ published: string; expected: string }> {
    const summaries = (await aws.cfn.send(new ListStackResourcesCommand({ StackName: id }))).StackResourceSummaries ?? [];
    resources[id] = summaries;
    const physical = (logicalId: string) => {
      const r = summaries.find((s) => s.LogicalResourceId === logicalId);
      if (!r?.PhysicalResourceId) throw new Error(`${id}: no physical ID for ${logicalId}`);
      return r.PhysicalResourceId;
    };
    const discovered = await discoveryParameters(aws.ssm, stack.backend.discoveryPrefix!);
    params[id] = discovered;
    const evaluated = evaluateInStack(stack, stack.backend.renderBackendConfigFile(), {
      pseudo: { 'AWS::AccountId': account, 'AWS::Region': E2E_REGION, 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com' },
      ref: physical,
      getAtt: (logicalId, attribute) => {
        const r = summaries.find((s) => s.LogicalResourceId === logicalId);
        if (r?.ResourceType === 'AWS::KMS::Key' && attribute === 'Arn') {
          return `arn:aws:kms:${E2E_REGION}:${account}:key/${physical(logicalId)}`;
        }
        throw new Error(`${id}: cannot evaluate Fn::GetAtt ${logicalId}.${attribute}`);
      },
    });
    return { published: discovered['backend-config'], expected: evaluated };
  }

  function backendOf(id: string, stack: TerraformStateBackendStack, config: string): Backend {
    return {
      label: id,
      bucket: params[id].bucket,
      table: params[id]['lock-table'],
      lockfile: stack.backend.locking !== LockingMode.DYNAMODB,
      s3: aws.s3,
      ddb: aws.ddb,
      root,
      backendConfig: config,
      emulatorConfig: emulatorBackendConfig({ s3: moto.endpoint, dynamodb: moto.endpoint, sts: moto.endpoint }),
    };
  }

  /** The versions and delete markers of the object `key` (exactly; not of keys that merely start with it). */
  async function lockFileVersions(b: Backend, key: string): Promise<LockFileVersions> {
    const listed = await b.s3.send(new ListObjectVersionsCommand({ Bucket: b.bucket, Prefix: key }));
    const versions = (listed.Versions ?? []).filter((v) => v.Key === key);
    const markers = (listed.DeleteMarkers ?? []).filter((m) => m.Key === key);
    if (listed.IsTruncated) throw new Error(`${b.label}: more versions of ${key} than one page`);
    return { versions: versions.length, deleteMarkers: markers.length, latestIsDeleteMarker: markers.some((m) => m.IsLatest) };
  }

  /** 7c. LOCKED_RUNS applies on their own state key, counting what they leave of its lock file. */
  async function lockFileHistory(b: Backend, key: string): Promise<LockFileHistory> {
    const t0 = Date.now();
    const [runner] = runners(b, 'lockfile-history', ['runner'], [`key=${key}`]);
    must(await runner.init());
    const counts = [await lockFileVersions(b, `${key}.tflock`)];
    const applies: ProcessResult[] = [];
    for (let i = 1; i <= LOCKED_RUNS; i++) {
      applies.push(must(await runner.apply({ run: `run-${i}` })));
      counts.push(await lockFileVersions(b, `${key}.tflock`));
    }
    return { counts, applies, durationMs: Date.now() - t0 };
  }

  /** 9. DYNAMODB -> DYNAMODB_AND_S3_LOCKFILE -> S3_LOCKFILE on one bucket, as the README says. */
  async function migrate(): Promise<Migration> {
    const t0 = Date.now();
    const step1 = backends[MIGRATION];
    const [runner, oldRunner] = runners(step1, 'migration', ['runner', 'old-config']);
    const steps: Array<Migration['steps'][number]> = [];
    const states: Array<string | undefined> = [];
    const digests: Array<string | undefined> = [];
    // Steps 2 and 3 list the state right after `init -reconfigure`, before they write it.
    const step = async (config: string, run: string, reconfigure: boolean) => {
      const init = must(await runner.init({ reconfigure, backendConfig: config }));
      const listFirst = reconfigure ? must(await runner.run(['state', 'list'])) : undefined;
      const apply = must(await runner.apply({ run }));
      const list = listFirst ?? must(await runner.run(['state', 'list']));
      steps.push({ config, init, list, apply });
      states.push((await getObject(step1, KEY))?.body);
      digests.push(await digestItem(step1, KEY));
    };

    // Step 1: the stack as it was deployed (DYNAMODB); state written under it.
    await step(step1.backendConfig, 'step-1', false);
    must(await oldRunner.init());

    // Step 2: the stack updated to DYNAMODB_AND_S3_LOCKFILE by the CLI (the variants app
    // with context migrationLocking=DYNAMODB_AND_S3_LOCKFILE, synthesized here).
    const assembly2 = path.join(root, 'assembly-2');
    const app2 = new App({ outdir: assembly2, context: cliAppContext({ migrationLocking: LockingMode.DYNAMODB_AND_S3_LOCKFILE }) });
    const stack2 = addVariants(app2, LockingMode.DYNAMODB_AND_S3_LOCKFILE)[MIGRATION];
    app2.synth();
    const update = await cdk(['deploy', '--app', assembly2, '--method=direct', '--require-approval', 'never', MIGRATION], moto.endpoint);
    if (update.code !== 0) throw new Error(`cdk deploy (update) failed\n${describeRun(update)}`);
    const { published, expected: expectedAfterUpdate } = await readStack(MIGRATION, stack2);
    await step(published, 'step-2', true);

    // Still in step 2: a runner not yet changed (table only) holds the lock; a changed one
    // (both) cannot take it, and leaves no lock file behind.
    const holderProcess = oldRunner.startApply({ run: 'old-config', sleep: 4 });
    const held = await waitForLocks({ ...step1, lockfile: false }, KEY, holderProcess);
    const newRun = await runner.run(['plan', '-input=false', '-lock-timeout=0s']);
    const fileLeft = (await locks(step1, KEY)).file;
    const holder = must(await holderProcess.done);

    // Step 3: dynamodb_table removed from the config, which is S3_LOCKFILE's config. The
    // stack is not redeployed: the README deploys S3_LOCKFILE after this step, and moto
    // cannot run that update (it deletes the retained table on update, and deletion
    // protection refuses: TRAPS.md 11). The config is the S3_LOCKFILE construct's.
    const stack3 = new TerraformStateBackendStack(new App(), MIGRATION, migrationProps(LockingMode.S3_LOCKFILE));
    const config3 = evaluateInStack(stack3, stack3.backend.renderBackendConfigFile(), {
      pseudo: { 'AWS::AccountId': account, 'AWS::Region': E2E_REGION },
    });
    const digestBeforeStep3 = await digestItem(step1, KEY);
    await step(config3, 'step-3', true);
    const lockFileAfter = await locks(step1, KEY);
    // A runner left on the table-only config after step 3: the digest item is stale now.
    const oldAfterStep3 = await oldRunner.run(['plan', '-input=false', '-lock-timeout=0s']);
    return {
      steps, update, publishedAfterUpdate: published, expectedAfterUpdate, exclusion: { held, newRun, holder, fileLeft }, states, digests,
      digestBeforeStep3, lockFileAfter, oldAfterStep3, durationMs: Date.now() - t0,
    };
  }

  beforeAll(async () => {
    const t0 = Date.now();
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-modes-'));
    const starting = startMotoServer();
    // Let moto's process start before the synthesis below takes this thread.
    await new Promise((r) => setTimeout(r, 100));
    // The variants app as the CLI would run it, synthesized here; the same stacks give
    // what their constructs render.
    const assembly = path.join(root, 'assembly');
    const app = new App({ outdir: assembly, context: cliAppContext() });
    stacks = addVariants(app);
    app.synth();
    timings.synth = Date.now() - t0;
    moto = await starting;
    timings.motoStart = Date.now() - t0;
    aws = emulatorClients(moto.endpoint);

    const t2 = Date.now();
    // The CLI deploys the assembly's three stacks.
    deploy = await cdk(['deploy', '--app', assembly, '--all', '--method=direct', '--require-approval', 'never', '--concurrency', '3'], moto.endpoint);
    timings.cdkDeploy = Date.now() - t2;
    if (deploy.code !== 0) throw new Error(`cdk deploy failed\n${describeRun(deploy)}\n\nmoto:\n${moto.log().slice(-3000)}`);
    account = deploy.output.match(/arn:aws:cloudformation:[^:]+:(\d{12}):stack\//)![1];

    for (const [id, stack] of Object.entries(stacks)) {
      const { published, expected: evaluated } = await readStack(id, stack);
      expected[id] = evaluated;
      backends[id] = backendOf(id, stack, published);
    }
    // The versioning the S3_LOCKFILE stack's template asks for, which moto's CloudFormation does not apply.
    await aws.s3.send(new PutBucketVersioningCommand({ Bucket: backends[LOCKFILE_KMS].bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    lockfileRun = runs.begin('7a-8-lockfile-kms', contention(backends[LOCKFILE_KMS], KEY));
    lockFileRun = runs.begin('7c-lockfile-versions', lockFileHistory(backends[LOCKFILE_KMS], 'lock-history/terraform.tfstate'));
    bothRun = runs.begin('7b-8-both-kms-managed', contention(backends[BOTH_KMS_MANAGED], KEY));
    migration = runs.begin('9-8-migration', migrate());
  }, 150_000);

  afterAll(() => tearDown('locking-encryption.e2e.test.ts', { runs, clients: [aws], moto, root, timings }), 60_000);

  test('each stack publishes exactly what its construct renders', () => {
    for (const id of Object.keys(stacks)) {
      expect({ id, config: params[id]['backend-config'] }).toEqual({ id, config: expected[id] });
    }
  });

  test('7a. S3_LOCKFILE: no table; <key>.tflock exists only while locked; contention answers 412', async () => {
    const id = LOCKFILE_KMS;
    expect(resources[id].filter((r) => r.ResourceType === 'AWS::DynamoDB::Table')).toEqual([]);
    expect(params[id]['lock-table']).toBeUndefined();
    expect(params[id]['backend-config']).toContain('use_lockfile = true');
    expect(params[id]['backend-config']).not.toContain('dynamodb_table');

    const r = await lockfileRun;
    must(r.holder);
    expect(r.held.file?.Operation).toBe('OperationTypeApply');
    expect(r.held.file?.Path).toBe(`${backends[id].bucket}/${KEY}`);
    expect(r.late.code).toBe(1);
    expect(r.late.output).toContain('Error acquiring the state lock');
    expect(r.late.output).toContain('StatusCode: 412');
    expect(r.late.output).toContain('PreconditionFailed');
    expect(r.late.output).toMatch(new RegExp(`ID:\\s+${r.held.file!.ID}`));
    must(r.waiter, [r.held.item?.ID ?? r.held.file!.ID]);
    expect(recordedRun(r.finalState)).toBe('waiter');
    expect(r.after.file).toBeUndefined();
  });

  test(`7c. S3_LOCKFILE, versioned: every locked run leaves one version and one delete marker of the lock file (${LOCKED_RUNS} runs)`, async () => {
    const r = await lockFileRun;
    // `init` takes no lock; each apply then adds exactly one version (its lock) and one
    // delete marker (its unlock), which stays current. Nothing here removes them: in S3,
    // the construct's lifecycle rule keeps the newest versions and the current marker
    // for good (see noncurrentVersionsToRetain), and moto runs no lifecycle at all.
    expect(r.counts).toEqual(Array.from({ length: LOCKED_RUNS + 1 }, (_, i) => ({ versions: i, deleteMarkers: i, latestIsDeleteMarker: i > 0 })));
  });

  test('7b. DYNAMODB_AND_S3_LOCKFILE: the lock file and the lock item are held at once, with one lock ID; the file is taken first', async () => {
    const id = BOTH_KMS_MANAGED;
    const r = await bothRun;
    must(r.holder);
    expect(r.held.item).toBeDefined();
    expect(r.held.file).toBeDefined();
    expect(r.held.item!.ID).toBe(r.held.file!.ID);
    expect(r.held.item!.Path).toBe(`${backends[id].bucket}/${KEY}`);
    expect(r.late.code).toBe(1);
    // The lock file is taken first: contention shows S3's 412, not DynamoDB's condition failure.
    expect(r.late.output).toContain('StatusCode: 412');
    expect(r.late.output).not.toContain('ConditionalCheckFailedException');
    must(r.waiter, [r.held.item?.ID ?? r.held.file!.ID]);
    expect(recordedRun(r.finalState)).toBe('waiter');
    expect(r.after).toEqual({ item: undefined, file: undefined });
  });

  test('8. every encryption reaches Terraform\'s writes: AES256 for S3_MANAGED, aws:kms for KMS_MANAGED, the stack\'s key for KMS', async () => {
    await Promise.all([lockfileRun, bothRun]);
    const m = await migration;
    const [kms, kmsManaged, s3Managed] = await Promise.all([
      getObject(backends[LOCKFILE_KMS], KEY), getObject(backends[BOTH_KMS_MANAGED], KEY), getObject(backends[MIGRATION], KEY),
    ]);
    expect(m.steps[0].config).toContain('encrypt        = true');
    expect(s3Managed?.sse).toBe('AES256');
    expect(params[BOTH_KMS_MANAGED]['backend-config']).toContain('kms_key_id     = "alias/aws/s3"');
    expect(kmsManaged?.sse).toBe('aws:kms');
    const keyArn = params[LOCKFILE_KMS]['kms-key-arn'];
    expect(keyArn).toMatch(new RegExp(`^arn:aws:kms:${E2E_REGION}:${account}:key/`));
    expect(params[LOCKFILE_KMS]['backend-config']).toContain(`kms_key_id   = "${keyArn}"`);
    expect(kms?.sse).toBe('aws:kms');
    expect(kms?.kmsKeyId).toBe(keyArn);
  });

  test('9. migration: state written under DYNAMODB survives init -reconfigure through DYNAMODB_AND_S3_LOCKFILE to S3_LOCKFILE', async () => {
    const m = await migration;
    expect(m.steps.map((s) => s.config.includes('dynamodb_table'))).toEqual([true, true, false]);
    expect(m.steps.map((s) => s.config.includes('use_lockfile'))).toEqual([false, true, true]);
    // Step 2's config is what the updated stack publishes, and what its construct renders.
    expect(m.publishedAfterUpdate).toBe(m.expectedAfterUpdate);
    // The resource is in state at each step (in steps 2 and 3 before they apply), and each apply wrote it.
    expect(m.steps.map((s) => s.list.stdout.trim())).toEqual([RESOURCE_ADDRESS, RESOURCE_ADDRESS, RESOURCE_ADDRESS]);
    expect(m.states.map(recordedRun)).toEqual(['step-1', 'step-2', 'step-3']);
    // Step 2: an unchanged runner (table only) holding the lock excludes a changed one (both),
    // which fails on the lock item and removes the lock file it had taken.
    expect(m.exclusion.held.item?.Operation).toBe('OperationTypeApply');
    expect(m.exclusion.newRun.code).toBe(1);
    expect(m.exclusion.newRun.output).toContain('Error acquiring the state lock');
    expect(m.exclusion.newRun.output).toContain('ConditionalCheckFailedException');
    expect(m.exclusion.fileLeft).toBeUndefined();
    // Steps 1 and 2 kept the digest item current; step 3 (no table) no longer writes it.
    expect(m.digests[0]).toBe(md5(m.states[0]!));
    expect(m.digests[1]).toBe(md5(m.states[1]!));
    expect(m.digests[2]).toBe(m.digestBeforeStep3);
    expect(m.digests[2]).not.toBe(md5(m.states[2]!));
    expect(m.lockFileAfter).toEqual({ item: undefined, file: undefined });
    // So a runner still configured with dynamodb_table now refuses the state (checksum error):
    // every runner must have moved to step 2's config before any runs step 3's.
    expect(m.oldAfterStep3.code).toBe(1);
    expect(m.oldAfterStep3.output).toContain('state data in S3 does not have the expected content');
  });
});
