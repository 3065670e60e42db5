import { renderBackendBlock, renderBackendConfigFile } from '../../lib/backend-config';
import { parseBackendConfig, parseHclValue, resolveBackend, statePath } from '../src/backend';
import { ExitCode } from '../src/errors';
import { fakeAws } from './fake-aws';

const FULL = {
  bucket: 'terraform-state-123456789012-eu-west-1',
  key: 'network/terraform.tfstate',
  region: 'eu-west-1',
  dynamodbTable: 'terraform-lock',
  useLockfile: true,
  encrypt: true,
  kmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  workspaceKeyPrefix: 'workspaces',
};

const EXPECTED = {
  bucket: FULL.bucket,
  key: FULL.key,
  region: FULL.region,
  table: FULL.dynamodbTable,
  useLockfile: true,
  encrypt: true,
  kmsKeyId: FULL.kmsKeyId,
  workspaceKeyPrefix: 'workspaces',
};

describe('parseBackendConfig', () => {
  test('reads the partial configuration file the construct emits', () => {
    expect(parseBackendConfig(renderBackendConfigFile(FULL), 'backend.hcl')).toEqual({ settings: EXPECTED, ignored: [] });
  });

  test('reads the backend block the construct emits', () => {
    expect(parseBackendConfig(renderBackendBlock(FULL), 'backend.tf')).toEqual({ settings: EXPECTED, ignored: [] });
  });

  test('reads strings with HCL escapes as the construct writes them', () => {
    const key = 'a "quoted" \\ key with ${x} and %{y}';
    const parsed = parseBackendConfig(renderBackendConfigFile({ ...FULL, key }), 'backend.hcl');
    expect(parsed.settings.key).toBe(key);
  });

  test('skips comments, other attributes and nested blocks, and reports them', () => {
    const text = [
      '# emulator settings',
      'bucket = "b" // the bucket',
      'profile = "ops"',
      'use_path_style = true',
      'endpoints = {',
      '  s3 = "http://127.0.0.1:4566" # {',
      '}',
      'assume_role {',
      '  role_arn = "arn:aws:iam::123456789012:role/x"',
      '}',
      '/* inline */ encrypt = "true"',
      '',
    ].join('\n');
    expect(parseBackendConfig(text, 'f')).toEqual({
      settings: { bucket: 'b', pathStyle: true, encrypt: true },
      ignored: ['profile', 'endpoints', 'assume_role'],
    });
  });

  test('an attribute that is not the s3 backend\'s is a fault, with the attribute meant (Terraform refuses it too)', () => {
    const text = 'bucket = "b"\ndynamo_table = "t"\nuse_lock_file = true\nkms_key = "k"\nfrobnicate = "x"\nasume_role = {\n  role_arn = "r"\n}\n';
    expect(() => parseBackendConfig(text, 'backend.hcl')).toThrow(expect.objectContaining({
      exitCode: ExitCode.USAGE,
      message: 'cannot use the backend configuration backend.hcl:\n'
        + '  backend.hcl:2: `dynamo_table` is not an argument of the s3 backend; did you mean `dynamodb_table`?\n'
        + '  backend.hcl:3: `use_lock_file` is not an argument of the s3 backend; did you mean `use_lockfile`?\n'
        + '  backend.hcl:4: `kms_key` is not an argument of the s3 backend; did you mean `kms_key_id`?\n'
        + '  backend.hcl:5: `frobnicate` is not an argument of the s3 backend (Terraform\'s and OpenTofu\'s)\n'
        + '  backend.hcl:6: `asume_role` is not an argument of the s3 backend; did you mean `assume_role`?',
    }));
  });

  test('every argument of Terraform\'s and OpenTofu\'s s3 backend is read or skipped, never called a typo', () => {
    const real = ['profile = "p"', 'shared_config_files = [\n  "a",\n]', 'skip_s3_checksum = true', 'sts_region = "us-east-1"', 'use_fips_endpoint = false',
      'lock_tags = { a = "b" }', 'state_tags = { a = "b" }', 'role_arn = "arn:aws:iam::123456789012:role/x"', 'max_retries = 5', 'retry_mode = "adaptive"'];
    expect(parseBackendConfig(['bucket = "b"', ...real, ''].join('\n'), 'f')).toEqual({
      settings: { bucket: 'b' },
      ignored: ['profile', 'shared_config_files', 'skip_s3_checksum', 'sts_region', 'use_fips_endpoint', 'lock_tags', 'state_tags', 'role_arn', 'max_retries', 'retry_mode'],
    });
  });

  test('reports every fault with its line', () => {
    const text = 'bucket = b\nbucket = "x"\nencrypt = "yes"\nkey = "${var.k}"\nwhat is this\nregion = "r" extra\nkey2 = {\n';
    expect(() => parseBackendConfig(text, 'backend.hcl')).toThrow(expect.objectContaining({
      exitCode: ExitCode.USAGE,
      message: 'cannot use the backend configuration backend.hcl:\n'
        + '  backend.hcl:1: `bucket`: expected a quoted string or true/false, got `b`\n'
        + '  backend.hcl:2: `bucket` is set twice\n'
        + '  backend.hcl:3: `encrypt` must be true or false, got "yes"\n'
        + '  backend.hcl:4: `key`: templates (`${...}`, `%{...}`) are not allowed in a backend configuration\n'
        + '  backend.hcl:5: cannot read "what is this": expected `name = value`\n'
        + '  backend.hcl:6: `region`: unexpected `extra` after the string\n'
        + '  backend.hcl:7: `key2` is not an argument of the s3 backend; did you mean `key`?\n'
        + '  backend.hcl: a block is not closed (missing `}`)',
    }));
  });

  test('a repeated attribute is a fault', () => {
    expect(() => parseBackendConfig('bucket = "a"\nbucket = "b"\n', 'f')).toThrow('f:2: `bucket` is set twice');
  });
});

test('parseHclValue reads HCL string escapes', () => {
  expect(parseHclValue('"a\\tb\\n\\u00e9\\U0001F389$${x}%%{y}"')).toBe('a\tb\né🎉${x}%{y}');
  expect(parseHclValue('false')).toBe(false);
  expect(() => parseHclValue('"open')).toThrow('unterminated string');
  expect(() => parseHclValue('"\\q"')).toThrow('bad escape \\q');
});

describe('resolveBackend', () => {
  const ctx = (files: Record<string, string> = {}, env: Record<string, string> = {}) => {
    const aws = fakeAws();
    const warnings: string[] = [];
    return {
      aws,
      warnings,
      ctx: { readFile: (f: string) => { if (!(f in files)) throw new Error('ENOENT'); return files[f]; }, clients: aws.clients, env, warn: (w: string) => warnings.push(w) },
    };
  };

  test('flags alone, with Terraform\'s defaults', async () => {
    const { ctx: c } = ctx();
    await expect(resolveBackend({ flags: { bucket: 'b', table: 't' } }, c)).resolves.toEqual({
      bucket: 'b', table: 't', region: undefined, useLockfile: false, encrypt: false, kmsKeyId: undefined, workspaceKeyPrefix: 'env:', key: undefined, pathStyle: false,
    });
  });

  test('flags override the file; ignored attributes are warned about', async () => {
    const { ctx: c, warnings } = ctx({ 'backend.hcl': renderBackendConfigFile(FULL) + 'profile = "x"\n' });
    const backend = await resolveBackend({ flags: { region: 'us-east-1', table: 'other' }, backendConfigFile: 'backend.hcl' }, c);
    expect(backend).toMatchObject({ bucket: FULL.bucket, region: 'us-east-1', table: 'other', useLockfile: true, kmsKeyId: FULL.kmsKeyId, key: FULL.key });
    expect(warnings).toEqual([expect.stringMatching(/^backend.hcl: ignoring `profile`; credentials, profile and endpoints come from the AWS SDK's environment/)]);
  });

  test('an empty workspace_key_prefix is accepted, from the file the construct renders and from the flag', async () => {
    const { ctx: c } = ctx({ 'backend.hcl': renderBackendConfigFile({ ...FULL, workspaceKeyPrefix: '' }) });
    expect(renderBackendConfigFile({ ...FULL, workspaceKeyPrefix: '' })).toContain('workspace_key_prefix = ""');
    await expect(resolveBackend({ flags: {}, backendConfigFile: 'backend.hcl' }, c)).resolves.toMatchObject({ workspaceKeyPrefix: '' });
    await expect(resolveBackend({ flags: { bucket: 'b', workspaceKeyPrefix: '' } }, c)).resolves.toMatchObject({ workspaceKeyPrefix: '' });
  });

  test('AWS_S3_FORCE_PATH_STYLE turns on path-style URLs', async () => {
    const { ctx: c } = ctx({}, { AWS_S3_FORCE_PATH_STYLE: 'true' });
    await expect(resolveBackend({ flags: { bucket: 'b' } }, c)).resolves.toMatchObject({ pathStyle: true });
  });

  test('discovery reads the backend-config parameter, in the region of --region', async () => {
    const { ctx: c, aws } = ctx();
    aws.ssm.parameters.set('/terraform/backend/backend-config', renderBackendConfigFile({ bucket: 'b', key: 'terraform.tfstate', region: 'eu-west-1', dynamodbTable: 'terraform-lock', encrypt: true }));
    const backend = await resolveBackend({ flags: { region: 'eu-west-1' }, discoveryPrefix: '/terraform/backend' }, c);
    expect(backend).toMatchObject({ bucket: 'b', table: 'terraform-lock', encrypt: true, region: 'eu-west-1', key: 'terraform.tfstate' });
    expect(aws.ssm.calls('GetParametersCommand')[0].input.Names).toEqual([
      '/terraform/backend/backend-config', '/terraform/backend/bucket', '/terraform/backend/region', '/terraform/backend/lock-table', '/terraform/backend/kms-key-arn',
    ]);
    expect(aws.made).toEqual([{ service: 'ssm', options: { region: 'eu-west-1' } }]);
  });

  test('discovery falls back to the single parameters', async () => {
    const { ctx: c, aws } = ctx();
    aws.ssm.parameters.set('/tf/bucket', 'b');
    aws.ssm.parameters.set('/tf/lock-table', 't');
    aws.ssm.parameters.set('/tf/kms-key-arn', 'arn:k');
    await expect(resolveBackend({ flags: {}, discoveryPrefix: '/tf/' }, c)).resolves.toMatchObject({ bucket: 'b', table: 't', kmsKeyId: 'arn:k', encrypt: true });
  });

  test('discovery without parameters is "not found"', async () => {
    const { ctx: c } = ctx();
    await expect(resolveBackend({ flags: { region: 'eu-west-1' }, discoveryPrefix: '/nope/' }, c)).rejects.toMatchObject({
      exitCode: ExitCode.NOT_FOUND,
      message: expect.stringContaining('no discovery parameters under /nope/ in eu-west-1'),
    });
  });

  test('usage errors: no bucket, two sources, unreadable file, bad prefix', async () => {
    const { ctx: c } = ctx();
    await expect(resolveBackend({ flags: {} }, c)).rejects.toMatchObject({ exitCode: ExitCode.USAGE, message: expect.stringMatching(/^no backend: pass --bucket/) });
    await expect(resolveBackend({ flags: {}, backendConfigFile: 'a', discoveryPrefix: '/b/' }, c)).rejects.toMatchObject({ exitCode: ExitCode.USAGE });
    await expect(resolveBackend({ flags: {}, backendConfigFile: 'missing.hcl' }, c)).rejects.toMatchObject({
      exitCode: ExitCode.USAGE, message: 'cannot read the backend configuration missing.hcl: ENOENT',
    });
    await expect(resolveBackend({ flags: { bucket: 'b', workspaceKeyPrefix: 'env:/' } }, c)).rejects.toMatchObject({ exitCode: ExitCode.USAGE });
    await expect(resolveBackend({ flags: {}, discoveryPrefix: 'terraform' }, c)).rejects.toMatchObject({ exitCode: ExitCode.USAGE });
  });
});

test('statePath follows Terraform\'s layout and rules', () => {
  expect(statePath('terraform.tfstate', undefined, 'env:')).toBe('terraform.tfstate');
  expect(statePath('terraform.tfstate', 'default', 'env:')).toBe('terraform.tfstate');
  expect(statePath('net/terraform.tfstate', 'staging', 'env:')).toBe('env:/staging/net/terraform.tfstate');
  expect(statePath('k', 'ws', 'workspaces')).toBe('workspaces/ws/k');
  // An empty prefix (valid in Terraform): path.Join("", workspace, key).
  expect(statePath('net/terraform.tfstate', 'staging', '')).toBe('staging/net/terraform.tfstate');
  expect(statePath('net/terraform.tfstate', 'default', '')).toBe('net/terraform.tfstate');
  // path.Join cleans what it joins; the default workspace's key is used as it is.
  expect(statePath('a/./b.tfstate', 'ws', 'p')).toBe('p/ws/a/b.tfstate');
  expect(statePath('a/./b.tfstate', undefined, 'p')).toBe('a/./b.tfstate');
  for (const bad of ['/k', 'k/', 'a//b', '']) {
    expect(() => statePath(bad, undefined, 'env:')).toThrow(expect.objectContaining({ exitCode: ExitCode.USAGE }));
  }
  expect(() => statePath('k', 'a/b', 'env:')).toThrow('the workspace must be a name without "/"');
});
