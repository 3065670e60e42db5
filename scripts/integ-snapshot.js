#!/usr/bin/env node
// Verifies (default) or rewrites (--update) the committed snapshot of each
// integration test app `test/integ.*.ts`, without AWS: it synthesizes the app
// and compares every stack template, and the integ manifest's test cases, with
// `test/<file>.snapshot/`.
//
// Why not `integ-runner`: @aws-cdk/integ-runner 2.197.10, the newest release,
// bundles cloud-assembly schema 53 and refuses the schema 55 assemblies that
// aws-cdk-lib 2.276 writes (AssemblyVersionMismatch), both when verifying and
// when creating a snapshot, with no option to skip the check. The snapshot kept
// here has integ-runner's layout (directory name, integ.json, the context
// integ-runner synthesizes with, assets left out as integ-runner leaves them out
// for tests without the update workflow), so switching back to integ-runner
// once it reads schema 55 is a matter of changing the `integ` script.
//
// The snapshot is deterministic: synthesized without stack traces (which hold
// machine paths and line numbers) and with a fixed clock for integ-tests-alpha's
// assertion salts (scripts/integ-fixed-clock.js), so `--update` with nothing
// changed rewrites no file. The check compares what a deployment depends on:
// each stack's template (asset hashes masked: they change with every release of
// the assertion provider), the artifacts and their dependencies (the deploy
// order), and the integ test cases.
//
// Usage:
//   node scripts/integ-snapshot.js [--update] [test/integ.NAME.ts ...]
//   node scripts/integ-snapshot.js --check-outputs FILE
// The last checks the `cdk deploy --outputs-file FILE` of a real deployment:
// every `AssertionResults*` output that integ-tests-alpha wrote must be a success.
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const update = args.includes('--update');

const outputsAt = args.indexOf('--check-outputs');
if (outputsAt >= 0) {
  const outputsFile = args[outputsAt + 1];
  if (!outputsFile) {
    console.error('integ-snapshot: --check-outputs needs the outputs file of `cdk deploy --outputs-file FILE`');
    process.exit(1);
  }
  let outputs;
  try {
    outputs = JSON.parse(fs.readFileSync(outputsFile, 'utf8'));
  } catch (e) {
    console.error(`integ-snapshot: cannot read ${outputsFile}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
    process.exit(1);
  }
  const results = Object.entries(outputs)
    .flatMap(([stack, outputs]) => Object.entries(outputs)
      .filter(([key]) => key.startsWith('AssertionResults'))
      .map(([key, value]) => ({ name: `${stack}.${key}`, value })));
  const failures = results.filter(({ value }) => {
    try {
      return JSON.parse(value).status !== 'success';
    } catch {
      return true;
    }
  });
  for (const { name, value } of failures) {
    console.error(`integ-snapshot: FAILED   ${name}: ${value}`);
  }
  if (results.length === 0) {
    console.error(`integ-snapshot: ${outputsFile} has no AssertionResults outputs; did the assertion stack deploy?`);
  }
  console.log(`integ-snapshot: ${results.length - failures.length} passed, ${failures.length} failed`);
  process.exit(failures.length > 0 || results.length === 0 ? 1 : 0);
}
let files = args.filter((a) => !a.startsWith('--'));
if (files.length === 0) {
  files = fs.readdirSync(path.join(root, 'test'))
    .filter((f) => /^integ\..+\.ts$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => path.join('test', f));
}
if (files.length === 0) {
  console.error('integ-snapshot: no test/integ.*.ts found');
  process.exit(1);
}

// What integ-runner synthesizes with: no version reporting, no path or asset
// metadata, and its fixed dummy environment for tests that look things up; and,
// for a snapshot free of machine paths, no stack traces.
const context = {
  'aws:cdk:version-reporting': false,
  'aws:cdk:enable-path-metadata': false,
  'aws:cdk:enable-asset-metadata': false,
  'aws:cdk:disable-stack-trace': true,
  'aws:cdk:disable-creation-stack-traces': true,
};
const integEnv = {
  CDK_INTEG_ACCOUNT: '12345678',
  CDK_INTEG_REGION: 'test-region',
};

function synth(file, outdir) {
  const env = { ...process.env, ...integEnv, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context) };
  // Environment-agnostic, whatever the caller's AWS settings.
  delete env.CDK_DEFAULT_ACCOUNT;
  delete env.CDK_DEFAULT_REGION;
  // CDK_DEBUG would add the stack traces back.
  delete env.CDK_DEBUG;
  const tsNode = require.resolve('ts-node/dist/bin.js', { paths: [root] });
  const clock = path.join(__dirname, 'integ-fixed-clock.js');
  execFileSync(process.execPath, ['--require', clock, tsNode, '--transpile-only', '--project', 'tsconfig.dev.json', file], {
    cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/** Drops assets (integ-runner does not keep them for tests without the update workflow) and caches. */
function prune(dir) {
  for (const entry of fs.readdirSync(dir)) {
    if (entry.startsWith('asset.') || entry === '.cache') {
      fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
    }
  }
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** Asset hashes change with every release of the assertion provider; integ-runner ignores them too. */
function maskAssetHashes(value) {
  return JSON.parse(JSON.stringify(value).replace(/\b[0-9a-f]{64}\b/g, '<asset-hash>'));
}

/** The assertion resources carry a `salt` (the synth time) so that they run on every deploy. */
function maskSalts(template) {
  for (const resource of Object.values(template.Resources ?? {})) {
    if (String(resource.Type).startsWith('Custom::DeployAssert') && resource.Properties?.salt !== undefined) {
      resource.Properties.salt = '<salt>';
    }
  }
  return template;
}

/**
 * The parts of an assembly the snapshot pins: each stack's template, every
 * artifact's type and dependencies, and the integ test cases.
 */
function comparable(dir) {
  const manifest = readJson(path.join(dir, 'manifest.json'));
  const stacks = {};
  const artifacts = {};
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
    artifacts[id] = { type: artifact.type, dependencies: [...(artifact.dependencies ?? [])].sort() };
    if (artifact.type === 'aws:cloudformation:stack') {
      stacks[id] = maskSalts(maskAssetHashes(readJson(path.join(dir, artifact.properties.templateFile))));
    }
  }
  const integ = path.join(dir, 'integ.json');
  const testCases = fs.existsSync(integ) ? readJson(integ).testCases : undefined;
  return { stacks, artifacts, testCases };
}

/** Paths at which two JSON values differ, at most `limit`. */
function differences(expected, actual, where = '', out = [], limit = 20) {
  if (out.length >= limit) {
    return out;
  }
  const isObject = (v) => v !== null && typeof v === 'object';
  if (isObject(expected) && isObject(actual) && Array.isArray(expected) === Array.isArray(actual)) {
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    for (const key of keys) {
      differences(expected[key], actual[key], `${where}/${key}`, out, limit);
    }
  } else if (JSON.stringify(expected) !== JSON.stringify(actual)) {
    out.push(`  ${where || '/'}: snapshot ${JSON.stringify(expected) ?? '(absent)'}, now ${JSON.stringify(actual) ?? '(absent)'}`);
  }
  return out;
}

let failed = 0;
for (const file of files) {
  const started = Date.now();
  const snapshotDir = path.join(root, `${file}.snapshot`);
  if (update) {
    fs.rmSync(snapshotDir, { recursive: true, force: true });
    synth(file, snapshotDir);
    prune(snapshotDir);
    console.log(`integ-snapshot: UPDATED  ${file} -> ${path.relative(root, snapshotDir)} (${Date.now() - started} ms)`);
    continue;
  }
  if (!fs.existsSync(path.join(snapshotDir, 'manifest.json'))) {
    console.error(`integ-snapshot: NEW      ${file} has no snapshot; create it with \`npm run integ:update\` and commit it`);
    failed++;
    continue;
  }
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'integ-snapshot-'));
  try {
    synth(file, outdir);
    const diff = differences(comparable(snapshotDir), comparable(outdir));
    if (diff.length > 0) {
      console.error(`integ-snapshot: CHANGED  ${file} differs from its snapshot:\n${diff.join('\n')}\n`
        + 'If the change is intended, run `npm run integ:update`, deploy it for real (see README), and commit the snapshot.');
      failed++;
    } else {
      console.log(`integ-snapshot: OK       ${file} (${Date.now() - started} ms)`);
    }
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}
process.exit(failed > 0 ? 1 : 0);
