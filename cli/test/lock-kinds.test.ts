/**
 * A command that looks for locks knows where they live: it refuses a backend that names
 * neither a lock table nor lock files, and says which kinds it looked at.
 */
import { ExitCode } from '../src/errors';
import { fakeAws } from './fake-aws';
import { BUCKET, run, TABLE, terraformLock } from './helpers';

const ID = '715f2a2a-25f3-8954-68f0-52ef6df5e0ce';

/** A lock item held on terraform.tfstate, and a lock file on net.tfstate. */
function heldLocks() {
  const aws = fakeAws();
  aws.dynamodb.putRaw(TABLE, { LockID: { S: `${BUCKET}/terraform.tfstate` }, Info: { S: terraformLock(ID, `${BUCKET}/terraform.tfstate`) } });
  aws.s3.put(BUCKET, 'net.tfstate.tflock', terraformLock(ID, `${BUCKET}/net.tfstate`));
  return aws;
}

describe('a backend that names no lock is refused, naming the settings', () => {
  const flags = 'the backend names no lock: neither a lock table (--table, dynamodb_table) nor lock files (--lockfile, use_lockfile = true), '
    + 'so there is nowhere to look for locks. Pass --table NAME and/or --lockfile, or a backend configuration that sets dynamodb_table and/or use_lockfile';

  test.each([
    [['locks', '--bucket', BUCKET], `tfstate-ops: locks: ${flags}`],
    [['locks', '--bucket', BUCKET, '--json'], `tfstate-ops: locks: ${flags}`],
    [['unlock', 'terraform.tfstate', '--id', ID, '--bucket', BUCKET], `tfstate-ops: unlock: ${flags}`],
  ])('%j: exit 2, no AWS call (it was a false "No locks", exit 0)', async (argv, message) => {
    const aws = heldLocks();
    const r = await run(argv, aws);
    expect({ code: r.code, err: r.err }).toEqual({ code: ExitCode.USAGE, err: `${message}\n` });
    expect(aws.s3.sent.length + aws.dynamodb.sent.length).toBe(0);
  });

  test('a backend file without dynamodb_table or use_lockfile is named', async () => {
    const r = await run(['locks', '--backend-config', 'backend.hcl'], heldLocks(), { 'backend.hcl': `bucket = "${BUCKET}"\nkey = "terraform.tfstate"\n` });
    expect(r.code).toBe(ExitCode.USAGE);
    expect(r.err).toBe('tfstate-ops: locks: the backend names no lock: backend.hcl sets neither `dynamodb_table` nor `use_lockfile = true`, '
      + 'so there is nowhere to look for locks. Pass --table NAME and/or --lockfile, or a backend configuration that sets dynamodb_table and/or use_lockfile\n');
  });

  test('a typo in the backend file (dynamo_table) is refused with the attribute meant, as Terraform refuses it', async () => {
    const file = `bucket = "${BUCKET}"\nkey = "terraform.tfstate"\ndynamo_table = "${TABLE}"\n`;
    const aws = heldLocks();
    const r = await run(['locks', '--backend-config', 'backend.hcl'], aws, { 'backend.hcl': file });
    expect(r).toEqual({
      code: ExitCode.USAGE,
      out: '',
      err: 'tfstate-ops: cannot use the backend configuration backend.hcl:\n'
        + '  backend.hcl:3: `dynamo_table` is not an argument of the s3 backend; did you mean `dynamodb_table`?\n',
    });
    expect(aws.s3.sent.length + aws.dynamodb.sent.length).toBe(0);
  });
});

describe('locks says which kinds of lock it looked at', () => {
  test('table only: the lock items; lock files are not looked for (no S3 call)', async () => {
    const aws = heldLocks();
    const r = await run(['locks', '--bucket', BUCKET, '--table', TABLE], aws);
    expect(r.code).toBe(ExitCode.OK);
    expect(r.out).toContain(`terraform.tfstate  dynamodb  ${ID}`);
    expect(r.out).not.toContain('net.tfstate');
    expect(r.out).toContain(`\n1 lock. Looked at: the lock items of table ${TABLE}; not lock files (the backend does not use them: no use_lockfile). `);
    expect(aws.s3.sent).toEqual([]);
  });

  test('lock files only: the .tflock objects; no table', async () => {
    const aws = heldLocks();
    const r = await run(['locks', '--bucket', BUCKET, '--lockfile'], aws);
    expect(r.code).toBe(ExitCode.OK);
    expect(r.out).toContain(`net.tfstate  lockfile  ${ID}`);
    expect(r.out).toContain(`\n1 lock. Looked at: the lock files (*.tflock) of s3://${BUCKET}; not a lock table (the backend has none: no dynamodb_table). `);
    expect(aws.dynamodb.sent).toEqual([]);
  });

  test('none found: says where it looked, in text and JSON', async () => {
    const aws = fakeAws();
    const text = await run(['locks', '--bucket', BUCKET, '--table', TABLE, '--lockfile'], aws);
    expect(text).toEqual({
      code: ExitCode.OK,
      err: '',
      out: `No locks. Looked at: the lock items of table ${TABLE}, the lock files (*.tflock) of s3://${BUCKET}.\n`,
    });
    const json = await run(['locks', '--bucket', BUCKET, '--table', TABLE, '--json'], aws);
    expect(JSON.parse(json.out)).toEqual({
      bucket: BUCKET, table: TABLE, searched: [{ kind: 'dynamodb', table: TABLE }], locks: [], notShown: 0,
    });
  });
});

test('digest needs the lock table, and says which file has none', async () => {
  const r = await run(['digest', '--backend-config', 'backend.hcl'], fakeAws(), { 'backend.hcl': `bucket = "${BUCKET}"\nkey = "k"\nuse_lockfile = true\n` });
  expect(r).toEqual({
    code: ExitCode.USAGE,
    out: '',
    err: 'tfstate-ops: digest needs the lock table: Terraform keeps the state digest (<bucket>/<state path>-md5) in the DynamoDB table (dynamodb_table); '
      + 'backend.hcl sets no `dynamodb_table`: pass --table\n',
  });
});
