/**
 * cfn-lint (CloudFormation's own template linter, from the machine image) over every
 * template the app synthesizes: each locking mode with each encryption, the hardened
 * profile's two stacks, and mode=org's outer template and its StackSet's inner
 * TemplateBody; and every published template in templates/, as it is committed.
 * One cfn-lint process for all of them (it takes seconds to start).
 * Zero errors, zero warnings and zero informational findings; no rule is ignored.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib/core';
import { buildBootstrapApp } from '../bin/app';
import { LockingMode, StateEncryption, TerraformStateBackendStack } from '../lib';
import { CATALOGUE, templateFile } from '../scripts/templates/catalogue';
import { describeWithTools } from './support/tools';

interface Finding {
  Level: string;
  Rule: { Id: string };
  Message: string;
  Filename: string;
  Location: { Path?: Array<string | number> };
}

/** The templates of the app for this context, by stack name (and the StackSet's inner template). */
function appTemplates(context: Record<string, string>): Record<string, unknown> {
  const app = new App({ context });
  // The region the CDK CLI gives the app, which a replicated backend needs.
  buildBootstrapApp(app, { CDK_DEFAULT_REGION: 'eu-west-1' });
  const out: Record<string, unknown> = {};
  for (const stack of app.synth().stacks) {
    out[stack.stackName] = stack.template;
    for (const [id, r] of Object.entries<{ Type: string; Properties: { TemplateBody?: string } }>(stack.template.Resources)) {
      if (r.Type === 'AWS::CloudFormation::StackSet') {
        out[`${stack.stackName}.${id}.TemplateBody`] = JSON.parse(r.Properties.TemplateBody!);
      }
    }
  }
  return out;
}

/**
 * The backend stack for every locking mode with every encryption, as the app builds it
 * for `-c locking=... -c encryption=...` (the same props), in one app: synthesizing
 * nine apps with their cdk-nag packs would take several times longer, and cdk-nag does
 * not change a template.
 */
function lockingEncryptionTemplates(): Record<string, unknown> {
  const app = new App();
  const stacks = Object.values(LockingMode).flatMap((locking) => Object.values(StateEncryption).map((encryption) =>
    new TerraformStateBackendStack(app, `${locking}-${encryption}`.replace(/_/g, ''), { backend: { locking, encryption } })));
  const assembly = app.synth();
  return Object.fromEntries(stacks.map((s) => [`${s.node.id}.TerraformStateBackend`, assembly.getStackArtifact(s.artifactId).template]));
}

/** The app's other shapes: the hardened profile (two stacks) and the organization StackSet. */
const APP_CONTEXTS: Array<[string, Record<string, string>]> = [
  // With the organization boundary, whose action names cfn-lint checks (W3037).
  ['hardened', { profile: 'hardened', replicaRegion: 'eu-central-1', organizationId: 'o-a1b2c3d4e5' }],
  ['org', { mode: 'org', organizationalUnits: 'ou-ab12-cd34ef56', regions: 'eu-west-1,us-east-1' }],
];

/** A template cfn-lint must fault (E3002, an unknown property): proves the run lints what it is given. */
const BROKEN = { Resources: { Bucket: { Type: 'AWS::S3::Bucket', Properties: { NoSuchProperty: true } } } };

describeWithTools(['cfn-lint'], 'cfn-lint', () => {
  let dir: string;
  let files: string[];
  let findings: Finding[];

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfn-lint-'));
    files = [];
    const write = (name: string, template: unknown) => {
      const file = path.join(dir, `${name}.json`);
      fs.writeFileSync(file, JSON.stringify(template, undefined, 1));
      files.push(file);
    };
    for (const [name, template] of Object.entries(lockingEncryptionTemplates())) write(name, template);
    for (const [name, context] of APP_CONTEXTS) {
      for (const [stack, template] of Object.entries(appTemplates(context))) write(`${name}.${stack}`, template);
    }
    // The published files themselves, from templates/ (the bytes a landing zone deploys).
    for (const t of CATALOGUE) files.push(path.join(__dirname, '..', 'templates', templateFile(t.id)));
    fs.writeFileSync(path.join(dir, 'broken.json'), JSON.stringify(BROKEN));

    const r = spawnSync('cfn-lint', ['--format', 'json', '--', ...files, path.join(dir, 'broken.json')], { encoding: 'utf8' });
    if (r.error || !r.stdout.trim().startsWith('[')) {
      throw new Error(`cfn-lint did not run: ${r.error?.message ?? ''}\n${r.stdout}\n${r.stderr}`);
    }
    findings = JSON.parse(r.stdout) as Finding[];
  }, 120_000);

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('lints every template: 9 locking x encryption, hardened (2 stacks), org (outer and the StackSet\'s TemplateBody), the published ones', () => {
    expect(files.map((f) => path.basename(f).replace(/\.json$/, ''))).toEqual([
      ...Object.values(LockingMode).flatMap((l) => Object.values(StateEncryption).map((e) => `${l}-${e}`.replace(/_/g, '') + '.TerraformStateBackend')),
      'hardened.TerraformStateBackendReplica-eu-west-1',
      'hardened.TerraformStateBackend',
      'org.TerraformStateBackendStackSet',
      expect.stringMatching(/^org\.TerraformStateBackendStackSet\.StackSet[0-9A-F]{8}\.TemplateBody$/),
      ...CATALOGUE.map((t) => templateFile(t.id).replace(/\.json$/, '')),
    ]);
    // The control template is faulted: cfn-lint really read the files.
    expect(findings.filter((f) => f.Filename.endsWith('broken.json')).map((f) => f.Rule.Id)).toContain('E3002');
  });

  test('finds nothing in them: no error, no warning, no informational finding', () => {
    const found = findings
      .filter((f) => !f.Filename.endsWith('broken.json'))
      .map((f) => `${path.basename(f.Filename)}: ${f.Level} ${f.Rule.Id} at ${(f.Location.Path ?? []).join('/')}: ${f.Message}`);
    expect(found).toEqual([]);
  });
});
