/**
 * End to end, `tfstate-ops bootstrap` as users run it (the package's bin, a child process
 * with only the emulator's endpoint and throw-away credentials), on moto_server:
 *
 * 1. Without a terminal and without --yes: the change set is shown, nothing executed, and
 *    the empty stack the CREATE change set made is gone.
 * 2. Create (DYNAMODB locking), writing the -backend-config file; the file is exactly what
 *    the stack's own template publishes (its SSM `backend-config` parameter, the template's
 *    BackendConfigFile output evaluated by moto).
 * 3. The same flags again: nothing to change, and it says so; nothing executed.
 * 4. An update to DYNAMODB_AND_S3_LOCKFILE, in place: the change set modifies the published
 *    config; the new file has both locks; then the real Terraform `init`/`apply` on it, with
 *    the file bootstrap wrote, takes and releases both locks.
 * 5. A changed --bucket is refused (exit 3) and nothing changes.
 * 6. The tool on a user's PATH: the packed CLI (`npm pack -w cli`) installed into a
 *    temporary prefix runs `--help` and `bootstrap --dry-run` from an empty folder, with
 *    no part of this repository on its PATH.
 *
 * What moto cannot prove (cli/test/bootstrap.test.ts proves it on a fake CloudFormation):
 * a Replacement in a change set (moto's DescribeChangeSet has no Replacement and lists no
 * change at all for a changed BucketName, so (5) is the tool's own check of the names
 * against the stack's physical IDs); stack outputs (moto returns none: the backend is built
 * from the stack's parameters and physical IDs, and the tool says so); failure reasons in
 * stack events (moto fails inside ExecuteChangeSet instead); IAM; and the update of a
 * stack made by `cdk deploy` (moto's stack updates of CDK stacks hang or lose resources,
 * TRAPS.md 11; the fake proves the parameters and the removal of CDKMetadata).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DescribeStackEventsCommand, DescribeStacksCommand, ListChangeSetsCommand } from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { E2E_REGION, emulatorEnv, REPO_ROOT } from '../support/cdk-cli';
import { MotoServer, startMotoServer } from '../support/moto-server';
import { cleanEnv, ProcessResult, runProcess } from '../support/processes';
import { emulatorBackendConfig } from '../support/terraform';
import { describeToolRun, tfstateOpsBin, ToolRun } from '../support/tfstate-ops';
import { describeWithTools, E2E_TOOLS } from '../support/tools';
import { Backend, discoveryParameters, emulatorClients, EmulatorClients, getObject, must, recordedRun, runners, ScenarioRuns, tearDown } from './scenarios';

const STACK = 'E2eBootstrap';
const BUCKET = 'e2e-bootstrap-state';
const TABLE = 'e2e-bootstrap-lock';
const PREFIX = '/e2e/bootstrap/';
const KEY = 'e2e/bootstrap.tfstate';
const NAMES = ['--stack-name', STACK, '--bucket', BUCKET, '--table', TABLE, '--discovery-prefix', PREFIX, '--state-key', KEY];

jest.setTimeout(120_000);

interface Steps {
  noYes: ToolRun;
  stackAfterNoYes?: string;
  create: ToolRun;
  createdConfig: string;
  published: Record<string, string>;
  again: ToolRun;
  eventsBefore: number;
  eventsAfter: number;
  update: ToolRun;
  updatedConfig: string;
  publishedAfterUpdate: Record<string, string>;
  init: ProcessResult;
  apply: ProcessResult;
  state?: string;
  lockFileLeft: boolean;
  rename: ToolRun;
  changeSetsLeft: string[];
  durationMs: number;
}

interface Installed {
  pack: ProcessResult;
  install: ProcessResult;
  help: ProcessResult;
  dryRun: ProcessResult;
  dryStack?: string;
  bin: string;
  durationMs: number;
}

describeWithTools(E2E_TOOLS, 'tfstate-ops bootstrap on moto_server', () => {
  let moto: MotoServer;
  let aws: EmulatorClients;
  let root: string;
  let steps: Promise<Steps>;
  let installed: Promise<Installed>;
  const runs = new ScenarioRuns();

  const bin = (argv: string[]) => tfstateOpsBin(['bootstrap', ...argv], moto.endpoint);
  const stackStatus = (name: string) => aws.cfn.send(new DescribeStacksCommand({ StackName: name }))
    .then((r) => r.Stacks?.[0]?.StackStatus, () => undefined);
  const eventCount = async () => (await aws.cfn.send(new DescribeStackEventsCommand({ StackName: STACK }))).StackEvents?.length ?? 0;
  const exit = (r: ToolRun, code: number) => {
    if (r.code !== code) throw new Error(`expected exit ${code}\n${describeToolRun(r)}`);
    return r;
  };

  async function runSteps(): Promise<Steps> {
    const t0 = Date.now();
    const noYes = await bin(NAMES);
    const stackAfterNoYes = await stackStatus(STACK);
    const created = path.join(root, 'created.hcl');
    const create = exit(await bin([...NAMES, '--yes', '--write-backend-config', created]), 0);
    const published = await discoveryParameters(aws.ssm, PREFIX);
    const eventsBefore = await eventCount();
    const again = exit(await bin([...NAMES, '--yes']), 0);
    const eventsAfter = await eventCount();
    const updated = path.join(root, 'updated.hcl');
    const update = exit(await bin([...NAMES, '--locking', 'DYNAMODB_AND_S3_LOCKFILE', '--yes', '--write-backend-config', updated]), 0);
    const publishedAfterUpdate = await discoveryParameters(aws.ssm, PREFIX);
    const updatedConfig = fs.readFileSync(updated, 'utf8');

    const b: Backend = {
      label: 'bootstrap', bucket: BUCKET, table: TABLE, lockfile: true, s3: aws.s3, ddb: aws.ddb, root,
      backendConfig: updatedConfig,
      emulatorConfig: emulatorBackendConfig({ s3: moto.endpoint, dynamodb: moto.endpoint, sts: moto.endpoint }),
    };
    const [dir] = runners(b, 'apply', ['runner']);
    const init = must(await dir.init());
    const apply = must(await dir.apply({ run: 'bootstrap' }));
    const state = (await getObject(b, KEY))?.body;
    const lockFileLeft = (await getObject(b, `${KEY}.tflock`)) !== undefined;

    const rename = await bin([...NAMES.map((a) => (a === BUCKET ? 'e2e-bootstrap-renamed' : a)), '--locking', 'DYNAMODB_AND_S3_LOCKFILE', '--yes']);
    const stackId = (await aws.cfn.send(new DescribeStacksCommand({ StackName: STACK }))).Stacks![0].StackId;
    // moto lists every stack's change sets here: keep this stack's.
    const changeSetsLeft = ((await aws.cfn.send(new ListChangeSetsCommand({ StackName: STACK }))).Summaries ?? [])
      .filter((s) => s.StackId === stackId && s.ExecutionStatus === 'AVAILABLE').map((s) => s.ChangeSetName!);
    return {
      noYes, stackAfterNoYes, create, createdConfig: fs.readFileSync(created, 'utf8'), published, again, eventsBefore, eventsAfter,
      update, updatedConfig, publishedAfterUpdate, init, apply, state, lockFileLeft, rename, changeSetsLeft, durationMs: Date.now() - t0,
    };
  }

  /** item 4: the packed CLI in a temporary prefix, run from an empty folder. */
  async function installAndRun(): Promise<Installed> {
    const t0 = Date.now();
    const dir = fs.mkdtempSync(path.join(root, 'pack-'));
    const npm = (args: string[], cwd: string) => runProcess('npm', args, { cwd, env: cleanEnv({}), timeoutMs: 110_000 });
    const pack = await npm(['pack', '-w', 'cli', '--ignore-scripts', '--pack-destination', dir], REPO_ROOT);
    const tgz = path.join(dir, 'cdk-terraform-state-backend-cli-0.1.0.tgz');
    const prefix = path.join(dir, 'prefix');
    const install = await npm(['install', '-g', '--prefix', prefix, tgz, '--prefer-offline', '--no-audit', '--no-fund'], dir);
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-bootstrap-empty-'));
    const toolBin = path.join(prefix, 'bin', 'tfstate-ops');
    // Only node and the system on PATH: nothing of this repository (no node_modules/.bin).
    const env = { ...emulatorEnv(moto.endpoint), PATH: `${path.join(prefix, 'bin')}:${path.dirname(process.execPath)}:/usr/bin:/bin` };
    try {
      const help = await runProcess('tfstate-ops', ['--help'], { cwd: empty, env, timeoutMs: 30_000 });
      const dryRun = await runProcess('tfstate-ops', ['bootstrap', '--stack-name', 'E2eInstalledDryRun', '--bucket', 'e2e-installed-dry-run', '--dry-run'],
        { cwd: empty, env, timeoutMs: 60_000 });
      return { pack, install, help, dryRun, dryStack: await stackStatus('E2eInstalledDryRun'), bin: toolBin, durationMs: Date.now() - t0 };
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  }

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-bootstrap-'));
    moto = await startMotoServer();
    aws = emulatorClients(moto.endpoint);
    steps = runs.begin('bootstrap-steps', runSteps());
    installed = runs.begin('installed-cli', installAndRun());
    await runs.settled();
  }, 240_000);

  afterAll(() => tearDown('bootstrap.e2e.test.ts', { runs, clients: [aws], moto, root, timings: runs.timings }), 60_000);

  test('without a terminal and without --yes: the change set shown, nothing executed, no stack left', async () => {
    const s = await steps;
    expect(s.noYes.code).toBe(2);
    expect(s.noYes.stdout).toContain(`(CREATE) for stack ${STACK} in ${E2E_REGION}:\n  Add     AWS::S3::Bucket`);
    expect(s.noYes.stderr).toContain('there is no terminal to ask on; pass --yes to execute the changes above without a prompt');
    expect(s.stackAfterNoYes === undefined || s.stackAfterNoYes === 'DELETE_COMPLETE').toBe(true);
  });

  test('create: the stack, bucket and table made; the file written is what the template publishes', async () => {
    const s = await steps;
    expect(s.create.stdout).toContain(`Stack ${STACK} is CREATE_COMPLETE in ${E2E_REGION}.`);
    expect(s.create.stderr).toContain(`creating stack ${STACK} in ${E2E_REGION} from backend-dynamodb-s3-managed.template.json`);
    // moto returns no stack outputs (TRAPS.md 11), and the tool says where the backend came from.
    expect(s.create.stderr).toContain('returned no outputs: the backend below is built from its parameters and physical resource IDs');
    // Progress: the stack's events on stderr.
    expect(s.create.stderr).toMatch(/tfstate-ops: {3}\d\d:\d\d:\d\d {2}CREATE_COMPLETE {2}AWS::CloudFormation::Stack {2}E2eBootstrap/);
    await expect(aws.s3.send(new HeadBucketCommand({ Bucket: BUCKET }))).resolves.toBeDefined();
    expect((await aws.ddb.send(new DescribeTableCommand({ TableName: TABLE }))).Table?.KeySchema).toEqual([{ AttributeName: 'LockID', KeyType: 'HASH' }]);
    expect(s.createdConfig).toBe(s.published['backend-config']);
    expect(s.createdConfig).toBe(`bucket         = "${BUCKET}"\nkey            = "${KEY}"\nregion         = "${E2E_REGION}"\n`
      + `dynamodb_table = "${TABLE}"\nencrypt        = true\n`);
    expect(s.create.stdout).toContain(`Wrote ${path.join(root, 'created.hcl')} (terraform init -backend-config=`);
  });

  test('the same flags again: nothing to change, and it says so; nothing executed', async () => {
    const s = await steps;
    // CloudFormation fails the change set with "didn't contain changes"; moto refuses CreateChangeSet itself (both are handled).
    expect(s.again.stderr).toMatch(new RegExp(`stack ${STACK} is up to date: nothing to change \\((The submitted information didn't contain changes|CreateChangeSet: No updates are to be performed)`));
    expect(s.again.stdout).toContain(`Stack ${STACK} in ${E2E_REGION} already matches: nothing changed.`);
    expect(s.again.stdout).not.toContain('Change set');
    expect(s.eventsAfter).toBe(s.eventsBefore);
  });

  test('an update to DYNAMODB_AND_S3_LOCKFILE, in place; then Terraform init/apply with the file bootstrap wrote', async () => {
    const s = await steps;
    expect(s.update.stdout).toContain('(UPDATE) for stack E2eBootstrap');
    expect(s.update.stdout).toContain('Modify  AWS::SSM::Parameter     BackendDiscoveryBackendConfigA7FBF82F');
    expect(s.update.stdout).toContain(`Stack ${STACK} is UPDATE_COMPLETE in ${E2E_REGION}.`);
    expect(s.updatedConfig).toBe(s.publishedAfterUpdate['backend-config']);
    expect(s.updatedConfig).toBe(`bucket         = "${BUCKET}"\nkey            = "${KEY}"\nregion         = "${E2E_REGION}"\n`
      + `dynamodb_table = "${TABLE}"\nuse_lockfile   = true\nencrypt        = true\n`);
    expect(s.init.output).toContain('Successfully configured the backend "s3"');
    expect(recordedRun(s.state)).toBe('bootstrap');
    expect(s.lockFileLeft).toBe(false);
  });

  test('a changed --bucket is refused, nothing changed, no change set left', async () => {
    const s = await steps;
    expect(s.rename.code).toBe(3);
    expect(s.rename.stderr).toContain(`refused, nothing was changed: --bucket e2e-bootstrap-renamed: the stack's state bucket is ${BUCKET}; a new name would replace it`);
    expect(s.changeSetsLeft).toEqual([]);
    await expect(aws.s3.send(new HeadBucketCommand({ Bucket: 'e2e-bootstrap-renamed' }))).rejects.toThrow();
  });

  test('the packed CLI installed into a prefix: --help and bootstrap --dry-run from an empty folder', async () => {
    const r = await installed;
    expect({ pack: r.pack.code, install: r.install.code }).toEqual({ pack: 0, install: 0 });
    expect(fs.existsSync(r.bin)).toBe(true);
    expect(r.help.code).toBe(0);
    expect(r.help.stdout).toContain('bootstrap                  deploy the backend');
    expect(r.dryRun.code).toBe(0);
    expect(r.dryRun.stdout).toContain('(CREATE) for stack E2eInstalledDryRun');
    expect(r.dryRun.stderr).toContain('dry run: change set tfstate-ops-bootstrap-');
    expect(r.dryStack === undefined || r.dryStack === 'DELETE_COMPLETE').toBe(true);
  });
});
