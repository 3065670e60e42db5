import { createHash } from 'crypto';
import { ExitCode } from '../src/errors';
import { main } from '../src/main';
import { fakeAws, FakeAws, fakeFleet } from './fake-aws';
import { BUCKET, NOW, TABLE, terraformLock, tfState } from './helpers';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const A = '111111111111';
const B = '222222222222';
const C = '333333333333';
const ID = '715f2a2a-25f3-8954-68f0-52ef6df5e0ce';
const DISCOVERY = ['--discovery', '/terraform/backend/'];

/** An account whose backend is published under /terraform/backend/, with one state (locked in A). */
function account(id: string, locked = false): FakeAws {
  const aws = fakeAws();
  aws.ssm.parameters.set('/terraform/backend/backend-config', `bucket = "${BUCKET}"\ndynamodb_table = "${TABLE}"\nregion = "eu-west-1"\n`);
  const body = tfState(1, id);
  aws.s3.put(BUCKET, `${id}/terraform.tfstate`, body);
  aws.dynamodb.putRaw(TABLE, { LockID: { S: `${BUCKET}/${id}/terraform.tfstate-md5` }, Digest: { S: md5(body) } });
  if (locked) aws.dynamodb.putRaw(TABLE, { LockID: { S: `${BUCKET}/${id}/terraform.tfstate` }, Info: { S: terraformLock(ID, `${BUCKET}/${id}/terraform.tfstate`) } });
  return aws;
}

function setUp() {
  const accounts = { [A]: account(A, true), [B]: fakeAws(), [C]: account(C) };
  const fleet = fakeFleet(accounts, fakeAws());
  fleet.sts.trusted.add(`arn:aws:iam::${A}:role/OnCall`);
  fleet.sts.trusted.add(`arn:aws:iam::${B}:role/OnCall`);
  return { accounts, fleet };
}

async function runFleet(argv: string[], clients = setUp().fleet.clients) {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (t) => { out += t; }, stderr: (t) => { err += t; }, env: {}, now: () => NOW, who: 'runner@ci', clients, readFile: () => '' });
  return { code, out, err };
}

describe('several backends at once', () => {
  test('inventory --accounts: one document per account and region; the unreachable ones with their reason; exit 1', async () => {
    const { accounts, fleet } = setUp();
    const r = await runFleet(['inventory', '--accounts', `${A},${B},${C}`, '--role-name', 'OnCall', '--regions', 'eu-west-1', ...DISCOVERY, '--json'], fleet.clients);
    expect(r.code).toBe(ExitCode.FAILURE);
    const doc = JSON.parse(r.out);
    expect(doc.failed).toBe(2);
    expect(doc.backends.map((b: Record<string, unknown>) => [b.account, b.region, b.ok])).toEqual([[A, 'eu-west-1', true], [B, 'eu-west-1', false], [C, 'eu-west-1', false]]);
    expect(doc.backends[0].states.map((s: { path: string; digest: string }) => [s.path, s.digest])).toEqual([[`${A}/terraform.tfstate`, 'match']]);
    expect(doc.backends[1].error).toEqual({ exitCode: ExitCode.NOT_FOUND, message: expect.stringContaining('no discovery parameters under /terraform/backend/ in eu-west-1') });
    expect(doc.backends[2].error.message).toContain(`sts:AssumeRole on arn:aws:iam::${C}:role/OnCall was refused (AccessDenied`);
    // C's backend was never touched: its role was refused.
    expect(accounts[C].s3.sent).toEqual([]);
    expect(fleet.sts.calls('AssumeRoleCommand').map((c) => c.input.RoleSessionName)).toEqual(Array(3).fill('tfstate-ops-runner@ci'));
  });

  test('locks --organization: the ACTIVE accounts only, one table with ACCOUNT and REGION columns, failures as lines', async () => {
    const { accounts, fleet } = setUp();
    fleet.organizations.accounts = [{ Id: A, Status: 'ACTIVE' }, { Id: B, State: 'ACTIVE' }, { Id: '444444444444', Status: 'SUSPENDED' }];
    const r = await runFleet(['locks', '--organization', '--role-name', 'OnCall', '--regions', 'eu-west-1,us-east-1', ...DISCOVERY], fleet.clients);
    expect(r.code).toBe(ExitCode.FAILURE);
    expect(r.out).toMatch(new RegExp(`^ACCOUNT +REGION +STATE PATH +LOCK +ID`));
    expect(r.out).toMatch(new RegExp(`^${A} +eu-west-1 +${A}/terraform\\.tfstate +dynamodb +${ID} +alice@laptop +apply`, 'm'));
    expect(r.out).toMatch(new RegExp(`^${A} +us-east-1 +${A}/terraform\\.tfstate +dynamodb`, 'm'));
    expect(r.out).toContain(`2 locks in 2 backends. Looked at:\n  ${A} eu-west-1: the lock items of table ${TABLE}`);
    expect(r.out).toContain(`2 backends not reached:\n  ${B} eu-west-1: no discovery parameters under /terraform/backend/ in eu-west-1`);
    expect(r.out).not.toContain('444444444444');
    expect(fleet.organizations.calls('ListAccountsCommand')).toHaveLength(2);
    // The parameters are read in each region; the backend is where they say (eu-west-1), not moved to us-east-1.
    const regions = (service: string) => accounts[A].made.filter((m) => m.service === service)
      .map((m) => (m.options as { region?: string }).region).sort();
    expect(regions('ssm')).toEqual(['eu-west-1', 'us-east-1']);
    expect(regions('s3')).toEqual(['eu-west-1', 'eu-west-1']);
  });

  test('every backend reached: exit 0', async () => {
    const { fleet } = setUp();
    const r = await runFleet(['inventory', '--accounts', A, '--role-name', 'OnCall', '--regions', 'eu-west-1', ...DISCOVERY], fleet.clients);
    expect(r.code).toBe(ExitCode.OK);
    expect(r.out).toMatch(new RegExp(`^${A} +eu-west-1 +${A}/terraform\\.tfstate +default`, 'm'));
  });

  test.each([
    [['--accounts', '1234'], '--accounts must be 12-digit account IDs separated by commas, got "1234" ("1234")'],
    [['--accounts', A], '--accounts needs --role-name NAME: the role this tool assumes in each account (arn:aws:iam::<account>:role/NAME)'],
    [['--organization', '--role-name', 'R'], '--organization finds each account and region\'s backend by its discovery parameters: pass --discovery PREFIX'],
    [['--accounts', A, '--organization', '--role-name', 'R'], '--accounts and --organization both name the accounts: use one of them'],
    [['--role-name', 'R', '--bucket', BUCKET], '--role-name is for several backends at once: pass --accounts ID,ID or --organization with it'],
    [['--accounts', A, '--role-name', 'R', ...DISCOVERY], '--regions must be region names separated by commas (eu-west-1,us-east-1): none given, and no --region or AWS_REGION'],
  ])('%j is refused before any call', async (args, message) => {
    const r = await runFleet(['inventory', ...args]);
    expect({ code: r.code, err: r.err }).toEqual({ code: ExitCode.USAGE, err: `tfstate-ops: ${message}\n` });
  });
});
