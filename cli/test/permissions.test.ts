/**
 * The permissions each command needs, from one source (src/permissions.ts): docs/on-call.md's and cli/README.md's
 * tables and every --help show it, and every command runs as a caller whose policy is
 * exactly its grants, on emulated S3 that answers a missing object with 403 to a caller
 * without s3:ListBucket, as S3 does. (KMS and SSM are not emulated: their grants are
 * checked by the tables only.)
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { COMMAND_NAMES, StateCommandName } from '../src/commands';
import { ExitCode } from '../src/errors';
import { COMMAND_HELP } from '../src/help';
import { bootstrapPermissionsTable, Grant, PERMISSIONS, permissionsHelp, permissionsTable } from '../src/permissions';
import { Allow, FakeAws, fakeAws } from './fake-aws';
import { BUCKET, run, TABLE, terraformLock, tfState, withoutStateLine } from './helpers';

type Mode = 'table' | 'lockfile' | 'both';

const MODE_FLAGS: Record<Mode, string[]> = {
  table: ['--bucket', BUCKET, '--table', TABLE],
  lockfile: ['--bucket', BUCKET, '--lockfile'],
  both: ['--bucket', BUCKET, '--table', TABLE, '--lockfile'],
};

const KEY = 'net/terraform.tfstate';
const ID = '715f2a2a-25f3-8954-68f0-52ef6df5e0ce';
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** A command's grants for a backend locking by `mode`, as IAM allows on one state. */
function policyFor(command: StateCommandName, mode: Mode, statePath = KEY): Allow[] {
  const p = PERMISSIONS[command];
  const grants: Grant[] = [...p.always, ...(mode !== 'lockfile' ? p.table : []), ...(mode !== 'table' ? p.lockfile : [])];
  const resource: Record<Grant['on'], string | undefined> = {
    'bucket': `arn:aws:s3:::${BUCKET}`,
    'state': `arn:aws:s3:::${BUCKET}/${statePath}`,
    'lock file': `arn:aws:s3:::${BUCKET}/${statePath}.tflock`,
    'lock files': `arn:aws:s3:::${BUCKET}/*.tflock`,
    'states': `arn:aws:s3:::${BUCKET}/*.tfstate`,
    'role': undefined,
    'organization': undefined,
    'table': TABLE,
    'key': undefined,
    'parameters': undefined,
    // bootstrap's, not these commands'.
    'stack': undefined,
    'made bucket': undefined,
    'made table': undefined,
    'made parameters': undefined,
    'made key': undefined,
  };
  return grants.flatMap((g) => (resource[g.on] === undefined ? [] : g.actions.map((action) => ({ action, resource: resource[g.on]! }))));
}

/** Both clients take the policy. */
function allowOnly(aws: FakeAws, allows: readonly Allow[]): void {
  aws.s3.allowOnly(allows);
  aws.dynamodb.allowOnly(allows);
}

/** Two versions of the state KEY, with the digest of the last. */
function backend(): FakeAws {
  const aws = fakeAws();
  aws.s3.put(BUCKET, KEY, tfState(1, 'one'));
  aws.s3.put(BUCKET, KEY, tfState(2, 'two'));
  aws.dynamodb.putRaw(TABLE, { LockID: { S: `${BUCKET}/${KEY}-md5` }, Digest: { S: md5(tfState(2, 'two')) } });
  return aws;
}

/** A stale lock on KEY, of the kinds `mode` uses. */
function lock(aws: FakeAws, mode: Mode): void {
  if (mode !== 'lockfile') aws.dynamodb.putRaw(TABLE, { LockID: { S: `${BUCKET}/${KEY}` }, Info: { S: terraformLock(ID, `${BUCKET}/${KEY}`) } });
  if (mode !== 'table') aws.s3.put(BUCKET, `${KEY}.tflock`, terraformLock(ID, `${BUCKET}/${KEY}`));
}

/** Two locked runs on KEY, each leaving a version of the lock file and a delete marker. */
function lockedTwice(aws: FakeAws): void {
  for (let i = 0; i < 2; i++) {
    aws.s3.put(BUCKET, `${KEY}.tflock`, terraformLock(ID, `${BUCKET}/${KEY}`));
    aws.s3.remove(BUCKET, `${KEY}.tflock`);
  }
}

describe('one source', () => {
  test.each([['docs/on-call.md', path.join(__dirname, '..', '..', 'docs', 'on-call.md')], ['cli/README.md', path.join(__dirname, '..', 'README.md')]])(
    '%s holds the Permissions table the code needs, exactly', (_name, file) => {
      expect(fs.readFileSync(file, 'utf8')).toContain(permissionsTable());
    });

  test.each([['cli/README.md', path.join(__dirname, '..', 'README.md')], ['docs/bootstrap.md', path.join(__dirname, '..', '..', 'docs', 'bootstrap.md')]])(
    '%s holds bootstrap\'s Permissions table, exactly', (_name, file) => {
      expect(fs.readFileSync(file, 'utf8')).toContain(bootstrapPermissionsTable());
    });

  test.each(COMMAND_NAMES)('%s --help lists its permissions', (command) => {
    expect(COMMAND_HELP[command]).toContain(permissionsHelp(command));
  });
});

describe('each command works as a caller with exactly the grants of its row', () => {
  const cases: Array<[StateCommandName, Mode, (aws: FakeAws) => string[], ExitCode]> = [];
  for (const mode of ['table', 'lockfile', 'both'] as const) {
    cases.push(
      ['locks', mode, (aws) => { lock(aws, mode); return ['locks']; }, ExitCode.OK],
      ['unlock', mode, (aws) => { lock(aws, mode); return ['unlock', KEY, '--id', ID]; }, ExitCode.OK],
      ['history', mode, () => ['history', KEY], ExitCode.OK],
      ['restore', mode, (aws) => ['restore', KEY, '--version-id', aws.s3.versionsOf(BUCKET, KEY)[0].versionId], ExitCode.OK],
      // Two released locks: two versions and two delete markers of the lock file, all deleted.
      ['prune-locks', mode, (aws) => { lockedTwice(aws); return ['prune-locks', '--delete']; }, ExitCode.OK],
      ['prune-locks', mode, (aws) => { lockedTwice(aws); return ['prune-locks']; }, ExitCode.OK],
      ['restore', mode, (aws) => ['restore', KEY, '--version-id', aws.s3.versionsOf(BUCKET, KEY)[0].versionId, '--dry-run'], ExitCode.OK],
      ['diff', mode, () => ['diff', KEY], ExitCode.OK],
      ['inventory', mode, (aws) => { lock(aws, mode); return ['inventory']; }, ExitCode.OK],
    );
  }
  for (const mode of ['table', 'both'] as const) {
    cases.push(
      ['digest', mode, () => ['digest', KEY], ExitCode.OK],
      ['digest', mode, (aws) => { aws.s3.put(BUCKET, KEY, tfState(3, 'by hand')); return ['digest', KEY]; }, ExitCode.MISMATCH],
      ['digest', mode, (aws) => { aws.s3.put(BUCKET, KEY, tfState(3, 'by hand')); return ['digest', KEY, '--fix']; }, ExitCode.OK],
      // A state that is gone: its GetObject answers 404 only thanks to s3:ListBucket.
      ['digest', mode, (aws) => { aws.s3.remove(BUCKET, KEY); return ['digest', KEY, '--fix']; }, ExitCode.OK],
      // Terraform's lock item without its lock file (a run killed between the two): the missing .tflock is absent, not denied.
      ['unlock', mode, (aws) => { lock(aws, 'table'); return ['unlock', KEY, '--id', ID]; }, ExitCode.OK],
    );
  }

  test.each(cases)('%s, %s', async (command, mode, setUp, code) => {
    const aws = backend();
    const argv = setUp(aws);
    allowOnly(aws, policyFor(command, mode));
    const r = await run([...argv, ...MODE_FLAGS[mode]], aws);
    // prune-locks says what it looked at on stderr, as other commands name their state.
    expect({ code: r.code, err: withoutStateLine(r.err).replace(/^tfstate-ops: looked at .*\n/m, '') }).toEqual({ code, err: '' });
    const refused = [...aws.s3.authorized, ...aws.dynamodb.authorized].filter((a) => !aws.s3.allows(a.action, a.resource));
    expect(refused).toEqual([]);
    if (command === 'prune-locks' && argv.includes('--delete')) {
      expect(aws.s3.versionsOf(BUCKET, `${KEY}.tflock`)).toEqual([]);
    }
  });

  test('with DynamoDB locking, unlock and digest read no lock file at all (unlock read the .tflock: 403 for a role without it)', async () => {
    for (const argv of [['unlock', KEY, '--id', ID], ['digest', KEY, '--fix']]) {
      const aws = backend();
      if (argv[0] === 'unlock') lock(aws, 'table');
      aws.s3.put(BUCKET, KEY, tfState(3, 'by hand'));
      const r = await run([...argv, ...MODE_FLAGS.table], aws);
      expect(withoutStateLine(r.err)).toBe('');
      expect(aws.s3.authorized.filter((a) => a.resource.endsWith('.tflock'))).toEqual([]);
    }
  });
});

describe('a refusal names the permission that is missing', () => {
  test('no s3:ListBucket, and the lock file is missing: S3\'s 403 is explained, s3:ListBucket asked for (not s3:GetObject, which is granted)', async () => {
    const aws = backend();
    lock(aws, 'table');
    allowOnly(aws, policyFor('unlock', 'both').filter((a) => a.action !== 's3:ListBucket'));
    const r = await run(['unlock', KEY, '--id', ID, ...MODE_FLAGS.both], aws);
    expect(r.code).toBe(ExitCode.FAILURE);
    expect(withoutStateLine(r.err)).toBe(`tfstate-ops: S3 answered 403 (AccessDenied) to s3:GetObject on arn:aws:s3:::${BUCKET}/${KEY}.tflock and refused s3:ListBucket `
      + `on arn:aws:s3:::${BUCKET}: without s3:ListBucket, S3 answers 403 instead of 404 for an object that does not exist, so whether `
      + `s3://${BUCKET}/${KEY}.tflock exists cannot be told. Ask for s3:ListBucket on arn:aws:s3:::${BUCKET} (this command needs it; its --help lists `
      + 'what it needs), or use credentials that have it (AWS_PROFILE).\n');
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/${KEY}`)).toBeDefined();
  });

  test('no s3:ListBucket, and the state is missing: the same for digest', async () => {
    const aws = backend();
    aws.s3.remove(BUCKET, KEY);
    allowOnly(aws, policyFor('digest', 'table').filter((a) => a.action !== 's3:ListBucket'));
    const r = await run(['digest', KEY, ...MODE_FLAGS.table], aws);
    expect(r.code).toBe(ExitCode.FAILURE);
    expect(r.err).toContain(`Ask for s3:ListBucket on arn:aws:s3:::${BUCKET} (this command needs it`);
    expect(r.err).not.toContain('Ask for s3:GetObject');
  });

  test('the lock file exists and s3:GetObject on it is not granted: s3:GetObject is asked for', async () => {
    const aws = backend();
    lock(aws, 'lockfile');
    allowOnly(aws, policyFor('unlock', 'lockfile').filter((a) => a.action !== 's3:GetObject'));
    const r = await run(['unlock', KEY, '--id', ID, ...MODE_FLAGS.lockfile], aws);
    expect(r.code).toBe(ExitCode.FAILURE);
    expect(withoutStateLine(r.err)).toBe(`tfstate-ops: s3:GetObject on arn:aws:s3:::${BUCKET}/${KEY}.tflock was refused (AccessDenied: Access Denied). `
      + 'Ask for s3:GetObject on that resource, or use credentials that have it (AWS_PROFILE).\n');
  });

  test('s3:ListBucket granted only for listings (an s3:prefix condition): a missing lock file answers 403, and is found absent by listing', async () => {
    const aws = backend();
    lock(aws, 'table');
    aws.s3.listBucketCoversMissingKeys = false;
    allowOnly(aws, policyFor('unlock', 'both'));
    const r = await run(['unlock', KEY, '--id', ID, ...MODE_FLAGS.both], aws);
    expect({ code: r.code, err: withoutStateLine(r.err) }).toEqual({ code: ExitCode.OK, err: '' });
    expect(aws.s3.calls('ListObjectsV2Command').map((c) => c.input)).toEqual([{ Bucket: BUCKET, Prefix: `${KEY}.tflock`, MaxKeys: 1 }]);
    expect(aws.dynamodb.item(TABLE, `${BUCKET}/${KEY}`)).toBeUndefined();
  });
});
