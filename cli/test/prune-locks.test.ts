import { ExitCode } from '../src/errors';
import { awsFault, FakeAws, fakeAws } from './fake-aws';
import { BUCKET, run, TABLE, terraformLock, tfState } from './helpers';

const LOCKFILE_FLAGS = ['--bucket', BUCKET, '--lockfile'];
const ID = '715f2a2a-25f3-8954-68f0-52ef6df5e0ce';
const NET = 'net/terraform.tfstate';
const APP = 'app/terraform.tfstate';

/** `runs` locked Terraform runs on `state`: each writes the lock file and deletes it (a version and a delete marker). */
function lockedRuns(aws: FakeAws, state: string, runs: number): void {
  for (let i = 0; i < runs; i++) {
    aws.s3.put(BUCKET, `${state}.tflock`, terraformLock(`0000000${i}-0000-0000-0000-000000000000`, `${BUCKET}/${state}`));
    aws.s3.remove(BUCKET, `${state}.tflock`);
  }
}

/**
 * Two states with their versions; NET's lock file after 3 runs (3 versions, 3 markers, the
 * last current); APP's after 1 run and then held (1 version, 1 marker, and the current lock);
 * a key that merely contains ".tflock", with an old version.
 */
function backend(): FakeAws {
  const aws = fakeAws();
  aws.s3.put(BUCKET, NET, tfState(1, 'one'));
  aws.s3.put(BUCKET, NET, tfState(2, 'two'));
  aws.s3.put(BUCKET, APP, tfState(1, 'one'));
  lockedRuns(aws, NET, 3);
  lockedRuns(aws, APP, 1);
  aws.s3.put(BUCKET, `${APP}.tflock`, terraformLock(ID, `${BUCKET}/${APP}`));
  aws.s3.put(BUCKET, 'notes.tflock.txt', 'a');
  aws.s3.put(BUCKET, 'notes.tflock.txt', 'b');
  return aws;
}

/** Every key's versions (version IDs, `-` for a marker), to compare before and after. */
function snapshot(aws: FakeAws): Record<string, string[]> {
  return Object.fromEntries([...aws.s3.buckets.get(BUCKET)!.entries()].map(([k, vs]) => [k, vs.map((v) => `${v.versionId}${v.body ? '' : '-'}`)]));
}

describe('prune-locks', () => {
  test('a dry run by default: says what it would remove, what it looked at and kept, and deletes nothing', async () => {
    const aws = backend();
    const before = snapshot(aws);
    const r = await run(['prune-locks', ...LOCKFILE_FLAGS], aws);
    expect(r.code).toBe(ExitCode.OK);
    expect(r.err).toBe('tfstate-ops: looked at 14 object versions and delete markers under s3://state-bucket/ (the whole bucket): '
      + '2 lock files (*.tflock), 3 other keys (never touched)\n');
    expect(r.out).toBe('Would remove: 4 lock-file versions (' + 4 * terraformLock('00000000-0000-0000-0000-000000000000', `${BUCKET}/${NET}`).length
      + ' bytes) and 4 delete markers of 2 lock files in s3://state-bucket/.\n'
      + 'Nothing was deleted (dry run). To delete them: tfstate-ops prune-locks --delete --bucket state-bucket --lockfile\n'
      + 'Kept 1 current lock file (a lock held, or left behind: see `locks`): app/terraform.tfstate.tflock\n');
    expect(snapshot(aws)).toEqual(before);
    expect(aws.s3.calls('DeleteObjectsCommand')).toEqual([]);
  });

  test('--delete removes the old versions and markers of lock files only; states, other keys and the held lock stay', async () => {
    const aws = backend();
    const before = snapshot(aws);
    const r = await run(['prune-locks', '--delete', ...LOCKFILE_FLAGS], aws);
    expect(r.code).toBe(ExitCode.OK);
    expect(r.out).toMatch(/^Removed: 4 of 4 lock-file versions \(\d+ bytes\) and 4 of 4 delete markers of 2 lock files in s3:\/\/state-bucket\/\.\n/);
    const after = snapshot(aws);
    expect(after).toEqual({
      ...before,
      // All of NET's lock file is gone: its versions, then its current marker.
      [`${NET}.tflock`]: [],
      // APP's held lock: only its current version.
      [`${APP}.tflock`]: before[`${APP}.tflock`].slice(-1),
    });
    expect(aws.s3.current(BUCKET, `${APP}.tflock`)!.body!.toString()).toContain(ID);
    // Every deletion names a version of a .tflock key; the current marker goes in a request after its key's versions.
    const requests = aws.s3.calls('DeleteObjectsCommand').map((c) => c.input.Delete.Objects as Array<{ Key: string; VersionId: string }>);
    expect(requests.flat().every((o) => o.Key.endsWith('.tflock') && o.VersionId)).toBe(true);
    expect(requests.map((objects) => objects.length)).toEqual([7, 1]);
    expect(requests[1]).toEqual([{ Key: `${NET}.tflock`, VersionId: before[`${NET}.tflock`].slice(-1)[0].replace(/-$/, '') }]);
  });

  test('--json: one document with what was listed, removed and kept', async () => {
    const aws = backend();
    const r = await run(['prune-locks', '--delete', '--json', ...LOCKFILE_FLAGS], aws);
    const doc = JSON.parse(r.out);
    expect(doc).toMatchObject({
      bucket: BUCKET, prefix: '', dryRun: false, olderThanSeconds: null, listed: 14, lockFiles: 2, otherKeys: 3,
      candidates: { versions: 4, deleteMarkers: 4 },
      removed: { versions: 4, deleteMarkers: 4 },
      kept: { currentLocks: [{ key: `${APP}.tflock` }], tooRecent: 0 },
      errors: [],
    });
    expect(doc.removed.bytes).toBe(doc.candidates.bytes);
    expect(doc.removed.bytes).toBeGreaterThan(0);
  });

  test('--older-than counts from when an entry stopped being current; newer ones, and their key\'s current marker, stay', async () => {
    const aws = backend();
    const before = snapshot(aws);
    // The fake's objects were written at 09:00 on NOW's day (12:00).
    const none = await run(['prune-locks', '--delete', '--older-than', '1d', '--json', ...LOCKFILE_FLAGS], aws);
    expect(JSON.parse(none.out)).toMatchObject({ removed: { versions: 0, deleteMarkers: 0 }, kept: { tooRecent: 8 } });
    expect(snapshot(aws)).toEqual(before);
    const all = await run(['prune-locks', '--delete', '--older-than', '2h', '--json', ...LOCKFILE_FLAGS], aws);
    expect(JSON.parse(all.out)).toMatchObject({ olderThanSeconds: 7200, removed: { versions: 4, deleteMarkers: 4 } });
    expect(await run(['prune-locks', '--older-than', 'soon', ...LOCKFILE_FLAGS], aws)).toMatchObject({ code: ExitCode.USAGE, err: expect.stringContaining('--older-than must be a duration') });
  });

  test('--prefix lists only under it', async () => {
    const aws = backend();
    const r = await run(['prune-locks', '--delete', '--prefix', 'net/', '--json', ...LOCKFILE_FLAGS], aws);
    expect(JSON.parse(r.out)).toMatchObject({ prefix: 'net/', listed: 8, lockFiles: 1, otherKeys: 1, removed: { versions: 3, deleteMarkers: 3 } });
    expect(aws.s3.calls('ListObjectVersionsCommand')[0].input.Prefix).toBe('net/');
    expect(aws.s3.versionsOf(BUCKET, `${APP}.tflock`)).toHaveLength(3);
  });

  test('a backend without use_lockfile: lock files left from before are pruned the same way, and it says so', async () => {
    const aws = backend();
    const r = await run(['prune-locks', '--delete', '--bucket', BUCKET, '--table', TABLE], aws);
    expect(r.code).toBe(ExitCode.OK);
    expect(r.err).toContain('the backend does not use lock files (no use_lockfile): these are left from before, or from another configuration');
    expect(aws.s3.versionsOf(BUCKET, `${NET}.tflock`)).toEqual([]);
    expect(aws.dynamodb.sent).toEqual([]);
  });

  test('a key S3 refuses is reported with its error, exit 1, and its current marker stays (no old lock version becomes current)', async () => {
    const aws = backend();
    aws.s3.denyVersionDeletion = (key) => key === `${NET}.tflock`;
    const r = await run(['prune-locks', '--delete', ...LOCKFILE_FLAGS], aws);
    expect(r.code).toBe(ExitCode.FAILURE);
    expect(r.out).toContain(`  not removed: ${NET}.tflock version `);
    expect(r.err).toContain('5 versions and delete markers not removed (listed above; the current delete marker of a key with one of them stays). AccessDenied: the caller needs s3:DeleteObjectVersion on the lock files');
    expect(aws.s3.versionsOf(BUCKET, `${NET}.tflock`)).toHaveLength(6);
    expect(aws.s3.current(BUCKET, `${NET}.tflock`)).toBeUndefined();
    expect(aws.s3.versionsOf(BUCKET, `${APP}.tflock`)).toHaveLength(1);
  });

  test('at most 1000 versions a DeleteObjects request; a failed request stops it, says what went before, and no current marker went', async () => {
    const aws = backend();
    aws.s3.pageSize = 300;
    lockedRuns(aws, NET, 600);
    let requests = 0;
    aws.s3.before('DeleteObjectsCommand', () => {
      if (++requests === 2) throw awsFault('InternalError', 500, 'We encountered an internal error. Please try again.');
    }, { once: false });
    const failed = await run(['prune-locks', '--delete', ...LOCKFILE_FLAGS], aws);
    expect(failed.code).toBe(ExitCode.FAILURE);
    expect(failed.err).toContain('s3:DeleteObjectVersion on arn:aws:s3:::state-bucket/*.tflock failed (InternalError');
    expect(failed.err).toContain('1000 removed before it, all old lock-file versions or delete markers; no current lock file and nothing but *.tflock was touched');
    expect(aws.s3.current(BUCKET, `${NET}.tflock`)).toBeUndefined();
    expect(aws.s3.versionsOf(BUCKET, `${NET}.tflock`).slice(-1)[0].body).toBeUndefined();
    // Run again: it finishes.
    const again = await run(['prune-locks', '--delete', '--json', ...LOCKFILE_FLAGS], aws);
    expect(again.code).toBe(ExitCode.OK);
    expect(aws.s3.versionsOf(BUCKET, `${NET}.tflock`)).toEqual([]);
    // 1207 noncurrent entries (NET's 1206 but its current marker, APP's 2): 1000, then 207 that failed; again: 207, then NET's current marker.
    expect(aws.s3.calls('DeleteObjectsCommand').map((c) => c.input.Delete.Objects.length)).toEqual([1000, 207, 207, 1]);
  });
});
