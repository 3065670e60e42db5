import { ExitCode } from '../src/errors';
import { COMMAND_NAMES } from '../src/commands';
import { COMMAND_HELP, MAIN_HELP } from '../src/help';
import { toolVersion } from '../src/main';
import { awsFault, fakeAws } from './fake-aws';
import { BACKEND_FLAGS, BUCKET, run, TABLE } from './helpers';

describe('help', () => {
  test.each([[['--help']], [['-h']], [['help']]])('%j prints the main help on stdout, exit 0', async (argv) => {
    const r = await run(argv);
    expect(r).toEqual({ code: ExitCode.OK, out: MAIN_HELP, err: '' });
  });

  test('no command prints the main help on stderr, exit 2', async () => {
    expect(await run([])).toEqual({ code: ExitCode.USAGE, out: '', err: MAIN_HELP });
  });

  test.each(COMMAND_NAMES)('%s --help and help %s print its help, exit 0, no AWS call', async (command) => {
    const aws = fakeAws();
    expect(await run([command, '--help'], aws)).toEqual({ code: ExitCode.OK, out: COMMAND_HELP[command], err: '' });
    expect(await run(['help', command], aws)).toEqual({ code: ExitCode.OK, out: COMMAND_HELP[command], err: '' });
    expect(aws.made).toEqual([]);
  });

  test('every help lists the exit codes; the main help lists every command and backend option', () => {
    for (const text of [MAIN_HELP, ...Object.values(COMMAND_HELP)]) {
      expect(text).toContain('Exit codes:\n  0  done');
      expect(text).toContain('  5  digest: the digest item and the state object disagree');
    }
    for (const word of ['locks', 'unlock', 'history', 'restore', 'digest', 'bootstrap', '--backend-config', '--discovery', '--bucket', '--table', '--lockfile',
      '--region', '--workspace-key-prefix', '--encrypt', '--kms-key-id', '--path-style', '--json', 'AWS_ENDPOINT_URL', 'AWS_PROFILE']) {
      expect(MAIN_HELP).toContain(word);
    }
  });

  test('--version prints the package version', async () => {
    expect(toolVersion()).toMatch(/^\d+\.\d+\.\d+/);
    expect(await run(['--version'])).toEqual({ code: ExitCode.OK, out: `${toolVersion()}\n`, err: '' });
  });
});

describe('usage errors: exit 2, one line naming what to do, no AWS call', () => {
  test.each([
    [['frobnicate'], 'tfstate-ops: unknown command "frobnicate". The commands are locks, inventory, unlock, history, restore, diff, digest, prune-locks, bootstrap (see tfstate-ops --help)'],
    [['lock'], 'tfstate-ops: unknown command "lock"; did you mean locks? The commands are locks, inventory, unlock, history, restore, diff, digest, prune-locks, bootstrap (see tfstate-ops --help)'],
    [['histroy', 'k'], 'tfstate-ops: unknown command "histroy"; did you mean history? The commands are locks, inventory, unlock, history, restore, diff, digest, prune-locks, bootstrap (see tfstate-ops --help)'],
    [['locks', '--nope'], 'tfstate-ops: unknown option --nope for locks; see tfstate-ops locks --help'],
    [['--nope'], 'tfstate-ops: unknown option --nope; see tfstate-ops --help'],
    [['locks', '--lock-file', '--bucket', BUCKET], 'tfstate-ops: unknown option --lock-file for locks; did you mean --lockfile? See tfstate-ops locks --help'],
    [['locks', '--dynamodb-table', 'terraform-lock', '--bucket', BUCKET], 'tfstate-ops: unknown option --dynamodb-table for locks; did you mean --table? See tfstate-ops locks --help'],
    [['history', 'k', '--workspaces', 'ws', ...BACKEND_FLAGS], 'tfstate-ops: unknown option --workspaces for history; did you mean --workspace? See tfstate-ops history --help'],
    [['restore', 'k', '--versionid', 'v', ...BACKEND_FLAGS], 'tfstate-ops: unknown option --versionid for restore; did you mean --version-id? See tfstate-ops restore --help'],
    [['locks', '--id', 'x', ...BACKEND_FLAGS], 'tfstate-ops: unknown option --id for locks (it is an option of unlock); see tfstate-ops locks --help'],
    [['locks', '--fix', ...BACKEND_FLAGS], 'tfstate-ops: unknown option --fix for locks (it is an option of digest); see tfstate-ops locks --help'],
    [['locks', 'extra', ...BACKEND_FLAGS], 'tfstate-ops: locks takes no arguments, got "extra"; see tfstate-ops locks --help'],
    [['locks', '--older-than', 'two hours', ...BACKEND_FLAGS], 'tfstate-ops: --older-than must be a duration such as 90s, 15m, 2h, 1d or 1h30m, got "two hours"'],
    [['unlock', '--id', 'x', ...BACKEND_FLAGS], 'tfstate-ops: unlock needs the state path of the lock, as `tfstate-ops locks` shows it; see tfstate-ops unlock --help'],
    [['unlock', 'terraform.tfstate', ...BACKEND_FLAGS], 'tfstate-ops: unlock needs --id with the ID of the lock to remove (`tfstate-ops locks` shows it): a lock is only removed by its ID'],
    [['unlock', 'a', 'b', '--id', 'x', ...BACKEND_FLAGS], 'tfstate-ops: unlock takes one argument, <state path>, got "a" "b"; see tfstate-ops unlock --help'],
    [['history', 'k', '--limit', 'ten', ...BACKEND_FLAGS], 'tfstate-ops: --limit must be a whole number (0 for all), got "ten"'],
    [['history', ...BACKEND_FLAGS], 'tfstate-ops: history needs the state key: pass it (tfstate-ops history <key>) or use a backend configuration with a key'],
    [['history', '/k', ...BACKEND_FLAGS], 'tfstate-ops: the state key must not be empty, start or end with "/" or contain "//", got "/k"'],
    [['restore', 'k', ...BACKEND_FLAGS], 'tfstate-ops: restore needs --version-id with the version to restore (`tfstate-ops history` lists them)'],
    [['restore', 'k', '--version-id', 'v', '--bucket', BUCKET], 'tfstate-ops: restore: the backend names no lock: neither a lock table (--table, dynamodb_table) nor lock files (--lockfile, use_lockfile = true), '
    + 'and restore takes the state\'s lock, as Terraform does. Pass --table NAME and/or --lockfile, or a backend configuration that sets dynamodb_table and/or use_lockfile'],
    [['digest', 'k', '--bucket', BUCKET, '--lockfile'], 'tfstate-ops: digest needs the lock table: Terraform keeps the state digest (<bucket>/<state path>-md5) in the DynamoDB table (dynamodb_table); pass --table or a backend configuration that names it'],
    [['locks'], 'tfstate-ops: no backend: pass --bucket (with --table and/or --lockfile), --backend-config FILE, or --discovery PREFIX'],
    [['locks', '--backend-config', 'missing.hcl'], 'tfstate-ops: cannot read the backend configuration missing.hcl: ENOENT: no such file or directory, open \'missing.hcl\''],
    [['locks', '--backend-config', 'empty.hcl'], 'tfstate-ops: the backend configuration empty.hcl is empty: it sets no `bucket` (nor anything else). '
    + 'Use the backend configuration the stack emits (its BackendConfigFile output, or the discovery parameter backend-config), or pass --bucket'],
    [['locks', '--backend-config', 'nobucket.hcl'], 'tfstate-ops: the backend configuration nobucket.hcl sets no `bucket`. '
    + 'Use the backend configuration the stack emits (its BackendConfigFile output, or the discovery parameter backend-config), or pass --bucket'],
    [['locks', '--bucket'], 'tfstate-ops: Option \'--bucket <value>\' argument missing; see tfstate-ops locks --help'],
  ])('%j', async (argv, message) => {
    const aws = fakeAws();
    const r = await run(argv, aws, { 'empty.hcl': '# nothing yet\n\n', 'nobucket.hcl': 'key = "k"\nregion = "eu-west-1"\ndynamodb_table = "t"\n' });
    expect(r).toEqual({ code: ExitCode.USAGE, out: '', err: `${message}\n` });
    expect(aws.s3.sent.length + aws.dynamodb.sent.length + aws.ssm.sent.length).toBe(0);
  });

  test('with --json, the error is also a JSON document on stdout', async () => {
    const r = await run(['unlock', 'terraform.tfstate', '--json', ...BACKEND_FLAGS]);
    expect(r.code).toBe(ExitCode.USAGE);
    expect(JSON.parse(r.out)).toEqual({ error: { message: expect.stringContaining('unlock needs --id'), exitCode: 2 } });
  });
});

describe('AWS errors name the action, the resource and what to do', () => {
  test('AccessDenied on the scan: exit 1, names dynamodb:Scan and the table', async () => {
    const aws = fakeAws();
    aws.dynamodb.before('ScanCommand', () => {
      throw awsFault('AccessDeniedException', 400, 'User: arn:aws:iam::123456789012:user/oncall is not authorized to perform: dynamodb:Scan on resource: arn:aws:dynamodb:eu-west-1:123456789012:table/terraform-lock');
    });
    const r = await run(['locks', ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.FAILURE);
    expect(r.err).toBe('tfstate-ops: dynamodb:Scan on DynamoDB table terraform-lock (eu-west-1) was refused (AccessDeniedException: User: '
      + 'arn:aws:iam::123456789012:user/oncall is not authorized to perform: dynamodb:Scan on resource: arn:aws:dynamodb:eu-west-1:123456789012:table/terraform-lock). '
      + 'Ask for dynamodb:Scan on that resource, or use credentials that have it (AWS_PROFILE).\n');
  });

  test('AccessDenied on S3: exit 1, names s3:ListBucket and the bucket ARN', async () => {
    const aws = fakeAws();
    aws.s3.before('ListObjectsV2Command', () => { throw awsFault('AccessDenied', 403, 'Access Denied'); });
    const r = await run(['locks', ...BACKEND_FLAGS, '--lockfile'], aws);
    expect(r.code).toBe(ExitCode.FAILURE);
    expect(r.err).toBe(`tfstate-ops: s3:ListBucket on arn:aws:s3:::${BUCKET} was refused (AccessDenied: Access Denied). `
      + 'Ask for s3:ListBucket on that resource, or use credentials that have it (AWS_PROFILE).\n');
  });

  test('a 403 the SDK could not read is named by its status', async () => {
    const aws = fakeAws();
    aws.dynamodb.before('ScanCommand', () => {
      throw Object.assign(new Error('Unexpected token \'<\', "<?xml vers"... is not valid JSON\n  Deserialization error: ...'), { name: 'SyntaxError', $metadata: { httpStatusCode: 403 } });
    });
    const r = await run(['locks', ...BACKEND_FLAGS], aws);
    expect(r.code).toBe(ExitCode.FAILURE);
    expect(r.err).toBe('tfstate-ops: dynamodb:Scan on DynamoDB table terraform-lock (eu-west-1) was refused (HTTP 403). '
      + 'Ask for dynamodb:Scan on that resource, or use credentials that have it (AWS_PROFILE).\n');
  });

  test('a missing bucket: exit 4', async () => {
    const r = await run(['locks', '--bucket', 'nope', '--lockfile', '--region', 'eu-west-1']);
    expect(r.code).toBe(ExitCode.NOT_FOUND);
    expect(r.err).toBe('tfstate-ops: bucket not found: arn:aws:s3:::nope (NoSuchBucket). Check --bucket and --region (or the backend configuration).\n');
  });

  test('a missing table: exit 4', async () => {
    const r = await run(['locks', '--bucket', BUCKET, '--table', 'nope', '--region', 'eu-west-1']);
    expect(r.code).toBe(ExitCode.NOT_FOUND);
    expect(r.err).toBe('tfstate-ops: DynamoDB table nope (eu-west-1) not found (ResourceNotFoundException: Requested resource not found). '
      + 'Check --table and --region (or the backend configuration).\n');
  });

  test('no credentials, no region, no endpoint: said so', async () => {
    const cases: Array<[Error, string, number]> = [
      [Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), 'no AWS credentials found', ExitCode.FAILURE],
      [new Error('Region is missing'), 'no region: pass --region', ExitCode.USAGE],
      [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'cannot reach the endpoint (ECONNREFUSED', ExitCode.FAILURE],
      [Object.assign(new Error('getaddrinfo ENOTFOUND state-bucket.127.0.0.1'), { code: 'ENOTFOUND', hostname: 'state-bucket.127.0.0.1' }), 'add --path-style', ExitCode.FAILURE],
      [awsFault('PermanentRedirect', 301, 'The bucket you are attempting to access must be addressed using the specified endpoint.'), 'the bucket is in another region', ExitCode.FAILURE],
    ];
    for (const [error, text, code] of cases) {
      const aws = fakeAws();
      aws.s3.before('ListObjectsV2Command', () => { throw error; });
      const r = await run(['locks', '--bucket', BUCKET, '--lockfile'], aws);
      expect({ code: r.code, err: r.err }).toEqual({ code, err: expect.stringContaining(text) });
    }
  });
});

describe('clients', () => {
  test('are made for the backend\'s region, with path-style when asked, and no table client without a table', async () => {
    const aws = fakeAws();
    await run(['locks', '--bucket', BUCKET, '--lockfile', '--region', 'eu-west-1', '--path-style'], aws);
    expect(aws.made).toEqual([{ service: 's3', options: { region: 'eu-west-1', forcePathStyle: true } }]);
  });

  test('the table client when the backend names a table', async () => {
    const aws = fakeAws();
    await run(['locks', '--bucket', BUCKET, '--table', TABLE, '--lockfile'], aws);
    expect(aws.made).toEqual([
      { service: 's3', options: { region: undefined, forcePathStyle: false } },
      { service: 'dynamodb', options: { region: undefined } },
    ]);
  });
});
