import { ExitCode } from '../src/errors';
import { diffStates, renderDiff, resourceAddress } from '../src/state-diff';
import { fakeAws } from './fake-aws';
import { BACKEND_FLAGS, BUCKET, LINEAGE, run, TABLE, tfState } from './helpers';

const SECRET = 'hunter2-do-not-print';

interface Res {
  module?: string;
  mode?: 'managed' | 'data';
  type: string;
  name: string;
  each?: 'list' | 'map';
  instances: Array<{ index_key?: number | string; attributes: Record<string, unknown>; sensitive_attributes?: unknown[] }>;
}

function state(serial: number, resources: Res[], outputs: Record<string, { value: unknown; type?: unknown; sensitive?: boolean }> = {}): string {
  return JSON.stringify({
    version: 4, terraform_version: '1.11.4', serial, lineage: LINEAGE, outputs,
    resources: resources.map((r) => ({ mode: 'managed', provider: 'provider["registry.terraform.io/hashicorp/aws"]', ...r })),
    check_results: null,
  }, null, 2) + '\n';
}

const password = [{ type: 'get_attr', value: 'password' }];

const before = state(1, [
  { type: 'aws_instance', name: 'web', each: 'list', instances: [{ index_key: 0, attributes: { id: 'i-0', ami: 'ami-1' } }, { index_key: 1, attributes: { id: 'i-1', ami: 'ami-1' } }] },
  { module: 'module.net', type: 'aws_subnet', name: 'this', each: 'map', instances: [{ index_key: 'a', attributes: { id: 'subnet-a', cidr_block: '10.0.0.0/24' } }] },
  { mode: 'data', type: 'aws_caller_identity', name: 'current', instances: [{ attributes: { account_id: '111111111111' } }] },
  { type: 'aws_db_instance', name: 'db', instances: [{ attributes: { id: 'db', password: SECRET, port: 5432 }, sensitive_attributes: [password] }] },
], {
  endpoint: { value: 'db.example:5432', type: 'string' },
  db_password: { value: SECRET, type: 'string', sensitive: true },
});

const after = state(2, [
  { type: 'aws_instance', name: 'web', each: 'list', instances: [{ index_key: 0, attributes: { id: 'i-0', ami: 'ami-2' } }] },
  {
    module: 'module.net', type: 'aws_subnet', name: 'this', each: 'map',
    instances: [{ index_key: 'a', attributes: { id: 'subnet-a', cidr_block: '10.0.0.0/24' } }, { index_key: 'b', attributes: { id: 'subnet-b', cidr_block: '10.0.1.0/24' } }],
  },
  { mode: 'data', type: 'aws_caller_identity', name: 'current', instances: [{ attributes: { account_id: '222222222222' } }] },
  { type: 'aws_db_instance', name: 'db', instances: [{ attributes: { id: 'db', password: `${SECRET}-rotated`, port: 5433 }, sensitive_attributes: [password] }] },
], {
  endpoint: { value: 'db.example:5433', type: 'string' },
  db_password: { value: `${SECRET}-rotated`, type: 'string', sensitive: true },
});

describe('addresses', () => {
  test.each([
    [{ type: 'aws_instance', name: 'web' }, 0, 'aws_instance.web[0]'],
    [{ type: 'aws_subnet', name: 'this', module: 'module.net' }, 'a', 'module.net.aws_subnet.this["a"]'],
    [{ type: 'aws_subnet', name: 'this', module: 'module.env["prod"].module.net' }, 'a"b', 'module.env["prod"].module.net.aws_subnet.this["a\\"b"]'],
    [{ type: 'aws_caller_identity', name: 'current', mode: 'data' }, undefined, 'data.aws_caller_identity.current'],
  ])('%j key %j is %s', (resource, key, address) => {
    expect(resourceAddress(resource, key)).toBe(address);
  });
});

describe('diffStates', () => {
  test('count and for_each instances, modules and data sources, by address; attribute names only', () => {
    expect(diffStates(before, after)).toEqual({
      resources: [
        { address: 'aws_db_instance.db', change: 'changed', attributes: ['password', 'port'] },
        { address: 'aws_instance.web[0]', change: 'changed', attributes: ['ami'] },
        { address: 'aws_instance.web[1]', change: 'removed', attributes: ['ami', 'id'] },
        { address: 'data.aws_caller_identity.current', change: 'changed', attributes: ['account_id'] },
        { address: 'module.net.aws_subnet.this["b"]', change: 'added', attributes: ['cidr_block', 'id'] },
      ],
      outputs: [
        { name: 'db_password', change: 'changed', sensitive: true },
        { name: 'endpoint', change: 'changed', sensitive: false },
      ],
    });
  });

  test('with values: the changed values, but never a sensitive attribute or output', () => {
    const diff = diffStates(before, after, true);
    expect(diff.resources[0]).toEqual({
      address: 'aws_db_instance.db', change: 'changed', attributes: ['password', 'port'],
      values: { password: { sensitive: true }, port: { sensitive: false, from: 5432, to: 5433 } },
    });
    expect(diff.outputs).toEqual([
      { name: 'db_password', change: 'changed', sensitive: true },
      { name: 'endpoint', change: 'changed', sensitive: false, from: 'db.example:5432', to: 'db.example:5433' },
    ]);
    const text = renderDiff(diff);
    expect(text).not.toContain(SECRET);
    expect(JSON.stringify(diff)).not.toContain(SECRET);
    expect(text).toContain('    password: (sensitive)\n    port: 5432 -> 5433\n');
    expect(text).toContain('~ output.db_password (sensitive)\n');
  });

  test('an attribute marked sensitive on one side only is still never printed', () => {
    const a = state(1, [{ type: 't', name: 'n', instances: [{ attributes: { token: SECRET } }] }]);
    const b = state(2, [{ type: 't', name: 'n', instances: [{ attributes: { token: 'x' }, sensitive_attributes: [[{ type: 'get_attr', value: 'token' }]] }] }]);
    expect(diffStates(a, b, true).resources[0].values).toEqual({ token: { sensitive: true } });
  });

  test('identical states: no changes; the summary says so', () => {
    expect(renderDiff(diffStates(before, before))).toBe('\n0 added, 0 changed, 0 removed; 0 outputs changed.\n');
  });

  test('a state of format version 3 is refused with the reason', () => {
    expect(() => diffStates(JSON.stringify({ version: 3 }), after)).toThrow('state format version 3: only version 4');
  });
});

const KEY = 'app/terraform.tfstate';

function backend() {
  const aws = fakeAws();
  const v1 = aws.s3.put(BUCKET, KEY, before);
  const v2 = aws.s3.put(BUCKET, KEY, after);
  return { aws, v1, v2 };
}

describe('diff command', () => {
  test('default: the previous version against the current one', async () => {
    const { aws, v1, v2 } = backend();
    const r = await run(['diff', KEY, ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.OK);
    expect(r.out).toContain(`  from version ${v1}, serial 1`);
    expect(r.out).toContain(`  to   version ${v2} (current), serial 2`);
    expect(r.out).toContain('~ aws_db_instance.db: password, port\n');
    expect(r.out).toContain('\n- aws_instance.web[1]\n');
    expect(r.out).toContain('\n+ module.net.aws_subnet.this["b"]\n');
    expect(r.out).toContain('1 added, 3 changed, 1 removed; 2 outputs changed.');
    expect(r.out).not.toContain(SECRET);
  });

  test('--values --json: values of what is not sensitive; --from/--to pick the versions (here reversed)', async () => {
    const { aws, v1, v2 } = backend();
    const r = await run(['diff', KEY, '--from', v2, '--to', v1, '--values', '--json', ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.OK);
    expect(r.out).not.toContain(SECRET);
    const doc = JSON.parse(r.out);
    expect(doc.from).toMatchObject({ versionId: v2, serial: 2, current: null });
    expect(doc.resources.find((x: { address: string }) => x.address === 'aws_instance.web[1]').change).toBe('added');
    expect(aws.s3.calls('ListObjectVersionsCommand')).toEqual([]);
  });

  test('a state with one version: nothing to compare, said (exit 4)', async () => {
    const aws = fakeAws();
    aws.s3.put(BUCKET, KEY, tfState(1, 'one'));
    const r = await run(['diff', KEY, ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.NOT_FOUND);
    expect(r.err).toContain('is the oldest version of');
  });
});

describe('restore --dry-run', () => {
  test('prints what the restore would undo, takes no lock and writes nothing', async () => {
    const { aws, v1 } = backend();
    const r = await run(['restore', KEY, '--version-id', v1, '--dry-run', ...BACKEND_FLAGS, '--lockfile'], aws);
    expect(r.code).toBe(ExitCode.OK);
    expect(r.out).toContain('\n+ aws_instance.web[1]\n');
    expect(r.out).toContain('\n- module.net.aws_subnet.this["b"]\n');
    expect(r.out).toContain('Dry run: nothing was written and no lock was taken.');
    expect(aws.s3.calls('PutObjectCommand')).toEqual([]);
    expect(aws.s3.calls('DeleteObjectCommand')).toEqual([]);
    expect(aws.dynamodb.sent.filter((c) => c.name !== 'GetItemCommand')).toEqual([]);
    expect(aws.dynamodb.tables.get(TABLE)!.size).toBe(0);
    expect(aws.s3.versionsOf(BUCKET, KEY)).toHaveLength(2);
    expect(r.out).not.toContain(SECRET);
  });
});
