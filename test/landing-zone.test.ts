/**
 * The landing-zone entries in templates/landing-zone/ (written by `npm run
 * templates`): the CfCT manifests validated against CfCT's manifest v2 schema
 * (a copy in test/fixtures, with pykwalify's semantics), the LZA entries
 * checked field by field against the shape LZA documents, and the AWS CLI
 * scripts run against a recording `aws` (the real CLI runs them against moto
 * in test/e2e/templates.e2e.test.ts).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse } from 'yaml';
import { CATALOGUE, ROLLOUTS, templateFile } from '../scripts/templates/catalogue';
import { LANDING_ZONE_FILES, landingZoneDir, PLACEHOLDERS, rolloutEntries } from '../scripts/templates/landing-zone';
import { readYaml11, validate } from './support/pykwalify';

const TEMPLATES = path.join(__dirname, '..', 'templates');
const SCHEMA = fs.readFileSync(path.join(__dirname, 'fixtures', 'cfct-manifest-v2.schema.yaml'), 'utf8');
const read = (file: string) => fs.readFileSync(path.join(TEMPLATES, file), 'utf8');
const templateOf = (file: string) => JSON.parse(read(path.basename(file)));
const rollouts = ROLLOUTS.map((r) => [r.id, r] as const);
const hardenedRollouts = ROLLOUTS.filter((r) => r.templates.length > 1);

/** A parameter's value in an entry, in CfCT's spelling (`parameter_key`) or LZA's (`name`). */
const valueOf = (entry: { parameters: Array<Record<string, string>> }, name: string) => {
  const p = entry.parameters.find((x) => (x.parameter_key ?? x.name) === name);
  return p?.parameter_value ?? p?.value;
};

/**
 * The hardened entries pair every backend region with a replica of its own:
 * one replica entry per region of the backend's entry, in the backend's
 * ReplicaRegion, with SourceRegion that region and SourceBucketName empty (the
 * backend's BucketName is empty too: both derive the name).
 */
function expectReplicaPerBackendRegion(entries: Array<{ parameters: Array<Record<string, string>>; regions: string[] }>) {
  const backend = entries[entries.length - 1];
  const replicas = entries.slice(0, -1);
  expect(replicas.map((r) => valueOf(r, 'SourceRegion'))).toEqual(backend.regions);
  for (const r of replicas) {
    expect(r.regions).toEqual([valueOf(backend, 'ReplicaRegion')]);
    expect(valueOf(r, 'SourceBucketName')).toBe('');
  }
  expect(valueOf(backend, 'BucketName')).toBe('');
  expect(backend.regions).not.toContain(valueOf(backend, 'ReplicaRegion'));
  // Two backend regions in the example, so the pairing shows.
  expect(backend.regions).toHaveLength(2);
}

describe('CfCT manifests', () => {
  test('the validator has pykwalify\'s semantics: it faults a broken manifest', () => {
    const broken = [
      'region: eu-west-1', 'version: 2021-03-16', 'resources:', '  - name: x', '    resource_file: 7', '    deployment_targets: {}',
      '    deploy_method: stack_sets', '    regions: [eu-west-1, eu-west-1]', '    export_output: []',
    ].join('\n');
    expect(validate(SCHEMA, broken)).toEqual([
      '/version: "2021-03-16T00:00:00.000Z" is not one of ["2021-03-15T00:00:00.000Z"]',
      '/resources/0/export_output: key is not defined in the schema',
      '/resources/0/resource_file: 7 is not of type str',
      '/resources/0/deploy_method: "stack_sets" is not one of ["scp","stack_set","rcp"]',
      '/resources/0/regions/1: "eu-west-1" is not unique',
    ]);
    // A quoted version is a string, not the date the schema asks for.
    expect(validate(SCHEMA, 'region: eu-west-1\nversion: "2021-03-15"\n')).toEqual(['/version: "2021-03-15" is not of type date']);
  });

  test.each(rollouts)('%s: validates against the manifest v2 schema', (_id, rollout) => {
    expect(validate(SCHEMA, read(`${landingZoneDir(rollout)}/${LANDING_ZONE_FILES.cfct}`))).toEqual([]);
  });

  test.each(rollouts)('%s: one stack_set resource per entry, in deployment order, naming the file and every parameter', (_id, rollout) => {
    const manifest = readYaml11(read(`${landingZoneDir(rollout)}/${LANDING_ZONE_FILES.cfct}`)) as any;
    expect(manifest.resources.map((r: { resource_file: string }) => r.resource_file))
      .toEqual(rolloutEntries(rollout).map((e) => `templates/${templateFile(e.t.id)}`));
    // CfCT names each resource's StackSet after it: unique.
    expect(new Set(manifest.resources.map((r: { name: string }) => r.name)).size).toBe(manifest.resources.length);
    for (const r of manifest.resources) {
      expect(r.deploy_method).toBe('stack_set');
      // CfCT: "Valid values: a-z, A-Z, 0-9, and hyphen (-). The name must start with an alphabetic character."
      expect(r.name).toMatch(/^[A-Za-z][A-Za-z0-9-]*$/);
      const template = templateOf(r.resource_file);
      expect(r.parameters.map((p: { parameter_key: string }) => p.parameter_key)).toEqual(Object.keys(template.Parameters));
      expect(r.parameters.find((p: { parameter_key: string }) => p.parameter_key === 'BucketName')?.parameter_value ?? '').toBe('');
      expect(r.export_outputs).toBeUndefined();
    }
    if (rollout.templates.length > 1) {
      expect(manifest.resources.map((r: { name: string }) => r.name)).toEqual([
        ...PLACEHOLDERS.regions.map((region) => `terraform-state-replica-${region}`), 'terraform-state-backend',
      ]);
      expectReplicaPerBackendRegion(manifest.resources);
    } else {
      expect(manifest.resources).toHaveLength(1);
    }
  });
});

/**
 * The fields LZA documents (awslabs/landing-zone-accelerator-on-aws,
 * source/packages/@aws-accelerator/config/lib/models/customizations-config.ts,
 * `ICloudFormationStack` and `ICloudFormationStackSet`, and common `IDeploymentTargets`,
 * `ICfnParameter`, `IOperationPreferences`): `true` for required, `false` for optional.
 */
const LZA_STACK = {
  deploymentTargets: true, description: false, name: true, regions: true, runOrder: true, template: true, parameters: false,
  terminationProtection: true,
};
const LZA_STACK_SET = {
  capabilities: false, deploymentTargets: true, description: false, name: true, regions: true, template: true, parameters: false,
  operationPreferences: false, dependsOn: false, administrationRoleArn: false, executionRoleName: false,
};
const LZA_DEPLOYMENT_TARGETS = ['organizationalUnits', 'accounts', 'excludedRegions', 'excludedAccounts'];
const LZA_OPERATION_PREFERENCES = ['failureToleranceCount', 'failureTolerancePercentage', 'maxConcurrentCount', 'maxConcurrentPercentage', 'regionConcurrencyType', 'regionOrder'];
/** `type CapabilityTypeEnum = 'CAPABILITY_IAM' | 'CAPABILITY_NAMED_IAM' | 'CAPABILITY_AUTO_EXPAND'`. */
const LZA_CAPABILITIES = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'];

/** The faults of one LZA entry against its documented fields. */
function lzaFaults(entry: Record<string, unknown>, fields: Record<string, boolean>): string[] {
  const faults: string[] = [];
  for (const key of Object.keys(entry)) if (!(key in fields)) faults.push(`${key}: not a documented field`);
  for (const [key, required] of Object.entries(fields)) if (required && entry[key] === undefined) faults.push(`${key}: required`);
  // "The name should not contain any spaces as this isn't supported by the Accelerator."
  if (typeof entry.name !== 'string' || entry.name === '' || /\s/.test(entry.name)) faults.push('name: a non-empty string without spaces');
  if (typeof entry.template !== 'string' || entry.template === '') faults.push('template: a non-empty string');
  if (entry.description !== undefined && (typeof entry.description !== 'string' || entry.description === '')) faults.push('description: a non-empty string');
  if (!Array.isArray(entry.regions) || !entry.regions.every((r) => typeof r === 'string' && /^[a-z]{2}(-[a-z]+)+-\d$/.test(r))) faults.push('regions: region names');
  const targets = entry.deploymentTargets as Record<string, unknown>;
  for (const key of Object.keys(targets ?? {})) {
    if (!LZA_DEPLOYMENT_TARGETS.includes(key)) faults.push(`deploymentTargets.${key}: not a documented field`);
    if (!Array.isArray(targets[key]) || !(targets[key] as unknown[]).every((v) => typeof v === 'string')) faults.push(`deploymentTargets.${key}: a list of names`);
  }
  for (const p of (entry.parameters ?? []) as Array<Record<string, unknown>>) {
    if (Object.keys(p).sort().join() !== 'name,value' || typeof p.name !== 'string' || typeof p.value !== 'string') {
      faults.push(`parameters: {name, value} strings, got ${JSON.stringify(p)}`);
    }
  }
  if ('runOrder' in fields && !(Number.isInteger(entry.runOrder) && (entry.runOrder as number) > 0)) faults.push('runOrder: a positive integer');
  if ('terminationProtection' in fields && typeof entry.terminationProtection !== 'boolean') faults.push('terminationProtection: a boolean');
  for (const c of (entry.capabilities ?? []) as unknown[]) if (!LZA_CAPABILITIES.includes(c as string)) faults.push(`capabilities: ${String(c)}`);
  for (const key of Object.keys((entry.operationPreferences ?? {}) as object)) {
    if (!LZA_OPERATION_PREFERENCES.includes(key)) faults.push(`operationPreferences.${key}: not a documented field`);
  }
  return faults;
}

describe('LZA customizations-config.yaml entries', () => {
  test('the check can fail: an undocumented field, a missing required one, a name with a space', () => {
    expect(lzaFaults({ name: 'a b', template: 't', regions: ['eu-west-1'], deploymentTargets: { ous: ['x'] }, runOrder: 0, stackName: 'x' }, LZA_STACK)).toEqual([
      'stackName: not a documented field', 'terminationProtection: required', 'name: a non-empty string without spaces',
      'deploymentTargets.ous: not a documented field', 'runOrder: a positive integer', 'terminationProtection: a boolean',
    ]);
  });

  test.each(rollouts)('%s: cloudFormationStacks, field by field, the replicas first', (_id, rollout) => {
    const doc = parse(read(`${landingZoneDir(rollout)}/${LANDING_ZONE_FILES.lzaStacks}`));
    expect(Object.keys(doc)).toEqual(['customizations']);
    expect(Object.keys(doc.customizations)).toEqual(['cloudFormationStacks']);
    const entries = doc.customizations.cloudFormationStacks as Array<Record<string, any>>;
    expect(entries.map((e) => lzaFaults(e, LZA_STACK))).toEqual(entries.map(() => []));
    expect(entries.map((e) => e.template)).toEqual(rolloutEntries(rollout).map((e) => `cloudformation/${templateFile(e.t.id)}`));
    // The replicas side by side, then the backend.
    expect(entries.map((e) => e.runOrder)).toEqual(rolloutEntries(rollout).map((e) => (e.t.kind === 'replica' ? 1 : rollout.templates.length)));
    expect(new Set(entries.map((e) => e.name)).size).toBe(entries.length);
    for (const e of entries) {
      expect(e.terminationProtection).toBe(true);
      expect(e.parameters.map((p: { name: string }) => p.name)).toEqual(Object.keys(templateOf(e.template).Parameters));
    }
    if (rollout.templates.length > 1) expectReplicaPerBackendRegion(entries as any);
  });

  test.each(rollouts)('%s: cloudFormationStackSets, field by field, the replicas\' first (dependsOn), capabilities where IAM is made', (_id, rollout) => {
    const doc = parse(read(`${landingZoneDir(rollout)}/${LANDING_ZONE_FILES.lzaStackSets}`));
    expect(Object.keys(doc.customizations)).toEqual(['cloudFormationStackSets']);
    const entries = doc.customizations.cloudFormationStackSets as Array<Record<string, any>>;
    expect(entries.map((e) => lzaFaults(e, LZA_STACK_SET))).toEqual(entries.map(() => []));
    expect(entries.map((e) => e.template)).toEqual(rolloutEntries(rollout).map((e) => `cloudformation/${templateFile(e.t.id)}`));
    expect(new Set(entries.map((e) => e.name)).size).toBe(entries.length);
    if (rollout.templates.length > 1) expectReplicaPerBackendRegion(entries as any);
    const replicas = entries.filter((e) => e.template.endsWith('hardened-replica.template.json'));
    entries.forEach((e) => {
      // The backend depends on every replica; a replica on nothing.
      expect(e.dependsOn).toEqual(replicas.includes(e) || replicas.length === 0 ? undefined : replicas.map((d) => d.name));
      const makesIam = Object.values<any>(templateOf(e.template).Resources).some((r) => r.Type.startsWith('AWS::IAM::'));
      expect(e.capabilities).toEqual(makesIam ? ['CAPABILITY_IAM'] : undefined);
      expect(e.operationPreferences).toEqual({ failureTolerancePercentage: 0, maxConcurrentPercentage: 25, regionConcurrencyType: 'PARALLEL' });
    });
  });
});

describe('AWS CLI StackSet commands', () => {
  let bin: string;
  let log: string;
  beforeAll(() => {
    bin = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-aws-'));
    log = path.join(bin, 'calls');
    // Records its arguments; answers what the script reads (an operation ID, its status). A shell
    // script, not node: the scripts call it about 50 times, and a node start costs a tenth of a second.
    // Each argument ends with \037 (unit separator), each call with \036 (record separator).
    fs.writeFileSync(path.join(bin, 'aws'), [
      '#!/bin/sh',
      `for a in "$@"; do printf '%s\\037' "$a"; done >> '${log}'`,
      `printf '\\036' >> '${log}'`,
      'name=; prev=',
      'for a in "$@"; do if [ -z "$name" ] && [ "$prev" = --stack-set-name ]; then name=$a; fi; prev=$a; done',
      'case "$2" in',
      '  create-stack-instances) echo "op-$name" ;;',
      '  describe-stack-set-operation) echo SUCCEEDED ;;',
      '  describe-stack-set) echo "arn:aws:cloudformation:us-east-1:123456789012:stackset/$4:1" ;;',
      'esac',
    ].join('\n'), { mode: 0o755 });
  });
  afterAll(() => fs.rmSync(bin, { recursive: true, force: true }));

  function run(rollout: typeof ROLLOUTS[number], env: Record<string, string>) {
    fs.rmSync(log, { force: true });
    const script = path.join(TEMPLATES, landingZoneDir(rollout), LANDING_ZONE_FILES.awsCli);
    // From another directory: the script finds the template next to its own folder.
    const r = spawnSync('sh', [script], { cwd: os.tmpdir(), encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}`, ...env } });
    const recorded = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
    const calls = recorded === '' ? [] : recorded.slice(0, -1).split('\x1e').map((c) => c.split('\x1f').slice(0, -1));
    return { ...r, calls };
  }
  const option = (call: string[], name: string) => call[call.indexOf(name) + 1];

  test.each(rollouts)('%s: a service-managed StackSet with automatic deployment, its instances in the OUs and regions, waited for', (_id, rollout) => {
    const env = { ORGANIZATIONAL_UNIT_IDS: 'ou-ab12-cd34ef56 ou-ab12-gh78ij90', REGIONS: 'eu-west-1 us-east-1', REPLICA_REGION: 'eu-central-1', ORGANIZATION_ID: 'o-a1b2c3d4e5' };
    const regions = env.REGIONS.split(' ');
    const r = run(rollout, env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // For the hardened rollout, a replica StackSet per backend region (its ARN looked up after its instances are made), then the backend's.
    const stackSets = rollout.templates.flatMap((t): Array<{ t: typeof t; name: string; sourceRegion?: string }> => (t.kind === 'replica'
      ? regions.map((region) => ({ t, name: `terraform-state-replica-${region}`, sourceRegion: region }))
      : [{ t, name: 'terraform-state-backend' }]));
    expect(r.calls.map((c) => c.slice(0, 2).join(' '))).toEqual(stackSets.flatMap(({ t }) => [
      'cloudformation create-stack-set', 'cloudformation create-stack-instances', 'cloudformation describe-stack-set-operation',
      ...(t.kind === 'replica' ? ['cloudformation describe-stack-set'] : []),
    ]));
    const creates = r.calls.map((c, i) => [c, i] as const).filter(([c]) => c[1] === 'create-stack-set').map(([, i]) => i);
    const replicaArns = stackSets.filter((s) => s.t.kind === 'replica')
      .map((s) => `arn:aws:cloudformation:us-east-1:123456789012:stackset/${s.name}:1`);
    stackSets.forEach(({ t, name, sourceRegion }, n) => {
      const i = creates[n];
      const [create, instances, operation] = r.calls.slice(i, i + 3);
      expect(option(create, '--stack-set-name')).toBe(name);
      expect(option(create, '--permission-model')).toBe('SERVICE_MANAGED');
      // The hardened backend's automatic deployments wait for every replica's StackSet.
      expect(option(create, '--auto-deployment')).toBe(t.replicated
        ? `Enabled=true,RetainStacksOnAccountRemoval=true,DependsOn=[${replicaArns.join(',')}]`
        : 'Enabled=true,RetainStacksOnAccountRemoval=true');
      if (t.kind === 'replica') {
        expect(option(r.calls[i + 3], '--stack-set-name')).toBe(name);
        expect(option(create, '--description')).toContain(`the backend in ${sourceRegion} `);
      }
      expect(option(create, '--managed-execution')).toBe('Active=true');
      expect(option(create, '--call-as')).toBe('SELF');
      const body = option(create, '--template-body');
      expect(body).toMatch(/^file:\/\//);
      expect(fs.readFileSync(body.slice('file://'.length), 'utf8')).toBe(read(templateFile(t.id)));
      const parameters = create.slice(create.indexOf('--parameters') + 1).filter((a) => a.startsWith('ParameterKey='));
      expect(parameters).toEqual([
        ...(t.kind === 'replica' ? [`ParameterKey=SourceRegion,ParameterValue=${sourceRegion}`] : []),
        'ParameterKey=OrganizationId,ParameterValue=o-a1b2c3d4e5',
        ...(t.replicated ? ['ParameterKey=ReplicaRegion,ParameterValue=eu-central-1'] : []),
      ]);
      for (const p of parameters) expect(Object.keys(JSON.parse(read(templateFile(t.id))).Parameters)).toContain(/ParameterKey=(\w+)/.exec(p)![1]);
      expect(create.includes('--capabilities')).toBe(t.replicated);
      expect(option(instances, '--deployment-targets')).toBe('OrganizationalUnitIds=ou-ab12-cd34ef56,ou-ab12-gh78ij90');
      const instanceRegions = instances.slice(instances.indexOf('--regions') + 1, instances.indexOf('--operation-preferences'));
      expect(instanceRegions).toEqual(t.kind === 'replica' ? ['eu-central-1'] : regions);
      expect(option(instances, '--operation-preferences')).toBe('MaxConcurrentPercentage=25,FailureTolerancePercentage=0,RegionConcurrencyType=PARALLEL');
      expect(option(operation, '--operation-id')).toBe(`op-${name}`);
    });
  });

  test.each(hardenedRollouts.map((r) => [r.id, r] as const))('%s: REPLICA_REGION among REGIONS is refused before anything is made', (_id, rollout) => {
    const r = run(rollout, { ORGANIZATIONAL_UNIT_IDS: 'ou-ab12-cd34ef56', REGIONS: 'eu-west-1 eu-central-1', REPLICA_REGION: 'eu-central-1' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('REPLICA_REGION eu-central-1 is one of REGIONS (eu-west-1 eu-central-1): replication within one region');
    expect(r.calls).toEqual([]);
  });

  test('every parameter but BucketName has its variable; none is passed unless set; a missing target is named', () => {
    const rollout = ROLLOUTS.find((r) => r.id === 'backend-dynamodb-kms')!;
    const all = run(rollout, {
      ORGANIZATIONAL_UNIT_IDS: 'r-ab12', REGIONS: 'eu-west-1', LOCK_TABLE_NAME: 'acme-lock', STATE_KEY: 'core/network.tfstate',
      NONCURRENT_VERSION_EXPIRATION_DAYS: '30', NONCURRENT_VERSIONS_TO_RETAIN: '5', ORGANIZATION_ID: '', DISCOVERY_PREFIX: '/acme/',
      BUCKET_NAME: 'ignored', CALL_AS: 'DELEGATED_ADMIN',
    });
    expect(all.status).toBe(0);
    const create = all.calls[0];
    expect(create.slice(create.indexOf('--parameters') + 1, create.indexOf('--parameters') + 7)).toEqual([
      'ParameterKey=LockTableName,ParameterValue=acme-lock', 'ParameterKey=StateKey,ParameterValue=core/network.tfstate',
      'ParameterKey=NoncurrentVersionExpirationDays,ParameterValue=30', 'ParameterKey=NoncurrentVersionsToRetain,ParameterValue=5',
      'ParameterKey=OrganizationId,ParameterValue=', 'ParameterKey=DiscoveryPrefix,ParameterValue=/acme/',
    ]);
    expect(all.calls.every((c) => option(c, '--call-as') === 'DELEGATED_ADMIN')).toBe(true);
    expect(run(rollout, { ORGANIZATIONAL_UNIT_IDS: 'r-ab12', REGIONS: 'eu-west-1' }).calls[0]).not.toContain('--parameters');
    const missing = run(rollout, { REGIONS: 'eu-west-1' });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('set ORGANIZATIONAL_UNIT_IDS to the organizational unit IDs');
    expect(missing.calls).toEqual([]);
  });

  test('each rollout\'s files are in its folder, and every template is in a rollout', () => {
    for (const rollout of ROLLOUTS) {
      expect(fs.readdirSync(path.join(TEMPLATES, landingZoneDir(rollout))).sort()).toEqual(Object.values(LANDING_ZONE_FILES).sort());
    }
    expect(new Set(ROLLOUTS.flatMap((r) => r.templates.map((t) => t.id)))).toEqual(new Set(CATALOGUE.map((t) => t.id)));
    expect(hardenedRollouts.map((r) => r.id)).toEqual(CATALOGUE.filter((t) => t.replicated).map((t) => t.id));
    expect(fs.readdirSync(path.join(TEMPLATES, 'landing-zone')).sort()).toEqual(ROLLOUTS.map((r) => r.id).sort());
  });
});
