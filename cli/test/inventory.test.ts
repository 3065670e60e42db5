import { createHash } from 'crypto';
import { splitStatePath } from '../src/backend';
import { ExitCode } from '../src/errors';
import { findAnomalies, InventoryState, isStateKey } from '../src/inventory';
import { FoundLock } from '../src/locks';
import { fakeAws, FakeAws } from './fake-aws';
import { BACKEND_FLAGS, BOTH_FLAGS, BUCKET, NOW, run, TABLE, terraformLock, tfState } from './helpers';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const ID = '715f2a2a-25f3-8954-68f0-52ef6df5e0ce';

/** A state with no resources, as `terraform destroy` leaves it. */
function destroyed(serial: number): string {
  return `{\n  "version": 4,\n  "terraform_version": "1.11.4",\n  "serial": ${serial},\n  "lineage": "6f1c4a52-0000-4000-8000-000000000001",\n`
    + '  "outputs": {},\n  "resources": [],\n  "check_results": null\n}\n';
}

function state(path: string, extra: Partial<InventoryState> = {}): InventoryState {
  return {
    path, workspace: 'default', key: path, serial: 1, lineage: 'l', terraformVersion: '1.11.4', resources: 1, size: 10,
    lastModified: new Date('2026-11-26T11:00:00Z'), versionId: 'v1', md5: 'x', locks: [], digest: 'match', digestValue: 'x', ...extra,
  };
}

describe('how a state is recognised and named', () => {
  test.each([
    ['net/terraform.tfstate', 'env:', undefined, true],
    ['net/terraform.tfstate.tflock', 'env:', undefined, false],
    ['net/terraform.tfstate.backup', 'env:', undefined, false],
    ['state', 'env:', 'state', true],
    ['env:/staging/state', 'env:', 'state', true],
    ['staging/state', '', 'state', true],
    ['notes.txt', 'env:', 'state', false],
  ])('%s (prefix %j, key %j): %s', (key, prefix, backendKey, expected) => {
    expect(isStateKey(key, prefix, backendKey)).toBe(expected);
  });

  test.each([
    ['env:/staging/net/terraform.tfstate', 'env:', undefined, { workspace: 'staging', key: 'net/terraform.tfstate' }],
    ['net/terraform.tfstate', 'env:', undefined, { workspace: 'default', key: 'net/terraform.tfstate' }],
    ['workspaces/prod/app.tfstate', 'workspaces', undefined, { workspace: 'prod', key: 'app.tfstate' }],
    ['staging/app.tfstate', '', 'app.tfstate', { workspace: 'staging', key: 'app.tfstate' }],
    ['team/net/app.tfstate', '', 'app.tfstate', { workspace: 'default', key: 'team/net/app.tfstate' }],
    ['staging/app.tfstate', '', undefined, { workspace: 'default', key: 'staging/app.tfstate' }],
  ])('%s with prefix %j (backend key %j) is %j', (path, prefix, backendKey, expected) => {
    expect(splitStatePath(path, prefix, backendKey)).toEqual(expected);
  });
});

describe('anomaly rules', () => {
  const lock = (statePath: string, kind: 'dynamodb' | 'lockfile'): FoundLock => ({
    kind, statePath, location: statePath, raw: '', info: { ID, Operation: 'OperationTypeApply', Info: '', Who: 'a@b', Version: '1.11.4', Created: '2026-11-26T11:59:00Z', Path: '' },
  });

  test('digests and locks with no state, states with no resources, states older than --stale-after; nothing else', () => {
    const states = [state('a.tfstate'), state('empty.tfstate', { resources: 0, serial: 7 }), state('old.tfstate', { lastModified: new Date('2026-10-01T00:00:00Z') })];
    const digests = new Map([['a.tfstate', 'x'], ['gone.tfstate', 'd41d8cd98f00b204e9800998ecf8427e']]);
    const locks = [lock('a.tfstate', 'dynamodb'), lock('gone.tfstate', 'lockfile')];
    expect(findAnomalies(states, digests, locks, NOW, 30 * 86_400_000)).toEqual([
      { kind: 'orphan-digest', path: 'gone.tfstate', detail: 'digest item "d41d8cd98f00b204e9800998ecf8427e" with no state object' },
      { kind: 'orphan-lock', path: 'gone.tfstate', detail: `lock file ID ${ID} with no state object` },
      { kind: 'no-resources', path: 'empty.tfstate', detail: 'serial 7: no resources (destroyed, or never applied)' },
      { kind: 'stale', path: 'old.tfstate', detail: 'last written 2026-10-01T00:00:00Z' },
    ]);
  });

  test('without --stale-after no state is stale; the boundary is inclusive', () => {
    const states = [state('a.tfstate', { lastModified: new Date(NOW.getTime() - 3_600_000) })];
    expect(findAnomalies(states, new Map(), [], NOW)).toEqual([]);
    expect(findAnomalies(states, new Map(), [], NOW, 3_600_000).map((a) => a.kind)).toEqual(['stale']);
    expect(findAnomalies(states, new Map(), [], NOW, 3_600_001)).toEqual([]);
  });
});

/** A backend of several configurations, workspaces, a destroyed one, a lock, a tampered digest, an orphan digest. */
function fleet(): FakeAws {
  const aws = fakeAws();
  const put = (key: string, body: string, digest: string | null = md5(body)) => {
    aws.s3.put(BUCKET, key, body);
    if (digest !== null) aws.dynamodb.putRaw(TABLE, { LockID: { S: `${BUCKET}/${key}-md5` }, Digest: { S: digest } });
  };
  put('net/terraform.tfstate', tfState(3, 'net'));
  put('env:/staging/net/terraform.tfstate', tfState(1, 'staging'));
  put('app/terraform.tfstate', tfState(5, 'app'), md5('tampered'));
  put('old/terraform.tfstate', destroyed(9));
  put('nodigest/terraform.tfstate', tfState(2, 'n'), null);
  aws.s3.put(BUCKET, 'net/terraform.tfstate.backup', 'backup');
  aws.s3.put(BUCKET, 'README.txt', 'hello');
  aws.s3.put(BUCKET, 'broken.tfstate', 'not json');
  aws.dynamodb.putRaw(TABLE, { LockID: { S: `${BUCKET}/gone/terraform.tfstate-md5` }, Digest: { S: md5('gone') } });
  aws.dynamodb.putRaw(TABLE, { LockID: { S: `${BUCKET}/app/terraform.tfstate` }, Info: { S: terraformLock(ID, `${BUCKET}/app/terraform.tfstate`) } });
  aws.s3.put(BUCKET, 'app/terraform.tfstate.tflock', terraformLock(ID, `${BUCKET}/app/terraform.tfstate`));
  return aws;
}

describe('inventory command', () => {
  test('--json: every state with its workspace, digest and lock; the anomalies; what was looked at', async () => {
    const aws = fleet();
    const r = await run(['inventory', '--json', ...BOTH_FLAGS], aws);
    expect({ code: r.code, err: r.err }).toEqual({ code: ExitCode.OK, err: '' });
    const doc = JSON.parse(r.out);
    const rows = doc.states.map((s: Record<string, unknown>) => [
      s.path, s.workspace, s.key, s.serial, s.resources, s.digest, s.lock && (s.lock as unknown[]).length,
    ]);
    expect(rows)
      .toEqual([
        ['app/terraform.tfstate', 'default', 'app/terraform.tfstate', 5, 1, 'mismatch', 2],
        ['env:/staging/net/terraform.tfstate', 'staging', 'net/terraform.tfstate', 1, 1, 'match', null],
        ['net/terraform.tfstate', 'default', 'net/terraform.tfstate', 3, 1, 'match', null],
        ['nodigest/terraform.tfstate', 'default', 'nodigest/terraform.tfstate', 2, 1, 'missing', null],
        ['old/terraform.tfstate', 'default', 'old/terraform.tfstate', 9, 0, 'match', null],
      ]);
    expect(doc.states[0].lock[0]).toMatchObject({ kind: 'dynamodb', id: ID, who: 'alice@laptop', operation: 'OperationTypeApply', ageSeconds: 7229 });
    expect(doc.states[2]).toMatchObject({ lineage: expect.any(String), terraformVersion: '1.11.4', versionId: expect.any(String), size: tfState(3, 'net').length });
    expect(doc.anomalies).toEqual([
      { kind: 'orphan-digest', path: 'gone/terraform.tfstate', detail: `digest item "${md5('gone')}" with no state object` },
      { kind: 'not-a-state', path: 'broken.tfstate', detail: expect.stringMatching(/^not JSON/) },
      { kind: 'no-resources', path: 'old/terraform.tfstate', detail: 'serial 9: no resources (destroyed, or never applied)' },
    ]);
    expect(doc.searched).toMatchObject({ objectsListed: 9, objectsRead: 6, notRead: { count: 2, examples: ['README.txt', 'net/terraform.tfstate.backup'] } });
  });

  test('each state object read once; locks and digests from one Scan and the one listing, not per state', async () => {
    const aws = fleet();
    await run(['inventory', ...BOTH_FLAGS], aws);
    const gets = aws.s3.calls('GetObjectCommand').map((c) => c.input.Key as string);
    expect(gets.filter((k) => k.endsWith('.tfstate')).sort()).toEqual([...new Set(gets.filter((k) => k.endsWith('.tfstate')))].sort());
    expect(gets.filter((k) => !k.endsWith('.tfstate'))).toEqual(['app/terraform.tfstate.tflock']);
    expect(aws.s3.calls('ListObjectsV2Command')).toHaveLength(1);
    expect(aws.dynamodb.sent.map((c) => c.name)).toEqual(['ScanCommand']);
  });

  test('filters and sorting: --locked, --mismatch, --sort serial; --stale-after', async () => {
    const aws = fleet();
    const locked = JSON.parse((await run(['inventory', '--json', '--locked', ...BOTH_FLAGS], aws)).out);
    expect(locked.states.map((s: { path: string }) => s.path)).toEqual(['app/terraform.tfstate']);
    expect(locked.notShown).toBe(4);
    const mismatch = JSON.parse((await run(['inventory', '--json', '--mismatch', ...BOTH_FLAGS], aws)).out);
    expect(mismatch.states.map((s: { path: string }) => s.path)).toEqual(['app/terraform.tfstate']);
    const bySerial = JSON.parse((await run(['inventory', '--json', '--sort', 'serial', ...BOTH_FLAGS], aws)).out);
    expect(bySerial.states.map((s: { serial: number }) => s.serial)).toEqual([9, 5, 3, 2, 1]);
    const stale = JSON.parse((await run(['inventory', '--json', '--stale-after', '1h', ...BOTH_FLAGS], aws)).out);
    expect(stale.anomalies.filter((a: { kind: string }) => a.kind === 'stale')).toHaveLength(5);
  });

  test('--prefix lists only that prefix; anomalies only under it', async () => {
    const aws = fleet();
    const doc = JSON.parse((await run(['inventory', '--json', '--prefix', 'env:/', ...BOTH_FLAGS], aws)).out);
    expect(doc.states.map((s: { path: string }) => s.path)).toEqual(['env:/staging/net/terraform.tfstate']);
    expect(doc.anomalies).toEqual([]);
    expect(aws.s3.calls('ListObjectsV2Command')[0].input.Prefix).toBe('env:/');
  });

  test('lock files in the bucket of a backend that does not use them: not read, and counted', async () => {
    const aws = fleet();
    const r = await run(['inventory', ...BACKEND_FLAGS], aws);
    expect(aws.s3.calls('GetObjectCommand').map((c) => c.input.Key)).not.toContain('app/terraform.tfstate.tflock');
    expect(r.out).toContain(' 1 .tflock object not read: the backend does not use lock files (pass --lockfile to read them).');
  });

  test('without a lock table: digest n/a, no Scan; the text says what it looked at', async () => {
    const aws = fleet();
    const r = await run(['inventory', '--bucket', BUCKET, '--lockfile'], aws);
    expect(r.code).toBe(ExitCode.OK);
    expect(aws.dynamodb.sent).toEqual([]);
    expect(r.out).toMatch(/^app\/terraform\.tfstate +default +app\/terraform\.tfstate +5 +1 +\d+ +\S+ +1\.11\.4 +n\/a +715f2a2a-25f3-8954-68f0-52ef6df5e0ce by alice@laptop \(apply, 2h00m\) \[lockfile\]/m);
    expect(r.out).toContain('5 states. Looked at: 9 objects of s3://state-bucket/ (6 read); locks: the lock files (*.tflock) of s3://state-bucket; '
      + 'not a lock table (the backend has none: no dynamodb_table); digests: none (no lock table: digest n/a).');
    expect(r.out).toMatch(/^no-resources +old\/terraform\.tfstate/m);
  });

  test('a progress line only on a terminal and only for a large backend', async () => {
    const aws = fakeAws();
    for (let i = 0; i < 501; i++) aws.s3.put(BUCKET, `s${i}.tfstate`, tfState(1, 'x'));
    const quiet = await run(['inventory', '--json', ...BACKEND_FLAGS], aws);
    expect(quiet.err).toBe('');
    let err = '';
    const { main } = await import('../src/main');
    await main(['inventory', '--json', ...BACKEND_FLAGS], {
      stdout: () => undefined, stderr: (t) => { err += t; }, env: {}, now: () => NOW, who: 'x@y', clients: aws.clients, readFile: () => '', stderrIsTTY: true,
    });
    expect(err).toContain('\rinventory: read 250 of 501 states');
    expect(err.endsWith('\rinventory: read 501 of 501 states\n')).toBe(true);
  });

  test('a wrong --sort is refused with the one meant', async () => {
    const r = await run(['inventory', '--sort', 'modifed', ...BACKEND_FLAGS]);
    expect(r.code).toBe(ExitCode.USAGE);
    expect(r.err).toBe('tfstate-ops: --sort must be one of path, modified, size, serial, got "modifed"; did you mean modified?\n');
  });
});
